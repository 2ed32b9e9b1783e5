//! The delivery queue: a mailbox written as the client reads (a window at a time), live messages kept
//! until the client acknowledges them, and what a sender with receipts is told when.

use super::*;
use crate::protocol::render_line;
use crate::server::harness::START;
use crate::server::outbox::OutboxConfig;
use crate::server::{Effect, Event, Record};
use crate::time::Timestamp;

/// The lines that carry messages, as `(id, text)`.
fn mail(got: &[ServerMsg]) -> Vec<(u64, String)> {
    got.iter()
        .filter_map(|m| match m {
            ServerMsg::Message { id, text, .. }
            | ServerMsg::GroupMessage { id, text, .. }
            | ServerMsg::OfflineMessage { id, text, .. } => Some((*id, text.clone())),
            _ => None,
        })
        .collect()
}

fn bytes(got: &[ServerMsg]) -> usize {
    got.iter().map(|m| render_line(m).len()).sum()
}

fn live(id: u64, sent_at: Timestamp, from: &str, text: &str) -> ServerMsg {
    ServerMsg::Message {
        id,
        sent_at,
        from: name(from),
        text: text.into(),
    }
}

/// Logs in on a connection whose client reads nothing until told (`Event::Drained` by hand).
fn login_stalled(h: &mut Harness, user: &str, password: &str) -> crate::server::ConnId {
    let c = h.connect();
    h.stall_reader(c);
    h.send(c, user);
    h.send(c, password);
    c
}

/// Four senders fill offline bob's mailbox with 250 messages of about 330 bytes each (the default
/// limits): at login bob gets his welcome and at most a window of them, the next window each time his
/// connection drains, all in order, never more than a window waiting; and once his client has
/// acknowledged them, new mail is accepted again. (Before, the whole mailbox was written at once,
/// past what a client may have waiting, and bob was dropped as a slow reader at every login.)
#[test]
fn a_full_mailbox_is_written_a_window_at_a_time_as_the_client_reads() {
    let accounts = [
        ("bob", "bpw"),
        ("s0", "p0"),
        ("s1", "p1"),
        ("s2", "p2"),
        ("s3", "p3"),
    ];
    let cfg = Config::default().unlimited();
    let window = cfg.mail_window;
    let mut h = Harness::new(cfg, &accounts);
    let text = |s: usize, i: usize| format!("{s}:{i:03} {}", "x".repeat(320));
    for s in 0..4 {
        let c = h.login(&format!("s{s}"), &format!("p{s}"));
        for i in 0..250 {
            h.send(c, &format!("message bob {}", text(s, i)));
            assert!(matches!(h.take(c)[..], [ServerMsg::Stored { .. }]));
        }
        h.send(c, "logout");
    }
    assert_eq!(h.state().stored_messages("bob").len(), 1000);
    h.clear_all();
    let bob = login_stalled(&mut h, "bob", "bpw");
    h.send(bob, "acks on");
    let got = h.take(bob);
    let welcome = got
        .iter()
        .position(|m| matches!(m, ServerMsg::Welcome { .. }))
        .expect("welcomed");
    let got = got[welcome..].to_vec();
    let largest = render_line(&got[1]).len();
    let mut received = mail(&got);
    assert!(!received.is_empty() && received.len() < 1000);
    assert!(bytes(&got[1..]) <= window + largest, "a window at login");
    let mut drains = 0;
    while received.len() < 1000 {
        h.event(Event::Drained { conn: bob });
        drains += 1;
        let got = h.take(bob);
        assert!(!got.is_empty(), "a drain releases the next window");
        assert!(bytes(&got) <= window + largest, "never more than a window");
        received.extend(mail(&got));
        assert!(!h.is_closed(bob));
        assert!(drains < 100);
    }
    let want: Vec<u64> = (1..=1000).collect();
    assert_eq!(received.iter().map(|(id, _)| *id).collect::<Vec<_>>(), want);
    assert_eq!(received[250].1, text(1, 0), "in the order they were sent");
    // Full: a new message is refused (to the sender, not by dropping bob) until bob's client has
    // acknowledged what it was sent.
    let s0 = h.login("s0", "p0");
    h.send(s0, "message bob one more");
    assert_eq!(
        h.take(s0),
        vec![err(ErrorReply::RecipientBusy { user: name("bob") })]
    );
    h.send(bob, "ack 1000");
    assert!(h.state().stored_messages("bob").is_empty());
    assert!(h.records().contains(&Record::MessagesAcked {
        user: name("bob"),
        up_to: 1000
    }));
    h.send(s0, "message bob one more");
    assert!(h.take(s0).is_empty());
    h.event(Event::Drained { conn: bob });
    assert_eq!(mail(&h.take(bob)), vec![(1001, "one more".into())]);
    assert!(!h.is_closed(bob));
}

/// A client that acknowledges: the sender hears `SENT` at once, `DELIVERED` only when the recipient's
/// client has acknowledged the message, and one `ack` covers everything up to it.
#[test]
fn delivered_is_said_only_once_the_recipient_acknowledges() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(alice, "receipts on");
    h.send(bob, "acks on");
    h.clear_all();
    h.send(alice, "message bob one");
    h.send(alice, "message bob two");
    assert_eq!(
        h.take(alice),
        vec![
            ServerMsg::Sent {
                id: 1,
                to: name("bob")
            },
            ServerMsg::Sent {
                id: 2,
                to: name("bob")
            }
        ]
    );
    assert_eq!(
        h.take(bob),
        vec![
            live(1, START, "alice", "one"),
            live(2, START, "alice", "two")
        ]
    );
    h.send(bob, "ack 2");
    assert_eq!(h.take(bob), vec![], "an acknowledgement has no reply");
    assert_eq!(
        h.take(alice),
        vec![
            ServerMsg::Delivered {
                id: 1,
                to: name("bob")
            },
            ServerMsg::Delivered {
                id: 2,
                to: name("bob")
            }
        ]
    );
    assert!(
        !h.records().iter().any(|r| matches!(
            r,
            Record::MessageStored { .. } | Record::MessagesAcked { .. }
        )),
        "a live message delivered is never stored"
    );
    // Nothing more to acknowledge; an id not sent on this connection is refused.
    h.send(bob, "ack 3");
    assert_eq!(h.take(bob), vec![err(ErrorReply::BadAck { id: 3 })]);
}

/// A client that does not acknowledge (a person with `nc`): what is written is delivered.
#[test]
fn for_a_client_that_does_not_acknowledge_delivered_means_written() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(alice, "receipts on");
    h.send(bob, "acks off");
    h.clear_all();
    h.send(alice, "message bob hi");
    assert_eq!(h.take(bob), vec![live(1, START, "alice", "hi")]);
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Delivered {
            id: 1,
            to: name("bob")
        }]
    );
    // Written, so gone: nothing is stored when bob leaves.
    h.send(bob, "logout");
    assert!(h.state().stored_messages("bob").is_empty());
    assert!(
        h.take(alice)
            .iter()
            .all(|m| !matches!(m, ServerMsg::Stored { .. }))
    );
}

/// A session starts not knowing whether its client acknowledges: what is written before it says is
/// kept, and its first other command settles it (it does not).
#[test]
fn until_the_client_says_whether_it_acknowledges_nothing_written_counts_as_delivered() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(alice, "receipts on");
    h.clear_all();
    h.send(alice, "message bob early");
    assert_eq!(h.take(bob), vec![live(1, START, "alice", "early")]);
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Sent {
            id: 1,
            to: name("bob")
        }]
    );
    h.send(bob, "whoelse");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Delivered {
            id: 1,
            to: name("bob")
        }],
        "a command other than acks: bob's client does not acknowledge"
    );
}

/// The recipient's connection dies before its client acknowledged: every live message becomes a
/// stored one (same id, same send time), the sender is told `STORED` once that is durable, and the
/// next login delivers them exactly once, the same way as any stored message.
#[test]
fn what_was_not_acknowledged_when_the_session_ends_is_stored_for_the_next_login() {
    let mut h = harness().manual_commits(OutboxConfig::default());
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(alice, "receipts on");
    h.send(bob, "acks on");
    h.complete_commits();
    h.clear_all();
    h.send(alice, "message bob one");
    h.complete_commits();
    h.advance(10);
    h.send(alice, "message bob two");
    h.complete_commits();
    h.send(bob, "ack 1");
    h.complete_commits();
    h.clear_all();
    h.disconnect(bob);
    assert!(
        h.take(alice).is_empty(),
        "STORED waits until the message is durable"
    );
    h.complete_commits();
    assert_eq!(
        h.take(alice),
        vec![
            ServerMsg::Stored {
                id: 2,
                to: name("bob")
            },
            offline("bob")
        ]
    );
    assert!(h.durable_records().contains(&Record::MessageStored {
        id: 2,
        to: name("bob"),
        from: name("alice"),
        group: None,
        sent_at: START.plus_millis(10),
        text: "two".into(),
    }));
    let bob = h.connect();
    h.send(bob, "bob");
    h.send(bob, "bpw");
    h.complete_commits();
    let got: Vec<ServerMsg> = h
        .take(bob)
        .into_iter()
        .skip_while(|m| !matches!(m, ServerMsg::Welcome { .. }))
        .collect();
    assert_eq!(
        got[1..2],
        [ServerMsg::OfflineMessage {
            id: 2,
            sent_at: START.plus_millis(10),
            from: name("alice"),
            group: None,
            text: "two".into()
        }]
    );
    assert_eq!(
        mail(&got).len(),
        1,
        "the acknowledged one is not sent again"
    );
}

/// A shutdown ends every session: what was not acknowledged is stored, not lost.
#[test]
fn a_shutdown_stores_what_was_not_acknowledged() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(bob, "acks on");
    h.send(alice, "message bob before the stop");
    h.shutdown();
    assert_eq!(h.state().stored_messages("bob").len(), 1);
    assert!(
        h.records()
            .iter()
            .any(|r| matches!(r, Record::MessageStored { id: 1, .. }))
    );
}

/// Turning acknowledgements off delivers what was written and not acknowledged.
#[test]
fn acks_off_delivers_what_was_written() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(alice, "receipts on");
    h.send(bob, "acks on");
    h.send(alice, "message bob hi");
    h.clear_all();
    h.send(bob, "acks off");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Delivered {
            id: 1,
            to: name("bob")
        }]
    );
    h.send(bob, "logout");
    assert!(h.state().stored_messages("bob").is_empty());
}

/// One id for a group message, whoever gets it; rendered once for everyone it is written to now; a
/// member whose connection is still busy gets it in turn, after what was waiting before it.
#[test]
fn a_group_message_has_one_id_and_waits_its_turn_where_mail_is_waiting() {
    let cfg = Config {
        mail_window: 300,
        mailbox_limit: 20,
        ..config()
    };
    let mut h = Harness::new(cfg, ACCOUNTS).keep_trace();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = login_stalled(&mut h, "carol", "cpw");
    for c in [bob, carol] {
        h.send(c, "acks on");
    }
    group_with(&mut h, alice, "team", &["bob", "carol", "dave"]);
    // carol's window fills with what alice sends her directly.
    for i in 0..4 {
        h.send(
            alice,
            &format!("message carol filler {i} {}", "y".repeat(60)),
        );
    }
    let before = mail(&h.take(carol)).len();
    assert!(before < 4, "{before} written, the rest waits");
    h.clear_all();
    h.trace.clear();
    h.send(alice, "message group team hello");
    let id = 5;
    let group_lines: Vec<&Effect> = h
        .trace
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::SendMany {
                    msg: ServerMsg::GroupMessage { .. },
                    ..
                } | Effect::Send {
                    msg: ServerMsg::GroupMessage { .. },
                    ..
                }
            )
        })
        .collect();
    assert_eq!(
        group_lines,
        vec![&Effect::SendMany {
            to: vec![bob],
            msg: ServerMsg::GroupMessage {
                id,
                sent_at: START,
                group: name("team"),
                from: name("alice"),
                text: "hello".into()
            }
        }],
        "once, for those it can be written to now"
    );
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::GroupSent {
            group: name("team"),
            delivered: 2,
            stored: 1,
            skipped: false
        }]
    );
    let dave_copy = h.state().stored_messages("dave");
    assert_eq!(dave_copy.len(), 1);
    assert_eq!(dave_copy[0].id, id, "the same id for the stored copy");
    let mut carol_got = Vec::new();
    for _ in 0..5 {
        h.event(Event::Drained { conn: carol });
        carol_got.extend(mail(&h.take(carol)));
    }
    let ids: Vec<u64> = carol_got.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids.last(),
        Some(&id),
        "after what waited before it: {ids:?}"
    );
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

/// Blocking a sender drops what they sent that waits in the queue, written or not: nothing of them
/// reaches the blocker afterwards.
#[test]
fn blocking_drops_what_the_blocked_user_queued() {
    let cfg = Config {
        mail_window: 150,
        ..config()
    };
    let mut h = Harness::new(cfg, ACCOUNTS);
    let alice = h.login("alice", "apw");
    let bob = login_stalled(&mut h, "bob", "bpw");
    h.send(bob, "acks on");
    for i in 0..3 {
        h.send(alice, &format!("message bob m{i} {}", "z".repeat(50)));
    }
    assert_eq!(mail(&h.take(bob)).len(), 2, "two written, one waiting");
    h.send(bob, "block alice");
    h.event(Event::Drained { conn: bob });
    assert!(mail(&h.take(bob)).is_empty());
    h.send(bob, "logout");
    assert!(h.state().stored_messages("bob").is_empty());
}

/// `offline` can list as many messages as a mailbox holds: they go through the window too.
#[test]
fn offline_is_written_a_window_at_a_time() {
    let cfg = Config {
        mail_window: 200,
        mailbox_limit: 10,
        ..config()
    };
    let mut h = Harness::new(cfg, ACCOUNTS);
    let alice = h.login("alice", "apw");
    for i in 0..6 {
        h.send(alice, &format!("message bob stored {i}"));
    }
    let bob = login_stalled(&mut h, "bob", "bpw");
    h.send(bob, "acks on");
    while h
        .take(bob)
        .iter()
        .any(|m| matches!(m, ServerMsg::OfflineMessage { .. }))
    {
        h.event(Event::Drained { conn: bob });
    }
    h.send(bob, "offline");
    let got = h.take(bob);
    assert_eq!(got[0], ServerMsg::OfflineList { count: 6 });
    let mut again = got.len() - 1;
    assert!(again < 6, "{again}: only a window");
    for _ in 0..6 {
        h.event(Event::Drained { conn: bob });
        again += h
            .take(bob)
            .iter()
            .filter(|m| matches!(m, ServerMsg::OfflineAgain { .. }))
            .count();
    }
    assert_eq!(again, 6);
}

/// Every message id that leaves the server is below a reserved block that is durable first, so ids
/// keep growing across a crash even though live messages are never stored.
#[test]
fn message_ids_are_reserved_durably_before_any_line_carries_one() {
    let mut h = harness().manual_commits(OutboxConfig::default());
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.complete_commits();
    h.clear_all();
    h.send(alice, "message bob first");
    assert!(h.take(bob).is_empty(), "the line waits for the reservation");
    assert!(matches!(
        h.records().last(),
        Some(Record::MessageIdsReserved { below }) if *below > 1
    ));
    h.complete_commits();
    assert_eq!(mail(&h.take(bob)), vec![(1, "first".into())]);
    h.send(alice, "message bob second");
    assert_eq!(
        mail(&h.take(bob)),
        vec![(2, "second".into())],
        "the rest of the block needs no commit"
    );
    // A restart from what is durable starts past the block.
    let accounts = ACCOUNTS
        .iter()
        .map(|(u, p)| crate::server::Account {
            username: (*u).into(),
            password: (*p).into(),
        })
        .collect();
    let mut restored = crate::server::ServerState::new(config(), accounts, [1; 32]);
    restored.restore(h.durable_records().to_vec(), h.now());
    assert!(restored.next_message_id() > 2);
    assert_eq!(
        restored.durable_view().next_message_id,
        h.state().durable_view().next_message_id
    );
}

/// bob's mailbox is full (four senders, 250 each, sent within their rate) and flood control is on.
/// His client says `acks on`, acknowledges every message with a line of its own (as natter's client
/// once did), asks for receipts and registers its port: none of those bookkeeping lines is flooding,
/// so bob is never told to slow down, keeps every command of his burst, and stays online. (Before,
/// flood control counted each `ack`, and a full mailbox got its owner `BYE flood` at every login.)
#[test]
fn acknowledging_a_full_mailbox_line_by_line_is_not_flooding() {
    let accounts = [
        ("bob", "bpw"),
        ("s0", "p0"),
        ("s1", "p1"),
        ("s2", "p2"),
        ("s3", "p3"),
    ];
    let mut h = Harness::new(Config::default(), &accounts);
    let senders: Vec<_> = (0..4)
        .map(|s| h.login(&format!("s{s}"), &format!("p{s}")))
        .collect();
    for i in 0..250 {
        for &c in &senders {
            h.send(c, &format!("message bob {i}"));
        }
        h.advance(60);
    }
    for &c in &senders {
        h.send(c, "logout");
    }
    assert_eq!(h.state().stored_messages("bob").len(), 1000);
    h.advance_secs(5);
    let bob = h.connect();
    for line in ["bob", "bpw", "acks on", "receipts on", "p2pport 5000"] {
        h.send(bob, line);
    }
    let mut acked = 0;
    while acked < 1000 {
        let ids: Vec<u64> = mail(&h.take(bob)).into_iter().map(|(id, _)| id).collect();
        assert!(
            !ids.is_empty(),
            "the rest of the mailbox comes as bob reads"
        );
        for id in ids {
            h.send(bob, &format!("ack {id}"));
            acked += 1;
        }
    }
    for _ in 0..48 {
        h.send(bob, "whoelse");
    }
    let got = h.take(bob);
    let said = |prefix: &str| {
        got.iter()
            .filter(|m| render_line(m).starts_with(prefix.as_bytes()))
            .count()
    };
    assert_eq!(said("ERROR slow-down"), 0, "{got:?}");
    assert_eq!(said("WHOELSE"), 48, "every command of the burst, at once");
    assert!(!h.is_closed(bob));
    assert!(
        h.state().stored_messages("bob").is_empty(),
        "every ack was carried out"
    );
}
