//! Rule 12 and hostile or broken input: every case has a defined answer, and nothing else is disturbed.

use super::*;
use crate::protocol::{CommandName, Prompt};

#[test]
fn unknown_command_lists_the_commands() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "dance");
    assert_eq!(h.take(alice), vec![err(ErrorReply::UnknownCommand)]);
    let text = ErrorReply::UnknownCommand.text();
    assert!(
        text.contains("'help'"),
        "says how to see the commands: {text}"
    );
}

#[test]
fn wrong_arguments_get_the_usage_line() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    for (line, command) in [
        ("whoelse extra", CommandName::WhoElse),
        ("logout now", CommandName::Logout),
        ("block", CommandName::Block),
        ("block a b", CommandName::Block),
        ("broadcast", CommandName::Broadcast),
        ("message bob", CommandName::Message),
    ] {
        h.send(alice, line);
        assert_eq!(
            h.take(alice),
            vec![err(ErrorReply::Usage { command })],
            "{line}"
        );
    }
    let text = ErrorReply::Usage {
        command: CommandName::Message,
    }
    .text();
    assert_eq!(
        text, "Usage: message <user> <text> or message group <name> <text>",
        "every command typed with the same first word"
    );
    assert!(!h.is_closed(alice));
}

#[test]
fn help_lists_every_offered_command() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "help");
    let got = h.take(alice);
    let listed: Vec<CommandName> = CommandName::listed().collect();
    assert_eq!(
        got,
        listed
            .into_iter()
            .map(|command| ServerMsg::Help { command })
            .collect::<Vec<_>>()
    );
}

#[test]
fn bad_lines_get_errors_and_the_session_goes_on() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.clear_all();
    h.send_bytes(alice, b"message bob \xff\xfe");
    assert_eq!(h.take(alice), vec![err(ErrorReply::InvalidUtf8)]);
    h.send(alice, "message bob \u{1b}[2J gotcha");
    assert_eq!(h.take(alice), vec![err(ErrorReply::ControlChar)]);
    h.too_long(alice);
    assert_eq!(
        h.take(alice),
        vec![err(ErrorReply::LineTooLong { max: 100 })]
    );
    h.send(alice, "");
    assert_eq!(h.take(alice), vec![err(ErrorReply::EmptyLine)]);
    assert_eq!(h.take(bob), vec![], "nothing reached anyone else");
    h.send(alice, "message bob fine");
    assert_eq!(h.take(bob).len(), 1);
}

#[test]
fn bad_lines_during_login_reprompt() {
    let mut h = harness();
    let c = h.connect();
    h.take(c);
    h.send_bytes(c, b"\xff");
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::InvalidUtf8),
            ServerMsg::Prompt(Prompt::Username)
        ]
    );
    h.send(c, "alice");
    h.take(c);
    h.too_long(c);
    assert_eq!(
        h.take(c),
        vec![
            err(ErrorReply::LineTooLong { max: 100 }),
            ServerMsg::Prompt(Prompt::Password)
        ]
    );
    h.send(c, "apw");
    assert!(matches!(h.take(c)[0], ServerMsg::Welcome { .. }));
}

#[test]
fn disconnect_mid_login_leaves_no_trace() {
    let mut h = harness();
    let c = h.connect();
    h.send(c, "alice");
    h.disconnect(c);
    assert_eq!(h.state().connection_count(), 0);
    assert!(h.state().online_users().is_empty());
    h.login("alice", "apw");
}

#[test]
fn events_for_unknown_or_closed_connections_are_ignored() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.send(alice, "logout");
    h.send(alice, "whoelse");
    h.too_long(alice);
    h.disconnect(alice);
    h.disconnect(crate::server::ConnId(999));
    h.send(crate::server::ConnId(999), "hello");
    assert_eq!(h.state().connection_count(), 0);
}

#[test]
fn time_going_backwards_is_ignored() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.advance_secs(10);
    // A caller whose clock stepped back: the core keeps its own latest time.
    let mut out = Vec::new();
    h.state_mut().handle(
        crate::server::Event::Line {
            conn: alice,
            line: b"whoelse",
        },
        crate::server::harness::START,
        &mut out,
    );
    h.advance_secs(300 - 10);
    assert!(h.is_closed(alice), "idle clock counted from t=10, not t=0");
}

#[test]
fn same_events_give_same_effects() {
    let run = || {
        let mut h = harness().keep_trace();
        let alice = h.login("alice", "apw");
        let bob = h.login("bob", "bpw");
        h.send(alice, "p2pport 5000");
        h.send(bob, "p2pport 5001");
        h.send(alice, "startprivate bob");
        h.send(bob, "accept alice");
        h.send(alice, "broadcast x");
        h.advance_secs(400);
        h.trace
    };
    assert_eq!(run(), run());
}
