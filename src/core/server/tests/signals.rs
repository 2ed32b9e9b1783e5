//! Signals (`signal`, `signal group`): what is no message reaches the recipients online under the
//! rules of a message (a group's members only, not those who blocked the sender, the sender's flood
//! budget) and is never kept.

use super::*;
use crate::protocol::render_line;

fn signal(id: u64, from: &str, tags: &str, sent_at: crate::time::Timestamp) -> ServerMsg {
    ServerMsg::Signal {
        id,
        sent_at,
        from: name(from),
        tags: tags.to_owned(),
    }
}

#[test]
fn a_signal_reaches_an_online_user_and_its_sender_hears_nothing() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.clear_all();
    h.send(alice, "signal bob typing=active");
    let got = h.take(bob);
    assert_eq!(got.len(), 1, "{got:?}");
    let ServerMsg::Signal { id, sent_at, .. } = got[0] else {
        panic!("{got:?}");
    };
    assert_eq!(got[0], signal(id, "alice", "typing=active", sent_at));
    assert_eq!(sent_at, h.now());
    assert_eq!(
        String::from_utf8(render_line(&got[0])).unwrap(),
        format!("SIGNAL {id} {} alice typing=active\n", sent_at.as_millis())
    );
    assert_eq!(h.take(alice), vec![]);
}

#[test]
fn a_signal_to_an_offline_user_is_dropped_and_never_stored() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.clear_all();
    h.send(alice, "signal bob typing=active");
    assert_eq!(h.take(alice), vec![]);
    assert!(h.state().stored_messages("bob").is_empty());
    let bob = h.login("bob", "bpw");
    let got = h.take(bob);
    assert!(
        !got.iter().any(|m| matches!(
            m,
            ServerMsg::Signal { .. } | ServerMsg::OfflineMessage { .. }
        )),
        "{got:?}"
    );
}

#[test]
fn a_blocked_sender_s_signal_is_dropped_silently() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.send(bob, "block alice");
    h.clear_all();
    h.send(alice, "signal bob typing=active");
    assert_eq!(h.take(alice), vec![], "not even told of the block");
    assert_eq!(h.take(bob), vec![]);
}

#[test]
fn what_could_never_be_delivered_is_refused() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    h.clear_all();
    h.send(alice, "signal nobody typing=active");
    h.send(alice, "signal bob +typing=active");
    h.send(alice, "signal bob typing=a;");
    h.send(alice, "signal alice typing=active");
    h.send(alice, "signal bob");
    assert_eq!(
        h.take(alice),
        vec![
            err(ErrorReply::NoSuchUser {
                user: "nobody".into()
            }),
            err(ErrorReply::BadSignal),
            err(ErrorReply::BadSignal),
            err(ErrorReply::NotYourself {
                command: crate::protocol::CommandName::Signal
            }),
            err(ErrorReply::Usage {
                command: crate::protocol::CommandName::Signal
            }),
        ]
    );
}

#[test]
fn a_group_signal_reaches_its_online_members_but_blockers_and_no_one_else() {
    let mut h = harness();
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    let dave = h.login("dave", "dpw");
    group_with(&mut h, alice, "team", &["bob", "carol"]);
    h.send(carol, "block alice");
    h.clear_all();
    h.send(alice, "signal group team typing=paused");
    assert_eq!(h.take(alice), vec![]);
    let got = h.take(bob);
    assert!(
        matches!(&got[..], [ServerMsg::GroupSignal { group, from, tags, .. }]
            if **group == *"team" && **from == *"alice" && tags == "typing=paused"),
        "{got:?}"
    );
    assert_eq!(h.take(carol), vec![], "carol blocks alice");
    assert_eq!(h.take(dave), vec![], "dave is no member");
    // A non-member may not signal the group, nor anyone a group that does not exist.
    h.send(dave, "signal group team typing=active");
    h.send(dave, "signal group nope typing=active");
    assert_eq!(
        h.take(dave),
        vec![
            err(ErrorReply::NotMember {
                group: name("team")
            }),
            err(ErrorReply::NoSuchGroup {
                group: "nope".into()
            }),
        ]
    );
    assert_eq!(h.take(bob), vec![]);
    // An offline member gets nothing, then or later.
    h.send(bob, "logout");
    h.send(alice, "signal group team typing=done");
    assert!(h.state().stored_messages("bob").is_empty());
}

#[test]
fn signals_are_charged_to_the_sender_s_flood_budget() {
    let mut h = Harness::new(
        Config {
            flood_rate: 1,
            flood_burst: 5,
            ..config()
        },
        ACCOUNTS,
    );
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    h.clear_all();
    for _ in 0..20 {
        h.send(alice, "signal bob typing=active");
    }
    let got = h.take(bob);
    let signals = got
        .iter()
        .filter(|m| matches!(m, ServerMsg::Signal { .. }))
        .count();
    assert!(signals < 20, "the flood budget held some back: {signals}");
    let told: Vec<String> = h
        .take(alice)
        .iter()
        .map(|m| String::from_utf8(render_line(m)).unwrap())
        .collect();
    assert!(
        told.iter()
            .any(|l| l.starts_with("ERROR slow-down") || l.starts_with("BYE flood")),
        "{told:?}"
    );
}
