//! `natter [HOST] PORT`: the natter terminal client.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Parser;

use natter::shell::client::{ClientOptions, run};
use natter::shell::state_file;

/// The natter chat client.
///
/// Connects to a natter server, logs in, and lets you chat: messages, broadcasts, presence, blocking,
/// and private chats that go straight to the other user's client, never through the server.
/// Type 'help' once logged in for the commands. With stdin not a terminal, commands are read line by
/// line from stdin and everything is printed as plain lines, so the client can be scripted.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    long_about,
    override_usage = "natter [OPTIONS] [HOST] PORT",
    after_help = "Exit status: 0 logged out; 1 cannot reach or lost the server; 2 bad command line; \
3 login refused (account locked, or already logged in); 4 logged out by the server (idle timeout, \
shutdown); 5 input ended or interrupted before login.\n\
Colour is used when output is a terminal and NO_COLOR is not set."
)]
struct Args {
    /// `[HOST] PORT`: the server (HOST defaults to 127.0.0.1).
    #[arg(value_name = "HOST_PORT", num_args = 1..=2, required = true, hide = true)]
    target: Vec<String>,

    /// TCP port for private chats (0 lets the system choose a free one).
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    p2p_port: u16,

    /// Where to remember which offline messages were already shown
    /// (default: $XDG_STATE_HOME/natter or ~/.local/state/natter).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

fn parse_target(target: &[String]) -> Result<(String, u16), String> {
    let (host, port) = match target {
        [port] => ("127.0.0.1", port),
        [host, port] => (host.as_str(), port),
        _ => return Err("give the server as [HOST] PORT".into()),
    };
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("'{port}' is not a port number (1-65535)"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_owned(), port))
}

fn main() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let args = Args::parse();
    let (host, port) = match parse_target(&args.target) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("natter: error: {e}. Usage: natter [HOST] PORT (see --help)");
            std::process::exit(2);
        }
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let opts = ClientOptions {
        host,
        port,
        p2p_port: args.p2p_port,
        state_dir: args.state_dir.or_else(state_file::default_dir),
        interactive,
        color: std::io::stdout().is_terminal() && !no_color,
    };
    let code = match run(opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("natter: error: {e}");
            1
        }
    };
    std::process::exit(code);
}
