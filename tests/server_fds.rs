//! Running out of file descriptors: the server refuses new connections cleanly (`BYE full`), warns once,
//! does not spin, and accepts again once descriptors are free.

mod kit;

use std::time::{Duration, Instant};

use kit::*;
use natter_core::protocol::{ByeReason, Prompt, ServerMsg};

/// CPU seconds the process has used so far (user + system), from /proc.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[test]
fn out_of_descriptors_refuses_cleanly_warns_once_and_recovers() {
    // A limit low enough to reach with a few connections.
    // (All from one address, so its limit on connections logging in is lifted.)
    let server = Server::cmd()
        .raw(&[
            "0",
            "--bind",
            "127.0.0.1",
            "--plaintext",
            "--max-logins-per-address",
            "0",
            "--new-connections-per-address",
            "0",
        ])
        .fd_limit(40)
        .start();
    let mut accepted = Vec::new();
    let mut refused = 0;
    for _ in 0..60 {
        let mut c = server.connect();
        match c.next() {
            ServerMsg::Prompt(Prompt::Username) => accepted.push(c),
            ServerMsg::Bye(ByeReason::Full) => {
                refused += 1;
                assert!(c.next_line().is_none(), "a refused connection is closed");
                if refused == 5 {
                    break;
                }
            }
            other => panic!("unexpected first line {other:?}"),
        }
    }
    assert_eq!(
        refused,
        5,
        "the server never ran out: {} accepted",
        accepted.len()
    );
    assert!(accepted.len() > 5, "only {} accepted", accepted.len());

    // Full, with clients still knocking: the accept loop must not spin.
    let pid = server.pid();
    let before = cpu_secs(pid);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        let mut c = server.connect();
        assert_eq!(c.next(), ServerMsg::Bye(ByeReason::Full));
        std::thread::sleep(Duration::from_millis(50));
    }
    let used = cpu_secs(pid) - before;
    assert!(
        used < 0.5,
        "the server used {used} s of CPU in 1 s while full"
    );

    // Descriptors come back: new connections are served again, and the sessions that were there
    // never noticed anything.
    let mut alice = accepted.pop().unwrap();
    for c in accepted.drain(..5) {
        drop(c);
    }
    let mut newcomer = None;
    for _ in 0..50 {
        let mut c = server.connect();
        if c.next() == ServerMsg::Prompt(Prompt::Username) {
            newcomer = Some(c);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut newcomer = newcomer.expect("descriptors freed, yet connections are still refused");
    newcomer.say("bob");
    newcomer.next();
    newcomer.say("bpw");
    newcomer.expect("welcome", |m| matches!(m, ServerMsg::Welcome { .. }));
    alice.say("alice");
    alice.next();
    alice.say("apw");
    alice.expect("welcome", |m| matches!(m, ServerMsg::Welcome { .. }));

    let log = server.log();
    assert_eq!(
        log.matches("out of file descriptors").count(),
        1,
        "warned once, not per refused connection:\n{log}"
    );
    assert!(log.contains("available again"), "{log}");
}
