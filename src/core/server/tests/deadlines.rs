//! The core keeps its own deadlines: a driver asks when the next one is ([`ServerState::poll_timeout`])
//! and lets time pass ([`ServerState::handle_timeout`]); nothing else is needed, and calling early, late
//! or twice changes nothing.

use std::net::SocketAddr;

use super::{ACCOUNTS, config};
use crate::protocol::{ByeReason, ServerMsg};
use crate::server::harness::START;
use crate::server::{Account, ConnId, Effect, Event, ServerState};

fn core() -> ServerState {
    let accounts = ACCOUNTS
        .iter()
        .map(|(u, p)| Account {
            username: (*u).into(),
            password: (*p).into(),
        })
        .collect();
    ServerState::new(config(), accounts, [7; 32])
}

fn peer() -> SocketAddr {
    "127.0.0.1:4000".parse().unwrap()
}

fn sent(out: &[Effect]) -> Vec<&ServerMsg> {
    out.iter()
        .filter_map(|e| match e {
            Effect::Send { msg, .. } => Some(msg),
            _ => None,
        })
        .collect()
}

#[test]
fn a_deadline_acts_once_due_and_never_before() {
    let mut st = core();
    let mut out = Vec::new();
    let conn = ConnId(1);
    st.handle(Event::Connected { conn, peer: peer() }, START, &mut out);
    let deadline = START.plus_secs(config().login_timeout_secs);
    assert_eq!(st.poll_timeout(), Some(deadline), "the login deadline");
    out.clear();
    st.handle_timeout(deadline.minus_millis(1), &mut out);
    assert!(out.is_empty(), "early: nothing happens {out:?}");
    assert_eq!(st.poll_timeout(), Some(deadline));
    st.handle_timeout(deadline, &mut out);
    assert_eq!(
        sent(&out),
        [&ServerMsg::Bye(ByeReason::LoginTimeout {
            secs: config().login_timeout_secs
        })]
    );
    assert!(out.contains(&Effect::Close { conn }));
    assert_eq!(
        st.poll_timeout(),
        None,
        "a closed connection has no deadline"
    );
    out.clear();
    st.handle_timeout(deadline.plus_secs(1), &mut out);
    assert!(out.is_empty(), "a second call finds nothing: {out:?}");
}

#[test]
fn activity_moves_the_idle_deadline_and_the_old_one_only_looks_again() {
    let mut st = core();
    let mut out = Vec::new();
    let conn = ConnId(1);
    st.handle(Event::Connected { conn, peer: peer() }, START, &mut out);
    for line in ["alice", "apw"] {
        st.handle(
            Event::Line {
                conn,
                line: line.as_bytes(),
            },
            START,
            &mut out,
        );
    }
    let cfg = config();
    let warning = START.plus_secs(cfg.timeout_secs - cfg.idle_warning_secs);
    assert_eq!(st.poll_timeout(), Some(warning));
    let later = START.plus_secs(100);
    st.handle(
        Event::Line {
            conn,
            line: b"whoelse",
        },
        later,
        &mut out,
    );
    out.clear();
    // The deadline set at login comes first: it finds the user active since, and moves on.
    st.handle_timeout(warning, &mut out);
    assert!(out.is_empty(), "{out:?}");
    let moved = later.plus_secs(cfg.timeout_secs - cfg.idle_warning_secs);
    assert_eq!(st.poll_timeout(), Some(moved));
    // Called late, past the logout itself: logged out at once (a warning then would help nobody).
    st.handle_timeout(later.plus_secs(cfg.timeout_secs), &mut out);
    assert_eq!(
        sent(&out),
        [&ServerMsg::Bye(ByeReason::Timeout {
            secs: cfg.timeout_secs
        })]
    );
}

#[test]
fn time_passing_backwards_fires_nothing_early() {
    let mut st = core();
    let mut out = Vec::new();
    st.handle(
        Event::Connected {
            conn: ConnId(1),
            peer: peer(),
        },
        START,
        &mut out,
    );
    out.clear();
    st.handle_timeout(START.minus_millis(60_000), &mut out);
    assert!(out.is_empty());
    assert_eq!(
        st.poll_timeout(),
        Some(START.plus_secs(config().login_timeout_secs))
    );
}
