//! The server's settings: everything its configuration file (`natter-server --config natter.toml`)
//! and its flags hold, with the built-in defaults, and the checks that refuse a bad value at start (or
//! at a reload) naming the key, the value and what is allowed.
//!
//! One model for both: the file is read into [`Settings`] (TOML, with serde; a key it does not know is
//! refused), the flags given on the command line are laid over it (a flag always wins), and the result
//! is checked ([`Settings::check`]) before anything starts. A reload reads the file again and lays the
//! same flags over it, so a flag keeps winning.
//!
//! The shipped example, `docs/natter.example.toml`, states every default; a test holds it to
//! [`Settings::default`], so the two cannot drift apart.

mod check;
mod credentials;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

pub use self::check::SettingsError;
pub use self::credentials::{AccountChanges, diff_accounts};
use natter_core::irc::IrcSettings;
use natter_core::server::{AddressLimits, Config, LoginLimits};

/// Everything the server can be told, as the configuration file's sections hold it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: Server,
    pub login: Login,
    pub sessions: Sessions,
    pub limits: Limits,
    pub flood: Flood,
    pub log: Log,
    pub metrics: Metrics,
    pub admin: Admin,
    pub cluster: Cluster,
}

/// Where and how the server listens, and its files.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Addresses to listen on (each with `port`). Loopback by default, so that a first start with the
    /// shipped demo accounts serves nobody else.
    pub bind: Vec<IpAddr>,
    /// TCP port (0 picks a free one and prints it).
    pub port: u16,
    /// The credentials file: `username password` per line.
    pub credentials: PathBuf,
    /// Where the durable state is kept (default: `natter-data` beside the credentials file).
    pub data_dir: Option<PathBuf>,
    /// Let an unknown username create an account.
    pub register: bool,
    /// Speak plain text instead of TLS.
    pub plaintext: bool,
    /// Also speak IRC on this TCP port (on each `bind` address; 0 picks a free one), in plain text
    /// or TLS as the main port does. Absent: no IRC listener.
    pub irc_port: Option<u16>,
    /// Also speak IRC over WebSocket (IRCv3's websocket transport, for web clients) on this TCP
    /// port, on each `bind` address; ws or wss as the main port is plain text or TLS. Absent: none.
    pub irc_ws_port: Option<u16>,
    /// Admit guests: a client that gives no password logs in under any free nick that is no
    /// account's, with no account (as IRC networks do; irctest needs it). Off by default.
    pub irc_guests: bool,
    /// The server's name on IRC (the source of its lines, `004`, `PONG`, `WHOIS`'s server): one
    /// word, a host name usually.
    pub irc_server_name: String,
    /// A file whose text is the message of the day IRC clients are shown at login and on `MOTD`
    /// (read at start; absent: none, `422`).
    pub irc_motd: Option<PathBuf>,
    /// The server's operators, each `name hash`: a name for `oper <name>` (IRC's `OPER`) and its
    /// password's argon2id hash (`natter-server hash-password NAME` prints such a line). A password
    /// in the clear is refused: this list reaches a cluster's shared log.
    pub operators: Vec<String>,
    /// The TLS certificate (PEM) and its key; without them the server makes its own.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// TCP keepalive: seconds of silence before a connection is probed (0: off).
    pub keepalive: u64,
    /// Leave Nagle's algorithm on for clients: a small write to a client that has not yet
    /// acknowledged the last one waits for that acknowledgement and leaves with the next, as the IRC
    /// servers send. Off by default (`TCP_NODELAY`): the server already writes each connection's
    /// lines of a turn at once, and measured at both ends (the server's CPU and its clients')
    /// the algorithm saves a few per cent at steady rates, costs more under saturation, and delays
    /// a line to a client that listens without answering by up to one delayed acknowledgement.
    pub nagle: bool,
    /// Bytes that may queue for a client that is not reading before it is disconnected.
    pub max_outbound: u64,
    /// Password checks and hashes that may wait at once.
    pub max_password_jobs: u64,
    /// Threads that check and hash passwords (default: one per core but one).
    pub password_threads: Option<u64>,
}

/// The login's rules and limits.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Login {
    pub block_duration: u64,
    pub login_timeout: u64,
    pub min_password_length: u64,
    pub logins_per_account: u32,
    pub account_login_refill: u64,
    pub logins_per_address: u32,
    pub address_login_refill: u64,
    pub max_logins_per_address: u32,
    pub failed_logins_per_address: u32,
    pub failed_login_refill: u64,
    pub new_connections_per_address: u32,
    pub new_connection_rate: u32,
    pub registrations_per_address: u32,
    pub registration_refill: u64,
}

/// A session's timeouts and presence.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sessions {
    pub timeout: u64,
    pub idle_warning: u64,
    pub private_timeout: u64,
    pub presence_interval: u64,
}

/// Sizes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_line: u64,
    pub mailbox_limit: u64,
    pub mailbox_share: u32,
    pub group_max_members: u64,
}

/// Flood control.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Flood {
    pub flood_rate: u32,
    pub flood_burst: u32,
    pub flood_per_address: u32,
    pub bookkeeping_rate: u32,
    pub bookkeeping_burst: u32,
    pub flood_cooldown: u64,
}

/// The operator's log.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// `error`, `warn`, `info`, `debug`, `trace`, or a filter (`info,natter=debug`). `RUST_LOG`, when
    /// set, wins.
    pub level: String,
    /// `human` (one line per event) or `json` (one JSON object per line).
    pub format: LogFormat,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// The metrics and health listener (HTTP: `/metrics`, `/health`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metrics {
    pub enabled: bool,
    pub listen: SocketAddr,
}

/// The local control socket.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Admin {
    /// The Unix socket `natter-server admin` talks to (default: `admin.sock` in the data directory).
    pub socket: Option<PathBuf>,
}

/// Cluster mode.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cluster {
    /// The Redis of the cluster (`redis://...` or `rediss://...`); absent: a server alone.
    pub url: Option<String>,
    pub ca: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub node: Option<String>,
    pub snapshot_every: u64,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            bind: vec![IpAddr::from([127, 0, 0, 1])],
            port: natter_core::protocol::DEFAULT_PORT,
            credentials: PathBuf::from("credentials.txt"),
            data_dir: None,
            register: false,
            plaintext: false,
            irc_port: None,
            irc_ws_port: None,
            irc_guests: false,
            irc_server_name: natter_core::irc::SERVER_NAME.to_owned(),
            irc_motd: None,
            operators: Vec::new(),
            tls_cert: None,
            tls_key: None,
            keepalive: 60,
            nagle: false,
            max_outbound: 256 * 1024,
            max_password_jobs: 64,
            password_threads: None,
        }
    }
}

impl Default for Login {
    fn default() -> Self {
        let c = Config::default();
        let (l, a) = (&c.login_limits, &c.address_limits);
        Login {
            block_duration: c.block_duration_secs,
            login_timeout: c.login_timeout_secs,
            min_password_length: c.min_password_length as u64,
            logins_per_account: l.account_burst,
            account_login_refill: l.account_refill_secs,
            logins_per_address: l.address_burst,
            address_login_refill: l.address_refill_secs,
            max_logins_per_address: a.max_pending,
            failed_logins_per_address: a.failure_burst,
            failed_login_refill: a.failure_refill_secs,
            new_connections_per_address: a.connect_burst,
            new_connection_rate: a.connect_per_sec,
            registrations_per_address: a.register_burst,
            registration_refill: a.register_refill_secs,
        }
    }
}

impl Default for Sessions {
    fn default() -> Self {
        let c = Config::default();
        Sessions {
            timeout: c.timeout_secs,
            idle_warning: c.idle_warning_secs,
            private_timeout: c.private_answer_secs,
            presence_interval: c.presence_interval_secs,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        let c = Config::default();
        Limits {
            max_line: c.max_line as u64,
            mailbox_limit: c.mailbox_limit as u64,
            mailbox_share: c.mailbox_share_percent,
            group_max_members: c.group_max_members as u64,
        }
    }
}

impl Default for Flood {
    fn default() -> Self {
        let c = Config::default();
        Flood {
            flood_rate: c.flood_rate,
            flood_burst: c.flood_burst,
            flood_per_address: c.address_flood_accounts,
            bookkeeping_rate: c.bookkeeping_rate,
            bookkeeping_burst: c.bookkeeping_burst,
            flood_cooldown: c.flood_cooldown_secs,
        }
    }
}

impl Default for Log {
    fn default() -> Self {
        Log {
            level: "info".into(),
            format: LogFormat::Human,
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            url: None,
            ca: None,
            key_file: None,
            node: None,
            snapshot_every: 100_000,
        }
    }
}

impl Settings {
    /// Reads a configuration file. Relative paths in it are taken from the file's directory (so the
    /// file means the same wherever the server is started from).
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|e| SettingsError::Read {
            path: path.to_owned(),
            error: e.to_string(),
        })?;
        let mut settings = Settings::parse(&text).map_err(|error| SettingsError::Parse {
            path: path.to_owned(),
            error,
        })?;
        settings.rebase(path.parent().unwrap_or(Path::new("")));
        Ok(settings)
    }

    /// Reads a configuration file's text (relative paths left as they are).
    pub fn parse(text: &str) -> Result<Settings, String> {
        toml::from_str(text).map_err(|e| {
            // One line, for the log: where, then what.
            let at = e.span().map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let start = before.rfind('\n').map_or(0, |i| i + 1);
                let column = before.len() - start + 1;
                let text = text[start..].lines().next().unwrap_or("").trim();
                format!("line {line}, column {column} ({text}): ")
            });
            format!("{}{}", at.unwrap_or_default(), e.message().trim())
        })
    }

    /// Takes relative paths from `dir`.
    fn rebase(&mut self, dir: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        join(&mut self.server.credentials);
        for p in [
            &mut self.server.data_dir,
            &mut self.server.tls_cert,
            &mut self.server.tls_key,
            &mut self.server.irc_motd,
            &mut self.admin.socket,
            &mut self.cluster.ca,
            &mut self.cluster.key_file,
        ]
        .into_iter()
        .flatten()
        {
            join(p);
        }
    }

    /// The data directory: as set, or `natter-data` beside the credentials file.
    pub fn data_dir(&self) -> PathBuf {
        self.server.data_dir.clone().unwrap_or_else(|| {
            self.server
                .credentials
                .parent()
                .unwrap_or(Path::new(""))
                .join("natter-data")
        })
    }

    /// The control socket: as set, or `admin.sock` in the data directory.
    pub fn admin_socket(&self) -> PathBuf {
        self.admin
            .socket
            .clone()
            .unwrap_or_else(|| self.data_dir().join("admin.sock"))
    }

    /// Where to listen for IRC: each bind address with the IRC port (none without one).
    pub fn irc_listen_addrs(&self) -> Vec<SocketAddr> {
        self.addrs_of(self.server.irc_port)
    }

    /// Where to speak IRC over WebSocket: the IRC WebSocket port on every bind address (none when
    /// it is off).
    pub fn irc_ws_listen_addrs(&self) -> Vec<SocketAddr> {
        self.addrs_of(self.server.irc_ws_port)
    }

    fn addrs_of(&self, port: Option<u16>) -> Vec<SocketAddr> {
        port.map(|port| {
            self.server
                .bind
                .iter()
                .map(|ip| SocketAddr::new(*ip, port))
                .collect()
        })
        .unwrap_or_default()
    }

    /// What the IRC fronts say of the server: its name, and the message of the day read from
    /// `irc_motd` (an error names the file and why it could not be read).
    pub fn irc_settings(&self) -> Result<IrcSettings, SettingsError> {
        let settings = IrcSettings {
            server_name: self.server.irc_server_name.clone(),
            motd: None,
        };
        match &self.server.irc_motd {
            None => Ok(settings),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| SettingsError::Read {
                    path: path.clone(),
                    error: e.to_string(),
                })?;
                Ok(settings.with_motd_text(&text))
            }
        }
    }

    /// Where the server listens for natter's own protocol: each bind address with the port.
    pub fn listen_addrs(&self) -> Vec<SocketAddr> {
        self.server
            .bind
            .iter()
            .map(|ip| SocketAddr::new(*ip, self.server.port))
            .collect()
    }

    /// The rules' numbers, for the core. Call after [`Self::check`], which vouches for every value.
    pub fn core_config(&self) -> Config {
        let (l, s, m, f) = (&self.login, &self.sessions, &self.limits, &self.flood);
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Config {
            block_duration_secs: l.block_duration,
            timeout_secs: s.timeout,
            login_timeout_secs: l.login_timeout,
            private_answer_secs: s.private_timeout,
            max_line: size(m.max_line),
            mailbox_limit: size(m.mailbox_limit),
            register: self.server.register,
            guests: self.server.irc_guests,
            operators: self
                .server
                .operators
                .iter()
                .filter_map(|line| line.split_once(' '))
                .map(|(name, hash)| natter_core::server::Account {
                    username: name.to_owned(),
                    password: hash.trim().to_owned(),
                })
                .collect(),
            group_max_members: size(m.group_max_members),
            idle_warning_secs: s.idle_warning,
            mailbox_share_percent: m.mailbox_share,
            flood_rate: f.flood_rate,
            flood_burst: f.flood_burst,
            address_flood_accounts: f.flood_per_address,
            bookkeeping_rate: f.bookkeeping_rate,
            bookkeeping_burst: f.bookkeeping_burst,
            flood_cooldown_secs: f.flood_cooldown,
            login_limits: LoginLimits {
                account_burst: l.logins_per_account,
                account_refill_secs: l.account_login_refill,
                address_burst: l.logins_per_address,
                address_refill_secs: l.address_login_refill,
            },
            presence_interval_secs: s.presence_interval,
            address_limits: AddressLimits {
                max_pending: l.max_logins_per_address,
                failure_burst: l.failed_logins_per_address,
                failure_refill_secs: l.failed_login_refill,
                register_burst: l.registrations_per_address,
                register_refill_secs: l.registration_refill,
                connect_burst: l.new_connections_per_address,
                connect_per_sec: l.new_connection_rate,
            },
            max_password_jobs: size(self.server.max_password_jobs),
            // Mail is written a window at a time, well under what a reader may have waiting before
            // it is dropped as a slow one, whatever that bound is.
            mail_window: natter_core::server::MAIL_WINDOW
                .min(size(self.server.max_outbound / 4))
                .max(1),
            min_password_length: size(l.min_password_length),
        }
    }

    /// The settings that only a restart changes, as `(key, old, new)` for each that differs from
    /// `running`: a reload says so rather than pretend.
    pub fn needs_restart(&self, running: &Settings) -> Vec<(&'static str, String, String)> {
        let mut out = Vec::new();
        let mut cmp = |key: &'static str, a: String, b: String| {
            if a != b {
                out.push((key, b, a));
            }
        };
        let s = &self.server;
        let r = &running.server;
        cmp(
            "server.bind",
            format!("{:?}", s.bind),
            format!("{:?}", r.bind),
        );
        cmp("server.port", s.port.to_string(), r.port.to_string());
        cmp(
            "server.irc_port",
            format!("{:?}", s.irc_port),
            format!("{:?}", r.irc_port),
        );
        cmp(
            "server.irc_ws_port",
            format!("{:?}", s.irc_ws_port),
            format!("{:?}", r.irc_ws_port),
        );
        cmp(
            "server.irc_server_name",
            s.irc_server_name.clone(),
            r.irc_server_name.clone(),
        );
        cmp(
            "server.irc_motd",
            format!("{:?}", s.irc_motd),
            format!("{:?}", r.irc_motd),
        );
        cmp(
            "server.credentials",
            s.credentials.display().to_string(),
            r.credentials.display().to_string(),
        );
        cmp(
            "server.data_dir",
            format!("{:?}", s.data_dir),
            format!("{:?}", r.data_dir),
        );
        cmp(
            "server.plaintext",
            s.plaintext.to_string(),
            r.plaintext.to_string(),
        );
        cmp(
            "server.keepalive",
            s.keepalive.to_string(),
            r.keepalive.to_string(),
        );
        cmp("server.nagle", s.nagle.to_string(), r.nagle.to_string());
        cmp(
            "server.max_outbound",
            s.max_outbound.to_string(),
            r.max_outbound.to_string(),
        );
        cmp(
            "server.password_threads",
            format!("{:?}", s.password_threads),
            format!("{:?}", r.password_threads),
        );
        cmp(
            "limits.max_line",
            self.limits.max_line.to_string(),
            running.limits.max_line.to_string(),
        );
        cmp(
            "log.format",
            format!("{:?}", self.log.format),
            format!("{:?}", running.log.format),
        );
        cmp(
            "metrics",
            format!("{:?}", self.metrics),
            format!("{:?}", running.metrics),
        );
        cmp(
            "admin.socket",
            format!("{:?}", self.admin),
            format!("{:?}", running.admin),
        );
        cmp(
            "cluster",
            format!("{:?}", self.cluster),
            format!("{:?}", running.cluster),
        );
        out
    }
}

#[cfg(test)]
mod tests;
