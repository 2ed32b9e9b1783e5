//! `natter-server [PORT] [BLOCK_DURATION] [TIMEOUT] [--config natter.toml] [flags]`: the natter chat
//! server; and its subcommands: `reload`, `admin ...`, `hash-password`, `cluster-key`, `man`.
//!
//! Modules, one job each: `cli` (the command line, and how each flag lays over the configuration
//! file's key), `start` (reading the settings, then starting alone or as a cluster's node, then
//! serving), `admin` (talking to a running server's control socket), `logging` (the operator's log).

mod admin;
mod cli;
mod logging;
mod start;

use anyhow::{Context, Result, bail};

use cli::{Args, Sub};
use natter::shell::settings::{Settings, SettingsError};

fn main() {
    let mut args = cli::parse();
    if let Some(sub) = args.command.take() {
        std::process::exit(subcommand(sub));
    }
    // The settings before the log: they say how to log. Their errors are usage errors (exit 2).
    let settings = match settings_of(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("natter-server: error: {e}");
            std::process::exit(2);
        }
    };
    let log = logging::init(&settings.log.level, settings.log.format);
    let reread = {
        let args = std::sync::Arc::new(args);
        Box::new(move || settings_of(&args)) as Box<dyn Fn() -> Result<Settings, String>>
    };
    if let Err(e) = serve(settings, reread, log) {
        eprintln!("natter-server: error: {e:#}");
        std::process::exit(1);
    }
}

/// The configuration file (if any) with the flags laid over it, checked. An error names the key, the
/// value, what is allowed, and the flag that gave it if one did.
fn settings_of(args: &Args) -> Result<Settings, String> {
    let mut settings = match &args.config {
        Some(path) => Settings::load(path).map_err(|e| e.to_string())?,
        None => Settings::default(),
    };
    args.apply(&mut settings);
    settings.check().map_err(|e| match &e {
        SettingsError::Invalid { key, .. } => {
            let given = cli::FLAG_KEYS
                .iter()
                .find(|(_, k)| k.replace(' ', "") == *key)
                .is_some_and(|(arg, _)| flag_given(args, arg));
            match (given, cli::flag_of(key)) {
                (true, Some(flag)) => format!("{e} (given as {flag})"),
                _ => match &args.config {
                    Some(path) => format!("{e} (in {})", path.display()),
                    None => e.to_string(),
                },
            }
        }
        _ => e.to_string(),
    })?;
    Ok(settings)
}

/// Whether the flag for `arg` was given on the command line (for errors: "given as --timeout").
fn flag_given(args: &Args, arg: &str) -> bool {
    args.given.iter().any(|g| g == arg)
}

fn serve(
    settings: Settings,
    reread: Box<dyn Fn() -> Result<Settings, String>>,
    log: logging::LevelHandle,
) -> Result<()> {
    let url = settings.cluster.url.clone();
    let prepared = start::prepare(settings)?;
    let started = match &url {
        Some(url) => start::cluster(&prepared, url)?,
        None => start::standalone(&prepared)?,
    };
    start::serve(prepared, started, start::Steering { reread, log })
}

/// Runs a subcommand; its exit code.
fn subcommand(sub: Sub) -> i32 {
    let result: Result<bool> = match sub {
        Sub::HashPassword { username } => hash_password(username.as_deref()).map(|line| {
            println!("{line}");
            true
        }),
        Sub::ClusterKey { file } => natter::shell::cluster::ClusterKey::write_new(&file)
            .map(|()| {
                println!(
                    "wrote a new cluster key to {}: give every node of the cluster a copy \
                     (--cluster-key-file), readable by its owner only",
                    file.display()
                );
                true
            })
            .map_err(anyhow::Error::from),
        Sub::Reload { locate } => {
            admin::socket_of(&locate).and_then(|socket| admin::send(&socket, "reload"))
        }
        Sub::Admin { locate, command } => admin::socket_of(&locate).and_then(|socket| {
            let request = admin::request_of(command)?;
            admin::send(&socket, &request)
        }),
        Sub::Man => {
            let man = clap_mangen::Man::new(cli::command());
            let mut out = std::io::stdout().lock();
            man.render(&mut out)
                .map(|()| true)
                .map_err(anyhow::Error::from)
        }
    };
    match result {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("natter-server: error: {e:#}");
            1
        }
    }
}

/// `natter-server hash-password [USERNAME]`.
fn hash_password(username: Option<&str>) -> Result<String> {
    if let Some(name) = username {
        natter_core::protocol::name::check_username(name)
            .map_err(|e| anyhow::anyhow!("'{name}' is not a valid username: {e}"))?;
    }
    let password = read_new_password()?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let hash =
        natter_core::password::hash(&password, &salt, natter_core::password::Strength::Standard);
    Ok(match username {
        Some(name) => format!("{name} {hash}"),
        None => hash,
    })
}

/// A password from the terminal (asked twice, not shown) or one line of standard input, checked for
/// shape (no spaces or control characters).
fn read_new_password() -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let password = if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let mut err = std::io::stderr();
        let first =
            natter::shell::ui::read_secret("Password: ", &mut err).context("no password given")?;
        let again =
            natter::shell::ui::read_secret("Again: ", &mut err).context("no password given")?;
        if first != again {
            bail!("the two passwords differ; nothing was done");
        }
        String::from_utf8(first).context("the password is not UTF-8")?
    };
    natter_core::protocol::name::check_password(&password)
        .map_err(|e| anyhow::anyhow!("cannot use that password: {e}"))?;
    Ok(password)
}
