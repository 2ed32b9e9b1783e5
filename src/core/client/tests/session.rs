//! The logged-in session: what is shown, what is sent, offline messages, and how it ends.

use super::*;
use crate::client::inbox::ACK_DELAY_MS;
use crate::protocol::{ByeReason, CommandName, ErrorReply};

#[test]
fn incoming_lines_become_typed_items() {
    let mut c = Client::online("alice");
    c.server(ServerMsg::Message {
        id: 3,
        sent_at: START,
        from: name("bob"),
        text: " hi  there ".into(),
    });
    c.server(ServerMsg::Broadcast {
        from: name("carol"),
        text: "all".into(),
    });
    c.server(ServerMsg::Presence {
        user: name("dave"),
        online: false,
    });
    assert_eq!(
        c.take_shown(),
        vec![
            Item::Server(ServerMsg::Message {
                id: 3,
                sent_at: START,
                from: name("bob"),
                text: " hi  there ".into()
            }),
            Item::Server(ServerMsg::Broadcast {
                from: name("carol"),
                text: "all".into()
            }),
            Item::Server(ServerMsg::Presence {
                user: name("dave"),
                online: false
            }),
        ]
    );
    let known: Vec<&str> = c.state.known_users().map(|n| &**n).collect();
    assert_eq!(known, vec!["bob", "carol", "dave"]);
}

#[test]
fn commands_are_sent_in_their_canonical_form() {
    let mut c = Client::online("alice");
    c.typed("  MESSAGE bob  spaced ");
    c.typed("whoelsesince 60");
    assert_eq!(
        c.take_sent(),
        vec!["message bob  spaced ", "whoelsesince 60"]
    );
}

#[test]
fn a_client_without_end_to_end_keys_opens_no_private_chat() {
    // This client has no keys to prove who its user is (none were loaded): a chat it could not
    // prove is one a server in the middle could read, so it is not even asked for.
    let mut c = Client::online("alice");
    for line in ["startprivate bob", "accept bob"] {
        c.typed(line);
        assert!(c.take_sent().is_empty(), "{line} was sent");
        assert!(
            c.take_shown()
                .contains(&Item::Error(ClientError::PrivateNeedsKeys {
                    user: name("bob")
                })),
            "{line}"
        );
    }
}

#[test]
fn usage_errors_are_local_and_read_like_the_servers() {
    let mut c = Client::online("alice");
    c.typed("message bob");
    c.typed("whoelsesince -1");
    c.typed("dance");
    c.typed("ack 4");
    c.typed("   ");
    assert!(c.sent.is_empty(), "{:?}", c.sent);
    assert_eq!(
        c.take_shown(),
        vec![
            Item::Server(ServerMsg::Error(ErrorReply::Usage {
                command: CommandName::Message
            })),
            Item::Server(ServerMsg::Error(ErrorReply::BadNumber {
                command: CommandName::WhoElseSince
            })),
            client_error(ClientError::UnknownCommand("dance".into())),
            client_error(ClientError::UnknownCommand("ack".into())),
        ]
    );
}

#[test]
fn help_is_answered_locally_and_includes_private() {
    let mut c = Client::online("alice");
    c.typed("help");
    assert!(c.sent.is_empty());
    let usages: Vec<&str> = c
        .shown
        .iter()
        .map(|i| match i {
            Item::Help { usage, .. } => *usage,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(usages.contains(&"private <user> <text>"));
    assert!(usages.contains(&"whoelsesince <seconds>"));
    assert!(!usages.iter().any(|u| u.starts_with("ack")));
}

#[test]
fn offline_message_is_shown_remembered_then_acknowledged() {
    let mut c = Client::online("alice");
    let sent_at = START.minus_millis(120_000);
    c.server(ServerMsg::OfflineMessage {
        group: None,
        id: 7,
        sent_at,
        from: name("bob"),
        text: "while you were out".into(),
    });
    assert_eq!(
        c.take_shown(),
        vec![Item::Offline {
            group: None,
            from: name("bob"),
            text: "while you were out".into(),
            age_secs: 120
        }]
    );
    assert!(
        c.take_sent().is_empty(),
        "acknowledged with what comes next"
    );
    c.advance_ms(ACK_DELAY_MS);
    assert_eq!(c.saved, vec![(name("alice"), Seen { id: 7, sent_at })]);
    assert_eq!(c.take_sent(), vec!["ack 7"]);
}

/// A live message is shown and acknowledged like a stored one, and a whole batch of lines costs one
/// `ack`, sent only once what was shown is saved.
#[test]
fn live_messages_are_acknowledged_once_per_batch_after_being_remembered() {
    let mut c = Client::online("alice");
    for id in 10..15 {
        c.server(ServerMsg::Message {
            id,
            sent_at: START.plus_millis(id),
            from: name("bob"),
            text: format!("m{id}"),
        });
    }
    c.server(ServerMsg::GroupMessage {
        id: 15,
        sent_at: START.plus_millis(15),
        group: name("team"),
        from: name("carol"),
        text: "to all".into(),
    });
    assert_eq!(c.take_shown().len(), 6);
    assert!(c.sent.is_empty() && c.saved.is_empty());
    c.advance_ms(ACK_DELAY_MS);
    let seen = Seen {
        id: 15,
        sent_at: START.plus_millis(15),
    };
    assert_eq!(c.saved, vec![(name("alice"), seen)]);
    assert_eq!(c.take_sent(), vec!["ack 15"]);
    c.advance_ms(10 * ACK_DELAY_MS);
    assert!(
        c.take_sent().is_empty(),
        "nothing new, nothing to acknowledge"
    );
}

/// The session ended before the client's `ack` reached the server: what was shown live comes again,
/// stored, at the next login, and is acknowledged without being shown twice.
#[test]
fn a_live_message_shown_before_the_connection_died_is_not_shown_again() {
    let mut c = Client::online("alice");
    let sent_at = START.plus_millis(3);
    c.server(ServerMsg::Message {
        id: 21,
        sent_at,
        from: name("bob"),
        text: "are you there?".into(),
    });
    assert_eq!(c.take_shown().len(), 1);
    c.event(Event::Server(ServerEvent::Closed));
    assert_eq!(c.saved, vec![(name("alice"), Seen { id: 21, sent_at })]);
    let seen = c.state.seen().clone();
    let mut config = Config::new(P2P_PORT);
    config.seen = seen;
    let mut again = Client::with_config(config);
    again.login("alice");
    again.clear();
    again.server(ServerMsg::OfflineMessage {
        group: None,
        id: 21,
        sent_at,
        from: name("bob"),
        text: "are you there?".into(),
    });
    assert!(again.take_shown().is_empty(), "already shown");
    again.advance_ms(ACK_DELAY_MS);
    assert_eq!(again.take_sent(), vec!["ack 21"]);
}

/// Logging out acknowledges first what was shown, or it would all come again at the next login.
#[test]
fn logout_acknowledges_what_was_shown_first() {
    let mut c = Client::online("alice");
    c.server(ServerMsg::Message {
        id: 4,
        sent_at: START,
        from: name("bob"),
        text: "bye?".into(),
    });
    c.typed("logout");
    assert_eq!(c.take_sent(), vec!["ack 4", "logout"]);
}

#[test]
fn a_redelivery_after_a_server_crash_is_acknowledged_but_not_shown_again() {
    let mut config = Config::new(P2P_PORT);
    let sent_at = START.minus_millis(5_000);
    config.seen.insert(name("alice"), Seen { id: 7, sent_at });
    let mut c = Client::with_config(config);
    c.login("alice");
    c.clear();
    for (id, at) in [(6, sent_at.minus_millis(10)), (7, sent_at)] {
        c.server(ServerMsg::OfflineMessage {
            group: None,
            id,
            sent_at: at,
            from: name("bob"),
            text: "old".into(),
        });
    }
    assert!(c.take_shown().is_empty());
    c.advance_ms(ACK_DELAY_MS);
    assert!(c.saved.is_empty());
    assert_eq!(c.take_sent(), vec!["ack 7"]);
    // A newer one is shown.
    c.server(ServerMsg::OfflineMessage {
        group: None,
        id: 8,
        sent_at: START,
        from: name("bob"),
        text: "new".into(),
    });
    assert_eq!(c.take_shown().len(), 1);
    // So is one from a server that lost its store and numbers from 1 again: it was sent later.
    c.server(ServerMsg::OfflineMessage {
        group: None,
        id: 1,
        sent_at: START.plus_millis(1),
        from: name("carol"),
        text: "fresh start".into(),
    });
    assert_eq!(c.take_shown().len(), 1);
}

#[test]
fn remembered_ids_are_per_user() {
    let mut config = Config::new(P2P_PORT);
    config.seen.insert(
        name("bob"),
        Seen {
            id: 50,
            sent_at: START,
        },
    );
    let mut c = Client::with_config(config);
    c.login("alice");
    c.clear();
    c.server(ServerMsg::OfflineMessage {
        group: None,
        id: 3,
        sent_at: START.minus_millis(1),
        from: name("bob"),
        text: "for alice".into(),
    });
    assert_eq!(c.take_shown().len(), 1);
}

#[test]
fn logout_waits_for_the_goodbye() {
    let mut c = Client::online("alice");
    c.typed("logout");
    assert_eq!(c.take_sent(), vec!["logout"]);
    assert_eq!(c.exit, None);
    c.typed("whoelse");
    assert!(c.sent.is_empty(), "nothing more is sent while logging out");
    c.server(ServerMsg::Bye(ByeReason::Logout));
    assert_eq!(c.exit, Some(Exit::LoggedOut));
    assert_eq!(Exit::LoggedOut.code(), 0);
}

#[test]
fn ctrl_d_and_ctrl_c_log_out_cleanly() {
    for ev in [UserEvent::Eof, UserEvent::Interrupt] {
        let mut c = Client::online("alice");
        c.event(Event::User(ev));
        assert_eq!(c.take_sent(), vec!["logout"]);
        // The server closes after its goodbye; either way the client ends as logged out.
        c.event(Event::Server(ServerEvent::Closed));
        assert_eq!(c.exit, Some(Exit::LoggedOut));
    }
}

#[test]
fn a_server_that_never_confirms_the_logout_does_not_hang_the_client() {
    let mut c = Client::online("alice");
    c.typed("logout");
    c.advance_secs(4);
    assert_eq!(c.exit, None);
    // A line from the server (an answer to a command sent before the logout) starts the grace
    // period again: it is still working through them.
    c.server(ServerMsg::WhoElse { users: vec![] });
    c.advance_secs(4);
    assert_eq!(c.exit, None);
    c.advance_secs(1);
    // Not a clean logout: what was sent last may not have been done.
    assert_eq!(c.exit, Some(Exit::ConnectionLost));
    assert!(
        c.shown
            .contains(&client_error(ClientError::LogoutUnconfirmed))
    );
}

#[test]
fn idle_timeout_and_shutdown_say_so_and_exit() {
    for reason in [ByeReason::Timeout { secs: 600 }, ByeReason::Shutdown] {
        let mut c = Client::online("alice");
        c.server(ServerMsg::Bye(reason));
        assert_eq!(c.take_shown(), vec![Item::Server(ServerMsg::Bye(reason))]);
        assert_eq!(c.exit, Some(Exit::EndedByServer));
    }
}

#[test]
fn losing_the_server_is_an_error_exit() {
    let mut c = Client::online("alice");
    c.event(Event::Server(ServerEvent::Closed));
    assert_eq!(c.take_shown(), vec![client_error(ClientError::ServerLost)]);
    assert_eq!(c.exit, Some(Exit::ConnectionLost));
    // Nothing happens after the exit.
    c.server(ServerMsg::Message {
        id: 1,
        sent_at: START,
        from: name("bob"),
        text: "late".into(),
    });
    assert!(c.shown.is_empty());
}

/// A client that shows the user's own messages (the full-screen one) asks for receipts, shows each
/// message as sent and then what became of it.
#[test]
fn own_messages_are_shown_as_sent_then_delivered_stored_or_refused() {
    let mut config = Config::new(P2P_PORT);
    config.echo_own = true;
    let mut c = Client::with_config(config);
    c.login("alice");
    assert!(c.sent.contains(&"receipts on".to_string()), "{:?}", c.sent);
    c.clear();
    c.typed("/msg bob hi");
    c.typed("message carol later");
    c.typed("message group team all");
    c.typed("message dave no");
    let shown = c.take_shown();
    let seqs: Vec<u64> = shown
        .iter()
        .map(|i| match i {
            Item::Outgoing { seq, .. } => *seq,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(seqs.len(), 4);
    assert_eq!(
        shown[0],
        Item::Outgoing {
            seq: seqs[0],
            to: crate::client::Conversation::User(name("bob")),
            text: "hi".into()
        }
    );
    c.server(ServerMsg::Stored {
        id: 3,
        to: name("carol"),
    });
    c.server(ServerMsg::Sent {
        id: 4,
        to: name("bob"),
    });
    c.server(ServerMsg::Error(ErrorReply::BlockedBy {
        user: name("dave"),
    }));
    c.server(ServerMsg::GroupSent {
        group: name("team"),
        delivered: 2,
        stored: 0,
        skipped: false,
    });
    let outcomes: Vec<(u64, crate::client::Outcome)> = c
        .take_shown()
        .into_iter()
        .filter_map(|i| match i {
            Item::Outcome { seq, outcome } => Some((seq, outcome)),
            _ => None,
        })
        .collect();
    use crate::client::Outcome::*;
    assert_eq!(
        outcomes,
        vec![
            (seqs[1], Stored),
            (seqs[0], Sent),
            (seqs[3], Failed),
            (seqs[2], Sent)
        ]
    );
    // bob's client has it: the queued message is settled again, by its id.
    c.server(ServerMsg::Delivered {
        id: 4,
        to: name("bob"),
    });
    assert_eq!(
        c.take_shown(),
        vec![Item::Outcome {
            seq: seqs[0],
            outcome: Delivered
        }]
    );
}

#[test]
fn each_command_is_read_when_asked_for_and_none_after_logout() {
    let mut c = Client::online("alice");
    let prompt = InputMode::Command {
        user: name("alice"),
    };
    c.typed("whoelse");
    assert_eq!(
        c.reads,
        std::slice::from_ref(&prompt),
        "the next line is asked for"
    );
    c.reads.clear();
    c.typed("no such thing");
    assert_eq!(c.reads, [prompt], "and after an error too");
    c.reads.clear();
    c.typed("logout");
    assert!(
        c.reads.is_empty(),
        "no prompt before the goodbye: {:?}",
        c.reads
    );
    c.server(ServerMsg::Bye(crate::protocol::ByeReason::Logout));
    assert_eq!(c.exit, Some(Exit::LoggedOut));
}

#[test]
fn a_long_line_goes_as_several_messages_cut_at_word_boundaries_in_order() {
    let mut c = Client::online("alice");
    let words: Vec<String> = (0..4_000).map(|i| format!("w{i}")).collect();
    let text = words.join(" ");
    assert!(text.len() > 20_000);
    c.typed(&format!("message bob {text}"));
    let sent = c.take_sent();
    assert_eq!(sent.len(), 3, "as many messages as it takes");
    assert!(sent.iter().all(|l| l.len() <= crate::protocol::MAX_LINE));
    let said: Vec<&str> = sent
        .iter()
        .map(|l| l.strip_prefix("message bob ").unwrap())
        .collect();
    assert_eq!(said.join(" "), text, "every word, in order, none cut");
    assert!(c.take_shown().is_empty());
    // An action stays one in every piece.
    c.typed(&format!("message bob /me {text}"));
    let sent = c.take_sent();
    assert!(
        sent.iter().all(|l| l.starts_with("message bob /me w")),
        "{sent:?}"
    );
    // The refusal, when there is one (no room at all), names the limit and never quotes the text.
    let refusal = ClientError::MessageTooLong {
        limit: 8192,
        len: 9012,
    }
    .to_string();
    assert!(refusal.contains("at most 8192 bytes"), "{refusal}");
}

#[test]
fn several_lines_pasted_into_one_are_refused_clearly() {
    let mut c = Client::online("alice");
    c.typed("message bob one\nlogout");
    assert!(c.take_sent().is_empty());
    assert_eq!(c.take_shown(), [client_error(ClientError::SeveralLines(2))]);
    assert!(c.state.user().is_some());
}
