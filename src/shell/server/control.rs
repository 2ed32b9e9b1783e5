//! The operator's control of a running server: the local control socket (`natter-server admin ...`
//! talks to it) and the reload (SIGHUP, `natter-server reload`).
//!
//! The socket is a Unix socket, owner-only, in the data directory by default; only the server's own
//! user (or root) may use it, checked again by the peer's credentials (`SO_PEERCRED`), which also name
//! who did what in the log. The protocol is one line each way and back (docs/OPERATING.md):
//!
//! ```text
//! request:  a command line, e.g. "kick bob spamming"       (UTF-8, one line, at most 64 KiB)
//! answer:   zero or more data lines, then "ok TEXT" or "error TEXT" as the last line
//! ```
//!
//! Every action that is a rule goes to the core as an `Admin` event (a cluster node appends it to the
//! shared log, so it reaches every node); a password is hashed here first, off the server's thread, so
//! its text goes nowhere. Questions (who is online, the bans) are answered from the core's state.
//!
//! A reload reads the configuration file and the credentials file again and changes what can change
//! live: the accounts (as changes: added, removed, new passwords; an unchanged account's line goes
//! nowhere), the limits and timeouts, the TLS certificate for new connections, the log level. Anything
//! that fails (a file that does not read, a value out of range, a certificate that does not load)
//! leaves the running configuration as it is and says exactly why; nothing is half applied. Settings
//! that only a restart changes are named in the log.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use async_net::unix::{UnixListener, UnixStream};
use futures_lite::{AsyncBufReadExt, AsyncWriteExt, io::BufReader};
use smol::LocalExecutor;

use super::Shared;
use super::inbox::Input;
use super::query::Query;
use crate::shell::metrics::Metrics;
use crate::shell::settings::{Settings, diff_accounts};
use crate::shell::tls::ServerTls;
use natter_core::server::{Account, Admin, AdminAnswer, BanTarget};

/// Reads the settings again, or says why they cannot be used.
pub type Reread = Box<dyn Fn() -> Result<Settings, String>>;

/// Sets the log's level, or says why not.
pub type SetLogLevel = Box<dyn Fn(&str) -> Result<(), String>>;

/// What the binary hands the runtime for the operator's control.
pub struct Control {
    /// The control socket, bound ([`bind_socket`]) before the server says it is listening, so a
    /// script that waits for that line finds it there (`None`: no socket).
    pub socket: Option<(PathBuf, std::os::unix::net::UnixListener)>,
    /// Reads the settings again: the configuration file, the command line's flags over it, checked.
    pub reread: Reread,
    /// Sets the log's level (or says why not).
    pub set_log_level: SetLogLevel,
    /// The settings and the credentials file's accounts the server started with.
    pub settings: Settings,
    pub accounts: Vec<Account>,
    /// Each value is a reload asked for by a signal (SIGHUP).
    pub reloads: smol::channel::Receiver<()>,
    /// Cluster mode: plain passwords are hashed before a reload hands them on (they would enter the
    /// shared log), and the TLS identity is the cluster's unless the operator gives one.
    pub cluster: bool,
    /// The fingerprint of the certificate the server started with (a reload says when it changes).
    pub tls_fingerprint: Option<String>,
}

/// What the control task keeps between requests.
struct State {
    reread: Reread,
    set_log_level: SetLogLevel,
    settings: RefCell<Settings>,
    accounts: RefCell<Vec<Account>>,
    cluster: bool,
    /// A reload is under way: another waits its turn (answered "busy").
    reloading: Cell<bool>,
    metrics: Option<Arc<Metrics>>,
}

/// Starts the control socket (if any) and the signal-driven reloads on the server's executor. The
/// tasks end with the executor.
pub(super) fn start(
    control: Control,
    ex: &Rc<LocalExecutor<'static>>,
    shared: Rc<Shared>,
) -> std::io::Result<()> {
    let state = Rc::new(State {
        reread: control.reread,
        set_log_level: control.set_log_level,
        settings: RefCell::new(control.settings),
        accounts: RefCell::new(control.accounts),
        cluster: control.cluster,
        reloading: Cell::new(false),
        metrics: shared.metrics.clone(),
    });
    *shared.tls_fingerprint.borrow_mut() = control.tls_fingerprint;
    if let Some((path, listener)) = control.socket {
        let listener = UnixListener::try_from(listener)?;
        tracing::info!("control socket at {}", path.display());
        let (ex2, shared, state) = (ex.clone(), shared.clone(), state.clone());
        ex.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let (shared, state) = (shared.clone(), state.clone());
                        ex2.spawn(serve_one(stream, shared, state)).detach();
                    }
                    Err(e) => {
                        tracing::warn!("control socket: {e}");
                        smol::Timer::after(Duration::from_millis(100)).await;
                    }
                }
            }
        })
        .detach();
    }
    let reloads = control.reloads;
    let state2 = state.clone();
    ex.spawn(async move {
        while reloads.recv().await.is_ok() {
            let _ = reload(&shared, &state2, "a signal (SIGHUP)").await;
        }
    })
    .detach();
    Ok(())
}

/// Makes the socket, owner-only. A file left there by a server that is gone is replaced; one a
/// running server answers on is not.
pub fn bind_socket(path: &Path) -> std::io::Result<std::os::unix::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::other(format!(
                "the control socket {} is in use by another server",
                path.display()
            )));
        }
        std::fs::remove_file(path)?;
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot make the control socket {}: {e}", path.display()),
        )
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// The peer's user and process ids (`SO_PEERCRED`).
fn peer_of(stream: &UnixStream) -> Option<(u32, i32)> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes given, and the descriptor is the
    // stream's own, open for the duration of the call.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &raw mut len,
        )
    };
    (rc == 0).then_some((cred.uid, cred.pid))
}

/// The longest request line.
const MAX_REQUEST: usize = 64 * 1024;

/// One request on one connection to the socket, and its answer.
async fn serve_one(stream: UnixStream, shared: Rc<Shared>, state: Rc<State>) {
    let Some((uid, pid)) = peer_of(&stream) else {
        return;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let mut writer = stream.clone();
    if uid != me && uid != 0 {
        tracing::warn!("control socket: uid {uid} (pid {pid}) is not the server's user; refused");
        let _ = writer
            .write_all(b"error only the server's own user (or root) may use this socket\n")
            .await;
        return;
    }
    let who = format!("uid {uid} (pid {pid})");
    let mut line = Vec::new();
    let mut reader = BufReader::new(futures_lite::AsyncReadExt::take(
        stream,
        MAX_REQUEST as u64 + 1,
    ));
    let read = futures_lite::future::or(
        async { reader.read_until(b'\n', &mut line).await.map(Some) },
        async {
            smol::Timer::after(Duration::from_secs(10)).await;
            Ok(None)
        },
    )
    .await;
    let answer = match read {
        Ok(Some(_)) if line.len() > MAX_REQUEST => Err("the request is longer than 64 KiB".into()),
        Ok(Some(_)) => match std::str::from_utf8(&line) {
            Ok(text) => handle(text.trim_end_matches(['\r', '\n']), &who, &shared, &state).await,
            Err(_) => Err("the request is not UTF-8".into()),
        },
        Ok(None) => Err("no request within 10 s".into()),
        Err(e) => Err(format!("reading the request: {e}")),
    };
    let text = match answer {
        Ok((lines, last)) => {
            let mut t = String::new();
            for l in lines {
                t.push_str(&l.replace('\n', " "));
                t.push('\n');
            }
            t.push_str(&format!("ok {}\n", last.replace('\n', " ")));
            t
        }
        Err(e) => format!("error {}\n", e.replace('\n', " ")),
    };
    let _ = writer.write_all(text.as_bytes()).await;
    let _ = writer.flush().await;
}

/// What one request line asks for, and its answer: data lines and the last line's text.
async fn handle(
    line: &str,
    who: &str,
    shared: &Rc<Shared>,
    state: &Rc<State>,
) -> Result<(Vec<String>, String), String> {
    if let Some(m) = &state.metrics {
        m.admin_action();
    }
    let request = parse(line)?;
    let action = match request {
        Request::Ask(query) => {
            let lines = ask(shared, query).await?;
            let n = lines.len();
            let what = match query {
                Query::Online => format!("{n} online"),
                Query::Bans => format!("{n} ban(s)"),
            };
            return Ok((lines, what));
        }
        Request::Reload => return reload(shared, state, who).await.map(|t| (Vec::new(), t)),
        Request::Backup(to) => {
            if to.is_relative() {
                return Err("give the backup's path in full (it is written by the server)".into());
            }
            if to.exists() {
                return Err(format!("{} exists already: give a new file", to.display()));
            }
            tracing::info!("backup of the store to {} asked by {who}", to.display());
            let (reply, done) = smol::channel::bounded(1);
            shared.push(Input::Backup {
                to: to.clone(),
                reply,
            });
            done.recv()
                .await
                .unwrap_or_else(|_| Err("the server is stopping".into()))?;
            return Ok((
                Vec::new(),
                format!("the store is copied to {}", to.display()),
            ));
        }
        Request::Do(action) => action,
        Request::WithPassword {
            user,
            password,
            add,
        } => {
            let min = state.settings.borrow().login.min_password_length as usize;
            natter_core::protocol::name::check_password(&password)
                .map_err(|e| format!("cannot use that password: {e}"))?;
            if natter_core::server::weak_password(&user, &password, min) {
                return Err(format!(
                    "a password must have at least {min} characters and not be the username"
                ));
            }
            let hash = hash(password).await?;
            if add {
                Admin::AddAccount {
                    user,
                    password: hash,
                }
            } else {
                Admin::SetPassword {
                    user,
                    password: hash,
                }
            }
        }
    };
    act(shared, action, who).await.map(|t| (Vec::new(), t))
}

/// Hashes a password off the server's thread (argon2id, as `--register` does).
async fn hash(password: String) -> Result<String, String> {
    smol::unblock(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| format!("no OS randomness: {e}"))?;
        Ok(natter_core::password::hash(
            &password,
            &salt,
            natter_core::password::Strength::Standard,
        ))
    })
    .await
}

/// Hands an action to the core (through the driver) and waits for its answer.
async fn act(shared: &Rc<Shared>, action: Admin, who: &str) -> AdminAnswer {
    let (reply, answer) = smol::channel::bounded(1);
    shared.push(Input::Admin {
        action: Box::new(action),
        who: who.to_owned(),
        reply,
    });
    answer
        .recv()
        .await
        .unwrap_or_else(|_| Err("the server is stopping".into()))
}

/// Asks the core a question (through the driver).
async fn ask(shared: &Rc<Shared>, query: Query) -> Result<Vec<String>, String> {
    let (reply, answer) = smol::channel::bounded(1);
    shared.push(Input::Query { query, reply });
    answer
        .recv()
        .await
        .map_err(|_| "the server is stopping".to_owned())
}

/// A reload (see the module documentation), asked for by `who`.
async fn reload(shared: &Rc<Shared>, state: &Rc<State>, who: &str) -> Result<String, String> {
    if state.reloading.replace(true) {
        return Err("a reload is under way; try again in a moment".into());
    }
    let started = std::time::Instant::now();
    let result = reload_now(shared, state).await;
    state.reloading.set(false);
    if let Some(m) = &state.metrics {
        m.reloaded(result.is_ok());
    }
    match &result {
        Ok(summary) => tracing::info!(
            "reload by {who}: {summary} (in {} ms)",
            started.elapsed().as_millis()
        ),
        Err(why) => tracing::error!(
            "reload by {who} failed, the running configuration stays as it was: {why}"
        ),
    }
    result
}

async fn reload_now(shared: &Rc<Shared>, state: &Rc<State>) -> Result<String, String> {
    // Everything that can fail first: nothing is applied unless all of it reads.
    let settings = (state.reread)()?;
    let path = settings.server.credentials.clone();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the credentials file {}: {e}", path.display()))?;
    let accounts = natter_core::server::parse_credentials(&text)
        .map_err(|e| format!("credentials file {}: {e}", path.display()))?;
    let mut changes = diff_accounts(&state.accounts.borrow(), &accounts);
    if state.cluster {
        // No password's text enters the shared log: plain lines are hashed first.
        for a in &mut changes.set {
            if !natter_core::password::is_hash(&a.password) {
                a.password = hash(a.password.clone()).await?;
            }
        }
    }
    let running = state.settings.borrow().clone();
    let tls = if running.server.plaintext {
        None
    } else if state.cluster && settings.server.tls_cert.is_none() {
        // The cluster's one identity, as taken at start.
        None
    } else {
        let identity = ServerTls::identity(
            settings.server.tls_cert.as_deref(),
            settings.server.tls_key.as_deref(),
            &running.data_dir(),
        )
        .map_err(|e| e.to_string())?;
        Some(ServerTls::from_identity(&identity).map_err(|e| e.to_string())?)
    };
    if std::env::var_os("RUST_LOG").is_none() {
        (state.set_log_level)(&settings.log.level)?;
    }
    // From here on it applies.
    let mut said = Vec::new();
    for (key, old, new) in settings.needs_restart(&running) {
        tracing::warn!("{key} changed from {old} to {new}: it takes effect at the next restart");
    }
    if let Some(tls) = tls {
        let changed = shared
            .tls_fingerprint
            .replace(Some(tls.fingerprint.clone()))
            .is_some_and(|old| old != tls.fingerprint);
        *shared.tls.borrow_mut() = Some(tls.config);
        if changed {
            tracing::info!(
                "TLS certificate {} ({}) for new connections",
                tls.fingerprint,
                tls.source
            );
            said.push("a new TLS certificate".to_owned());
        }
    }
    let config = settings.core_config();
    if config != running.core_config() {
        act(shared, Admin::Configure(Box::new(config)), "a reload").await?;
        said.push("limits and timeouts".to_owned());
    }
    if !changes.is_empty() {
        let answer = act(
            shared,
            Admin::Accounts {
                set: changes.set,
                remove: changes.remove,
            },
            "a reload",
        )
        .await?;
        said.push(answer);
    }
    *state.accounts.borrow_mut() = accounts;
    *state.settings.borrow_mut() = settings;
    Ok(if said.is_empty() {
        "nothing changed".into()
    } else {
        format!("reloaded: {}", said.join("; "))
    })
}

/// What a request line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    Do(Admin),
    /// An account added or given a password: the password is hashed first.
    WithPassword {
        user: String,
        password: String,
        add: bool,
    },
    Ask(Query),
    Reload,
    /// A copy of the store, to this file.
    Backup(PathBuf),
}

/// The commands, for an error that lists them.
const USAGE: &str = "list | bans | kick USER [REASON] | ban USER|ADDRESS|NETWORK DURATION [REASON] \
     | unban TARGET | unlock USER | account add USER PASSWORD | account remove USER | account \
     rename OLD NEW | account password USER PASSWORD | group remove GROUP | group remove-member \
     GROUP USER | notice TEXT | reload | backup FILE";

/// Reads a request line.
fn parse(line: &str) -> Result<Request, String> {
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let first = words.next().unwrap_or("");
    let word = |w: Option<&str>, what: &str| -> Result<String, String> {
        w.map(str::to_owned)
            .ok_or_else(|| format!("missing {what}; usage: {USAGE}"))
    };
    let rest = |skip: usize| -> String {
        line.split(' ')
            .filter(|w| !w.is_empty())
            .skip(skip)
            .collect::<Vec<_>>()
            .join(" ")
    };
    Ok(match first {
        "list" | "who" => Request::Ask(Query::Online),
        "bans" => Request::Ask(Query::Bans),
        "reload" => Request::Reload,
        "backup" => Request::Backup(PathBuf::from(rest(1))),
        "kick" => Request::Do(Admin::Kick {
            user: word(words.next(), "the user")?,
            reason: rest(2),
        }),
        "ban" => {
            let target = BanTarget::parse(&word(words.next(), "what to ban")?);
            let until = duration(&word(words.next(), "how long (e.g. 30m, 2h, 7d, forever)")?)?
                .map(|d| crate::shell::clock::wall_now().plus_millis(d.as_millis() as u64));
            Request::Do(Admin::Ban {
                target,
                until,
                reason: rest(3),
            })
        }
        "unban" => Request::Do(Admin::Unban {
            target: BanTarget::parse(&word(words.next(), "what to unban")?),
        }),
        "unlock" => Request::Do(Admin::Unlock {
            user: word(words.next(), "the user")?,
        }),
        "notice" => {
            let text = rest(1);
            if text.is_empty() {
                return Err(format!("missing the notice's text; usage: {USAGE}"));
            }
            Request::Do(Admin::Notice { text })
        }
        "account" => match words.next() {
            Some("add") => Request::WithPassword {
                user: word(words.next(), "the user")?,
                password: word(words.next(), "the password")?,
                add: true,
            },
            Some("password") => Request::WithPassword {
                user: word(words.next(), "the user")?,
                password: word(words.next(), "the password")?,
                add: false,
            },
            Some("remove") => Request::Do(Admin::RemoveAccount {
                user: word(words.next(), "the user")?,
            }),
            Some("rename") => Request::Do(Admin::RenameAccount {
                from: word(words.next(), "the account")?,
                to: word(words.next(), "its new name")?,
            }),
            _ => {
                return Err(format!(
                    "account add|remove|rename|password ...; usage: {USAGE}"
                ));
            }
        },
        "group" => match words.next() {
            Some("remove") => Request::Do(Admin::RemoveGroup {
                group: word(words.next(), "the group")?,
            }),
            Some("remove-member") => Request::Do(Admin::RemoveMember {
                group: word(words.next(), "the group")?,
                user: word(words.next(), "the member")?,
            }),
            _ => return Err(format!("group remove|remove-member ...; usage: {USAGE}")),
        },
        "" => return Err(format!("empty request; usage: {USAGE}")),
        other => return Err(format!("unknown command '{other}'; usage: {USAGE}")),
    })
}

/// A ban's length: `forever`, or a number of seconds with an optional unit (s, m, h, d, w).
fn duration(text: &str) -> Result<Option<Duration>, String> {
    if text.eq_ignore_ascii_case("forever") || text.eq_ignore_ascii_case("permanent") {
        return Ok(None);
    }
    let bad = || format!("'{text}' is not a duration: give 30s, 15m, 2h, 7d, 4w or forever");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    if n == 0 {
        return Err(bad());
    }
    Ok(Some(Duration::from_secs(n.saturating_mul(secs))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_the_actions_they_name() {
        assert_eq!(parse("list"), Ok(Request::Ask(Query::Online)));
        assert_eq!(
            parse("kick bob stop spamming"),
            Ok(Request::Do(Admin::Kick {
                user: "bob".into(),
                reason: "stop spamming".into()
            }))
        );
        assert!(matches!(
            parse("ban 10.0.0.0/8 forever"),
            Ok(Request::Do(Admin::Ban { until: None, .. }))
        ));
        assert!(matches!(
            parse("ban bob 2h flooding"),
            Ok(Request::Do(Admin::Ban { until: Some(_), ref reason, .. })) if reason == "flooding"
        ));
        assert_eq!(
            parse("account add zed secret-pass"),
            Ok(Request::WithPassword {
                user: "zed".into(),
                password: "secret-pass".into(),
                add: true
            })
        );
        for bad in [
            "",
            "frobnicate",
            "ban bob",
            "ban bob soon",
            "kick",
            "account",
            "notice",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_take_units_and_forever() {
        assert_eq!(duration("90"), Ok(Some(Duration::from_secs(90))));
        assert_eq!(duration("2h"), Ok(Some(Duration::from_secs(7200))));
        assert_eq!(duration("forever"), Ok(None));
        assert!(duration("0").is_err() && duration("2y").is_err() && duration("h").is_err());
    }
}
