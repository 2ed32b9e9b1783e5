//! `natter [HOST] [PORT]` or `natter --server HOST:PORT ...`: the natter terminal client.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Parser;

use natter::shell::client::Security;
use natter::shell::client::{ClientOptions, ServerAddr, StartError, run, settings};
use natter::shell::state_file;
use natter::shell::ui::UiOptions;
use natter_core::protocol::DEFAULT_PORT;

/// The natter chat client.
///
/// Connects to a natter server, logs in, and lets you chat: messages, groups, broadcasts, presence,
/// blocking, and private chats that go straight to the other user's client, never through the server.
/// Type 'help' once logged in for the commands (a leading '/' and irssi's /msg, /quit and /who work
/// too). With stdin not a terminal, commands are read line by line from stdin and everything is
/// printed as plain lines, so the client can be scripted.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    long_about,
    override_usage = "natter [OPTIONS] [HOST] [PORT]\n       natter [OPTIONS] --server HOST:PORT [--server HOST:PORT ...]",
    after_help = "With no HOST and PORT, connects to 127.0.0.1 on the server's default port (4000); \
with one argument, a number is the port and anything else the host.\n\
With several --server (the nodes of one cluster), natter starts with the first that answers, and when \
it loses that one it connects to the next and logs in again by itself; at a terminal it also reconnects \
to a lone server (keeping every window). The password is kept in memory for that, never on disk, and \
sent by itself only to a server whose certificate is pinned (or vouched for by --ca): otherwise you are \
asked. At a terminal it never gives up (the waits grow to about a minute; 'reconnect' tries now, \
'disconnect' stops until 'reconnect'), and a logout for being idle keeps it open: type anything to log \
in again. A script (stdin not a terminal) gives up after 2 minutes without a server, and ends at an \
idle logout with status 4.\n\
Exit status: 0 logged out (or quit while logged out); 1 cannot reach or lost the server (a script, or \
--give-up-after), or it never confirmed the logout; 2 bad command line; 3 login refused (account locked, \
the server is full, or, for a script, the user already online elsewhere); 4 logged out by the server (a \
script's idle timeout, shutdown, kicked); 5 input ended or interrupted before login.\n\
Colour is used when output is a terminal and NO_COLOR is not set."
)]
struct Args {
    /// `[HOST] [PORT]`: the server (default 127.0.0.1 and port 4000).
    #[arg(value_name = "HOST_PORT", num_args = 0..=2, hide = true)]
    target: Vec<String>,

    /// A server, as HOST:PORT (or HOST for port 4000; [ADDR]:PORT for IPv6). Repeat it for the nodes
    /// of one cluster: natter moves to the next when the one in use is lost.
    #[arg(long = "server", value_name = "HOST:PORT", conflicts_with = "target")]
    servers: Vec<String>,

    /// TCP port for private chats (0 lets the system choose a free one).
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    p2p_port: u16,

    /// Where to remember which offline messages were already shown, the input history, the
    /// conversation logs and the full-screen windows (default: $XDG_STATE_HOME/natter or
    /// ~/.local/state/natter).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,

    /// The settings file (TOML: logs, bell, timestamps, hilights); a flag wins over it. Default:
    /// $XDG_CONFIG_HOME/natter/natter.toml or ~/.config/natter/natter.toml, if it exists.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// No HH:MM before live messages.
    #[arg(long)]
    no_timestamps: bool,

    /// Do not log conversations to disk (by default each is logged, as plain text, one file per
    /// conversation and day, under the state directory's logs/); the full-screen windows are then
    /// kept across restarts without their lines.
    #[arg(long)]
    no_logs: bool,

    /// No terminal bell when a message to you alone (or a line naming you) arrives.
    #[arg(long)]
    no_bell: bool,

    /// Highlight lines in groups and broadcasts with WORD too, as lines naming you are (their window
    /// is marked *, the bell rings, /hilights lists them). Repeat it for more words.
    #[arg(long = "hilight", value_name = "WORD")]
    hilights: Vec<String>,

    /// Talk to the server in plain text, for a server started with --plaintext. Your password and
    /// messages then cross the network unencrypted.
    #[arg(long, conflicts_with_all = ["ca", "accept_new_cert"])]
    plaintext: bool,

    /// Check the server's certificate against the CA certificate(s) in FILE (PEM) and the host name,
    /// instead of trusting it on first use.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,

    /// Accept the server's certificate with this fingerprint (SHA256:...) in place of the one
    /// remembered, after checking it with the server's operator.
    #[arg(long, value_name = "FINGERPRINT")]
    accept_new_cert: Option<String>,

    /// Stop trying to reach a lost server after SECS and exit with status 1 (default: never at a
    /// terminal, 120 for a script).
    #[arg(long, value_name = "SECS")]
    give_up_after: Option<u64>,

    /// The longest wait between two attempts to reach a lost server (default: 60).
    #[arg(long, value_name = "SECS", default_value_t = natter_core::client::DEFAULT_MAX_WAIT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    reconnect_max_wait: u64,

    /// The full-screen interface: a window per conversation, a status bar and an input line
    /// (Alt-1..9 or Ctrl-N/Ctrl-P to switch windows, /win N, /query USER, /close).
    #[arg(long)]
    tui: bool,
}

fn parse_target(target: &[String]) -> Result<(String, u16), String> {
    let port_of = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("'{p}' is not a port number (1-65535)"))
    };
    let (host, port) = match target {
        [] => ("127.0.0.1", DEFAULT_PORT),
        [one] if one.bytes().all(|b| b.is_ascii_digit()) => ("127.0.0.1", port_of(one)?),
        [host] => (host.as_str(), DEFAULT_PORT),
        [host, port] => (host.as_str(), port_of(port)?),
        _ => return Err("give the server as [HOST] [PORT]".into()),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_owned(), port))
}

/// One `--server` value: `HOST:PORT`, `[V6ADDR]:PORT`, or `HOST` (the default port).
fn parse_server(s: &str) -> Result<ServerAddr, String> {
    let bad = || format!("'{s}' is not a server: give HOST:PORT, [IPV6]:PORT or HOST");
    let port_of = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("'{p}' in '{s}' is not a port number (1-65535)"))
    };
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (host, DEFAULT_PORT),
            _ => (host, port_of(after.strip_prefix(':').ok_or_else(bad)?)?),
        }
    } else {
        match s.split_once(':') {
            None => (s, DEFAULT_PORT),
            Some((host, port)) if !port.contains(':') => (host, port_of(port)?),
            // A bare IPv6 address: no port can be told apart from it.
            Some(_) => return Err(bad()),
        }
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    Ok(ServerAddr {
        host: host.to_owned(),
        port,
    })
}

fn main() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let args = Args::parse();
    let servers: Result<Vec<ServerAddr>, String> = if args.servers.is_empty() {
        parse_target(&args.target).map(|(host, port)| vec![ServerAddr { host, port }])
    } else {
        args.servers.iter().map(|s| parse_server(s)).collect()
    };
    let servers = match servers {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "natter: error: {e}. Usage: natter [HOST] [PORT], or natter --server HOST:PORT ... (see --help)"
            );
            std::process::exit(2);
        }
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if args.tui && !interactive {
        eprintln!(
            "natter: error: --tui needs a terminal on stdin and stdout; without it, natter reads commands line by line"
        );
        std::process::exit(2);
    }
    let settings_path = args.config.clone().or_else(settings::default_path);
    let settings = match &settings_path {
        Some(path) => match settings::load(path, args.config.is_some()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("natter: error: {e}");
                std::process::exit(2);
            }
        },
        None => settings::ClientSettings::default(),
    };
    let state_dir = args.state_dir.or_else(state_file::default_dir);
    let security = if args.plaintext {
        Security::Plain
    } else {
        Security::Tls {
            ca: args.ca,
            accept_new: args.accept_new_cert,
        }
    };
    let opts = ClientOptions {
        security,
        servers,
        p2p_port: args.p2p_port,
        ui: UiOptions {
            interactive,
            color: std::io::stdout().is_terminal() && !no_color,
            timestamps: !args.no_timestamps && settings.timestamps.unwrap_or(true),
            // A bell is for a person at a terminal, not a script reading the output.
            bell: !args.no_bell && settings.bell.unwrap_or(true) && std::io::stdout().is_terminal(),
            history: state_dir.as_ref().map(|d| d.join("history")),
            full_screen: args.tui,
        },
        state_dir,
        hilights: settings.hilights.into_iter().chain(args.hilights).collect(),
        reconnect: natter_core::client::ReconnectPolicy {
            give_up_secs: args.give_up_after,
            max_wait_secs: args.reconnect_max_wait,
        },
        logs: !args.no_logs && settings.logs.unwrap_or(true),
    };
    let code = match run(opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("natter: error: {e}");
            // As when a plain-text server says it is full after the connection: refused, not lost.
            if matches!(e, StartError::ServerFull { .. }) {
                3
            } else {
                1
            }
        }
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_default_and_one_argument_is_read_sensibly() {
        let t = |v: &[&str]| parse_target(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(t(&[]), Ok(("127.0.0.1".into(), 4000)));
        assert_eq!(t(&["4100"]), Ok(("127.0.0.1".into(), 4100)));
        assert_eq!(t(&["chat.example"]), Ok(("chat.example".into(), 4000)));
        assert_eq!(t(&["[::1]", "4001"]), Ok(("::1".into(), 4001)));
        assert!(t(&["h", "0"]).is_err());
        assert!(t(&["h", "x"]).is_err());
    }

    #[test]
    fn a_server_is_host_port_bracketed_v6_or_host_alone() {
        let s = |h: &str, port| {
            Ok(ServerAddr {
                host: h.into(),
                port,
            })
        };
        assert_eq!(parse_server("a.example:4100"), s("a.example", 4100));
        assert_eq!(parse_server("127.0.0.1:4001"), s("127.0.0.1", 4001));
        assert_eq!(parse_server("[::1]:4002"), s("::1", 4002));
        assert_eq!(parse_server("[::1]"), s("::1", 4000));
        assert_eq!(parse_server("b.example"), s("b.example", 4000));
        for bad in ["", ":4000", "h:0", "h:x", "::1", "[::1", "[::1]x", "h :1"] {
            assert!(parse_server(bad).is_err(), "{bad:?} accepted");
        }
    }
}
