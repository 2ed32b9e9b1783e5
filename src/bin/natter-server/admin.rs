//! `natter-server admin ...` and `natter-server reload`: one request to the running server's control
//! socket (one line; docs/OPERATING.md), its answer printed. Exits 0 on `ok`, 1 on `error` or when
//! the server cannot be reached.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cli::{AccountCommand, AdminCommand, GroupCommand, Locate};
use natter::shell::settings::Settings;

/// Where the server's control socket is, worked out as the server works it out.
pub fn socket_of(locate: &Locate) -> Result<PathBuf> {
    if let Some(path) = &locate.admin_socket {
        return Ok(path.clone());
    }
    let mut settings = match &locate.config {
        Some(path) => Settings::load(path)?,
        None => Settings::default(),
    };
    if let Some(dir) = &locate.data_dir {
        settings.server.data_dir = Some(dir.clone());
    }
    if let Some(c) = &locate.credentials {
        settings.server.credentials = c.clone();
    }
    Ok(settings.admin_socket())
}

/// The request line for an admin command (a password is asked for here, never taken from the
/// command line, where other users could see it).
pub fn request_of(command: AdminCommand) -> Result<String> {
    let words = |v: Vec<String>| v.join(" ");
    Ok(match command {
        AdminCommand::List => "list".into(),
        AdminCommand::Bans => "bans".into(),
        AdminCommand::Kick { user, reason } => format!("kick {user} {}", words(reason)),
        AdminCommand::Ban {
            target,
            duration,
            reason,
        } => format!("ban {target} {duration} {}", words(reason)),
        AdminCommand::Unban { target } => format!("unban {target}"),
        AdminCommand::Unlock { user } => format!("unlock {user}"),
        AdminCommand::Notice { text } => format!("notice {}", words(text)),
        AdminCommand::Backup { file } => {
            let file = std::path::absolute(&file).context("the backup's path")?;
            format!("backup {}", file.display())
        }
        AdminCommand::Account(AccountCommand::Add { user }) => {
            format!("account add {user} {}", crate::read_new_password()?)
        }
        AdminCommand::Account(AccountCommand::Password { user }) => {
            format!("account password {user} {}", crate::read_new_password()?)
        }
        AdminCommand::Account(AccountCommand::Remove { user }) => format!("account remove {user}"),
        AdminCommand::Account(AccountCommand::Rename { from, to }) => {
            format!("account rename {from} {to}")
        }
        AdminCommand::Group(GroupCommand::Remove { group }) => format!("group remove {group}"),
        AdminCommand::Group(GroupCommand::RemoveMember { group, user }) => {
            format!("group remove-member {group} {user}")
        }
    })
}

/// Sends `request` to the socket and prints the answer; whether the server said `ok`.
pub fn send(socket: &PathBuf, request: &str) -> Result<bool> {
    let mut stream = UnixStream::connect(socket).with_context(|| {
        format!(
            "cannot reach the server's control socket {} (is the server running, and are you its \
             user? --config, --data-dir or --admin-socket say where it is)",
            socket.display()
        )
    })?;
    // A reload may hash passwords and read files: give it time.
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.write_all(request.trim_end().as_bytes())?;
    stream.write_all(b"\n")?;
    let mut ok = None;
    for line in BufReader::new(stream).lines() {
        let line = line.context("reading the server's answer")?;
        if let Some(text) = line.strip_prefix("ok ") {
            println!("{text}");
            ok = Some(true);
        } else if let Some(text) = line.strip_prefix("error ") {
            eprintln!("natter-server: {text}");
            ok = Some(false);
        } else {
            println!("{line}");
        }
    }
    match ok {
        Some(ok) => Ok(ok),
        None => bail!("the server closed the control socket without an answer"),
    }
}
