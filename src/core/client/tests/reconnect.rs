//! Moving to another server of a cluster when the one in use is lost (or back to a lone one, for a
//! person at a terminal), and logging in again by itself, but with the password only to a server
//! that proved it is the one trusted.

use super::*;
use crate::protocol::{ByeReason, ErrorReply};

const SECRET: &str = "correct horse";

/// A client given servers `a:1` and `b:2`, logged in as alice on `a:1`, with the login's output cleared.
fn on_two_servers() -> Client {
    let mut config = Config::new(P2P_PORT);
    config.servers = vec!["a:1".into(), "b:2".into()];
    let mut c = Client::with_config(config);
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("alice");
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.typed(SECRET);
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    c.clear();
    c
}

fn warnings(c: &mut Client) -> Vec<String> {
    c.take_shown()
        .into_iter()
        .filter_map(|i| match i {
            Item::Warning(w) | Item::Connection(w) => Some(w),
            _ => None,
        })
        .collect()
}

/// Answers the next server's prompts the way a server does, and welcomes alice. The server proves
/// it is the one trusted (its certificate is pinned).
fn relogin_at_next(c: &mut Client) {
    c.event(Event::Server(ServerEvent::ConnectedVerified));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
}

#[test]
fn a_lost_server_is_replaced_by_the_next_and_the_login_repeated_without_the_user() {
    let mut c = on_two_servers();
    c.event(Event::Server(ServerEvent::Closed));
    assert_eq!(
        c.exit, None,
        "the client must not exit while another server may serve"
    );
    assert_eq!(c.server_conns, [Some(1)]);
    let shown = c.take_shown();
    assert!(
        shown.iter().any(|i| matches!(i, Item::Connection(w)
            if w.contains("Lost the connection to a:1") && w.contains("b:2") && w.contains("as alice"))),
        "{shown:?}"
    );

    relogin_at_next(&mut c);
    let sent = c.take_sent();
    assert_eq!(
        &sent[..2],
        ["alice", SECRET],
        "the prompts answered from memory"
    );
    assert!(sent.contains(&format!("p2pport {P2P_PORT}")), "{sent:?}");
    assert!(
        c.reads.is_empty(),
        "the user was asked nothing: {:?}",
        c.reads
    );
    assert_eq!(
        warnings(&mut c),
        ["Reconnected to b:2; logged in again as alice."]
    );
    assert_eq!(c.state.user(), Some(&name("alice")));

    // Commands flow again.
    c.typed("whoelse");
    assert_eq!(c.take_sent(), ["whoelse"]);
}

#[test]
fn what_is_typed_while_moving_is_refused_clearly_not_sent_later() {
    let mut c = on_two_servers();
    c.event(Event::Server(ServerEvent::Closed));
    c.clear();
    c.typed("message bob hi");
    assert!(c.take_sent().is_empty());
    assert_eq!(
        c.take_shown(),
        [client_error(ClientError::NotConnected(
            "message bob hi".into()
        ))]
    );
    // Still refused during the automatic login itself.
    c.event(Event::Server(ServerEvent::Connected));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.take_sent();
    c.typed("whoelse");
    assert!(c.take_sent().is_empty());
}

#[test]
fn failed_attempts_go_round_the_servers_then_back_off_and_finally_give_up() {
    let mut c = on_two_servers();
    c.event(Event::Server(ServerEvent::Closed));
    c.clear();
    // b:2 refuses: a:1 is tried at once (it may be back), then the rounds wait.
    c.event(Event::Server(ServerEvent::ConnectFailed {
        error: "connection refused",
    }));
    let w = warnings(&mut c);
    assert!(
        w[0].contains("b:2") && w[0].contains("connection refused") && w[0].contains("a:1 now"),
        "{w:?}"
    );
    c.advance_secs(0);
    assert_eq!(c.server_conns, [None, Some(0)]);
    c.event(Event::Server(ServerEvent::ConnectFailed {
        error: "connection refused",
    }));
    assert!(warnings(&mut c)[0].contains("trying b:2 in 1 s"));
    c.server_conns.clear();
    c.advance_secs(0);
    assert!(c.server_conns.iter().all(Option::is_none), "not before 1 s");
    c.advance_secs(1);
    assert_eq!(c.server_conns.last(), Some(&Some(1)));

    // Nothing answers for the whole bound: the client says so and exits as a lost connection does.
    for _ in 0..200 {
        if c.exit.is_some() {
            break;
        }
        c.event(Event::Server(ServerEvent::ConnectFailed {
            error: "timed out",
        }));
        c.advance_secs(8);
    }
    assert_eq!(c.exit, Some(Exit::ConnectionLost));
    assert!(
        c.shown
            .contains(&client_error(ClientError::NoServerLeft { secs: 120 }))
    );
    assert!(
        c.now.millis_since(START) <= 140_000,
        "gave up late: {} ms",
        c.now.millis_since(START)
    );
}

#[test]
fn an_earlier_session_not_yet_ended_is_waited_out_not_given_up_on() {
    let mut c = on_two_servers();
    c.event(Event::Server(ServerEvent::Closed));
    c.event(Event::Server(ServerEvent::Connected));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.clear();
    c.server(ServerMsg::Error(ErrorReply::AlreadyOnline));
    assert_eq!(
        c.server_conns,
        [None],
        "the connection is dropped to try again"
    );
    assert!(warnings(&mut c)[0].contains("has not ended yet"));
    assert_eq!(c.exit, None);
    // The same server (it answers) is asked again a second later, not the lost one; said only once.
    c.advance_secs(1);
    assert_eq!(c.server_conns, [None, Some(1)]);
    c.event(Event::Server(ServerEvent::Connected));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.server(ServerMsg::Error(ErrorReply::AlreadyOnline));
    assert!(warnings(&mut c).is_empty(), "the wait is said once");
    c.advance_secs(1);
    assert_eq!(c.server_conns, [None, Some(1), None, Some(1)]);
    relogin_at_next(&mut c);
    assert_eq!(c.state.user(), Some(&name("alice")));
}

#[test]
fn a_refused_password_hands_the_login_back_to_the_user() {
    let mut c = on_two_servers();
    c.event(Event::Server(ServerEvent::Closed));
    c.event(Event::Server(ServerEvent::ConnectedVerified));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.clear();
    c.server(ServerMsg::Error(ErrorReply::WrongPassword {
        attempts_left: 2,
    }));
    c.server(ServerMsg::Prompt(Prompt::Password));
    assert_eq!(c.reads, [InputMode::Password], "the user is asked now");
    assert!(
        c.take_sent().is_empty(),
        "the kept password is not tried twice"
    );
    c.typed("new secret");
    assert_eq!(c.take_sent(), ["new secret"]);
}

#[test]
fn a_server_shutting_down_is_left_for_another_when_there_is_one() {
    let mut c = on_two_servers();
    c.server(ServerMsg::Bye(ByeReason::Shutdown));
    assert_eq!(c.exit, None);
    assert_eq!(c.server_conns, [Some(1)]);
    relogin_at_next(&mut c);
    assert_eq!(c.state.user(), Some(&name("alice")));
}

#[test]
fn a_full_server_met_while_moving_is_one_failed_attempt_not_the_end() {
    let mut c = on_two_servers();
    c.event(Event::Server(ServerEvent::Closed));
    c.event(Event::Server(ServerEvent::Connected));
    c.clear();
    // b:2 is out of descriptors: it says so and closes.
    c.server(ServerMsg::Bye(ByeReason::Full));
    assert_eq!(c.exit, None, "the client must go on while a:1 may serve");
    let w = warnings(&mut c);
    assert!(
        w[0].contains("b:2") && w[0].contains("it is full") && w[0].contains("a:1 now"),
        "{w:?}"
    );
    c.advance_secs(0);
    assert_eq!(c.server_conns, [None, Some(0)]);
    relogin_at_next(&mut c);
    assert_eq!(c.state.user(), Some(&name("alice")));
}

#[test]
fn a_script_with_one_server_still_ends_when_it_is_lost() {
    let mut c = Client::online("alice");
    c.event(Event::Server(ServerEvent::Closed));
    assert_eq!(c.exit, Some(Exit::ConnectionLost));
    assert!(c.server_conns.is_empty());
}

/// alice at a terminal with one server, logged in.
fn at_a_terminal_alone() -> Client {
    let mut config = Config::new(P2P_PORT);
    config.servers = vec!["a:1".into()];
    config.interactive = true;
    let mut c = Client::with_config(config);
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("alice");
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.typed(SECRET);
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    c.clear();
    c
}

#[test]
fn at_a_terminal_a_lone_server_is_reconnected_to_with_backoff() {
    let mut c = at_a_terminal_alone();
    c.event(Event::Server(ServerEvent::Closed));
    assert_eq!(c.exit, None);
    assert_eq!(c.server_conns, [Some(0)], "at once, the same server");
    let w = warnings(&mut c);
    assert!(
        w[0].contains("Lost the connection to a:1; reconnecting"),
        "{w:?}"
    );
    // It is down: one second, then two, then four...
    let mut waits = Vec::new();
    for _ in 0..4 {
        c.server_conns.clear();
        c.event(Event::Server(ServerEvent::ConnectFailed {
            error: "connection refused",
        }));
        let start = c.now;
        while !c.server_conns.contains(&Some(0)) {
            c.advance_secs(1);
        }
        waits.push(c.now.millis_since(start) / 1000);
    }
    // (Each shortened by up to a quarter: jitter.)
    for (wait, base) in waits.iter().zip([1, 2, 4, 8]) {
        assert!((base * 3 / 4..=base).contains(wait), "{waits:?}");
    }
    let w = warnings(&mut c);
    assert_eq!(
        w,
        ["Could not log in again at a:1 (connection refused); trying again in 1 s."],
        "the reason said once, and the same failure not again within minutes"
    );
    relogin_at_next(&mut c);
    assert_eq!(c.state.user(), Some(&name("alice")));
    assert_eq!(
        warnings(&mut c),
        ["Reconnected to a:1; logged in again as alice."]
    );
    // The command prompt never went away: it is not asked for twice.
    assert!(c.reads.is_empty(), "{:?}", c.reads);
}

#[test]
fn the_password_goes_by_itself_only_to_a_server_that_proved_who_it_is() {
    let mut c = at_a_terminal_alone();
    c.event(Event::Server(ServerEvent::Closed));
    // Plain text, or a certificate met for the first time: nothing proves it is the same server.
    c.event(Event::Server(ServerEvent::Connected));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.server(ServerMsg::Prompt(Prompt::Password));
    assert_eq!(c.take_sent(), ["alice"], "the username, not the password");
    assert_eq!(
        c.reads.last(),
        Some(&InputMode::Password),
        "the user is asked"
    );
    let w = warnings(&mut c);
    assert!(
        w.iter().any(|w| w.contains("not sent to it by itself")),
        "{w:?}"
    );
    c.typed(SECRET);
    assert_eq!(c.take_sent(), [SECRET], "typed by the user, it goes");
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    assert_eq!(c.state.user(), Some(&name("alice")));
}

#[test]
fn a_script_is_never_asked_for_a_password_it_cannot_type() {
    let mut c = on_two_servers();
    c.event(Event::Server(ServerEvent::Closed));
    c.event(Event::Server(ServerEvent::Connected));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.server(ServerMsg::Prompt(Prompt::Password));
    assert_eq!(c.take_sent(), ["alice"]);
    assert_eq!(c.exit, Some(Exit::ConnectionLost));
    assert!(
        c.shown
            .contains(&client_error(ClientError::ReloginNeedsUser {
                server: "b:2".into()
            }))
    );
}

#[test]
fn a_changed_certificate_stops_the_relogin_and_asks_the_user() {
    let mut c = at_a_terminal_alone();
    c.event(Event::Server(ServerEvent::Closed));
    c.clear();
    c.event(Event::Server(ServerEvent::Untrusted {
        error: "the server at a:1 presented a different certificate",
        presented: Some("SHA256:NEW"),
    }));
    assert_eq!(c.exit, None);
    assert_eq!(
        c.reads,
        [InputMode::TrustCertificate {
            server: "a:1".into(),
            fingerprint: "SHA256:NEW".into()
        }]
    );
    c.advance_secs(60);
    assert!(
        !c.server_conns.contains(&Some(0)),
        "not tried again by itself: {:?}",
        c.server_conns
    );
    c.typed("yes");
    assert_eq!(c.server_conns.last(), Some(&Some(0)));
    assert_eq!(
        c.accepted_certs.last(),
        Some(&Some("SHA256:NEW".to_owned()))
    );
    relogin_at_next(&mut c);
    assert_eq!(c.state.user(), Some(&name("alice")));

    // Saying no ends it.
    let mut c = at_a_terminal_alone();
    c.event(Event::Server(ServerEvent::Closed));
    c.event(Event::Server(ServerEvent::Untrusted {
        error: "changed",
        presented: Some("SHA256:NEW"),
    }));
    c.typed("no");
    assert_eq!(c.exit, Some(Exit::ConnectionLost));
}

#[test]
fn a_changed_certificate_at_one_node_moves_on_to_the_others() {
    let mut c = on_two_servers();
    c.event(Event::Server(ServerEvent::Closed));
    c.clear();
    c.event(Event::Server(ServerEvent::Untrusted {
        error: "changed",
        presented: Some("SHA256:NEW"),
    }));
    assert!(c.reads.is_empty(), "another node may serve");
    c.advance_secs(2);
    assert_eq!(c.server_conns.last(), Some(&Some(0)));
    // a:1 is down too: b:2 is not tried again without the user.
    c.event(Event::Server(ServerEvent::ConnectFailed {
        error: "refused",
    }));
    c.advance_secs(10);
    assert!(
        c.server_conns.iter().all(|s| *s != Some(1)),
        "{:?}",
        c.server_conns
    );
}

#[test]
fn the_kept_password_is_never_shown() {
    let mut c = on_two_servers();
    c.event(Event::Server(ServerEvent::Closed));
    c.event(Event::Server(ServerEvent::ConnectFailed {
        error: "refused",
    }));
    c.advance_secs(0);
    relogin_at_next(&mut c);
    let shown = format!("{:?}", c.shown);
    assert!(!shown.contains(SECRET), "{shown}");
}

/// The answers on a new connection are to the lines sent on it: a message sent on the connection
/// lost, whose answer never came, is said to be unconfirmed (not left waiting, to be settled by
/// the answer to a later message to the same user, which showed it delivered when it may never
/// have reached the server), and the later message gets its own answer.
#[test]
fn an_answer_on_the_next_connection_settles_only_a_message_sent_on_it() {
    let mut config = Config::new(P2P_PORT);
    config.servers = vec!["a:1".into(), "b:2".into()];
    config.echo_own = true;
    let mut c = Client::with_config(config);
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("alice");
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.typed(SECRET);
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    c.clear();
    let outgoing = |c: &mut Client| {
        c.take_shown()
            .into_iter()
            .find_map(|i| match i {
                Item::Outgoing { seq, .. } => Some(seq),
                _ => None,
            })
            .expect("the message shown as sent")
    };
    c.typed("message bob first");
    let first = outgoing(&mut c);
    c.event(Event::Server(ServerEvent::Closed));
    let shown = c.take_shown();
    assert!(
        shown.contains(&Item::Outcome {
            seq: first,
            outcome: crate::client::Outcome::Unconfirmed
        }),
        "{shown:?}"
    );
    assert!(
        shown.iter().any(|i| matches!(i, Item::Warning(w)
            if w.contains("before the server answered 1 of your messages (to bob)"))),
        "{shown:?}"
    );
    relogin_at_next(&mut c);
    c.clear();
    c.typed("message bob second");
    let second = outgoing(&mut c);
    c.server(ServerMsg::Delivered {
        id: 7,
        to: name("bob"),
    });
    assert_eq!(
        c.take_shown(),
        vec![Item::Outcome {
            seq: second,
            outcome: crate::client::Outcome::Delivered
        }],
        "the answer settles the message sent on this connection, and nothing else"
    );
}
