//! End-to-end encryption in the session: client cores with the real engine, and the test playing
//! the server (its key directory, its relay, its answers) line by line, so what is checked is what a
//! natter client sends and shows; the server here can also do what a hostile one does (refuse,
//! rewrite, hold back, say what nobody asked).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::*;
use crate::client::e2e::{Note, Protection, Wait};
use crate::client::inbox::ACK_DELAY_MS;

/// A client with end-to-end keys, logged in as `user` (its key lines not answered yet).
fn with_keys(user: &str) -> Client {
    with_keys_config(user, Config::new(P2P_PORT))
}

fn with_keys_config(user: &str, mut config: Config) -> Client {
    // Each client its own device (its own keys), as a reinstall or another machine has.
    static DEVICES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let device = DEVICES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    config.e2e = Some(crate::client::e2e::Setup {
        engine: std::sync::Arc::new(crate::client::e2e::test_engine::TestEngine::named(
            &format!("{user}/{device}"),
        )),
    });
    let mut c = Client::with_config(config);
    c.login(user);
    c
}

/// The server, as far as these tests need it: the key directory, the relay, blocks.
#[derive(Default)]
struct Server {
    /// user -> (identity line part, one-time keys, fallback)
    keys: BTreeMap<String, (String, VecDeque<String>, Option<String>)>,
    /// (blocker, blocked)
    blocks: BTreeSet<(String, String)>,
    next_id: u64,
    /// Every line the clients sent.
    wire: Vec<String>,
    /// Messages for users not at the table, by recipient.
    stored: BTreeMap<String, Vec<ServerMsg>>,
}

impl Server {
    /// Answers what `c` (user `me`) sent, delivering messages to `others`; returns when nothing
    /// more is to be said.
    fn serve(&mut self, me: &str, c: &mut Client, others: &mut BTreeMap<String, Client>) {
        loop {
            let sent = c.take_sent();
            if sent.is_empty() {
                return;
            }
            for line in sent {
                self.wire.push(line.clone());
                let w: Vec<&str> = line.split(' ').collect();
                let left = |s: &Self| s.keys.get(me).map_or(0, |k| k.1.len());
                match w[..] {
                    ["keys", "identity", curve, ed] => {
                        let id = format!("{curve} {ed}");
                        let e = self.keys.entry(me.into()).or_default();
                        if e.0 != id {
                            *e = (id, VecDeque::new(), None);
                        }
                        c.server_raw(format!("KEYS-LEFT {}", left(self)).as_bytes());
                    }
                    ["keys", "add", ..] => {
                        let e = self.keys.get_mut(me).unwrap();
                        e.1.extend(w[2..].iter().map(|k| k.to_string()));
                        c.server_raw(format!("KEYS-LEFT {}", left(self)).as_bytes());
                    }
                    ["keys", "fallback", key] => {
                        self.keys.get_mut(me).unwrap().2 = Some(key.into());
                        c.server_raw(format!("KEYS-LEFT {}", left(self)).as_bytes());
                    }
                    ["keys", "claim", user] => {
                        if self.blocks.contains(&(user.to_owned(), me.to_owned())) {
                            c.server_raw(format!("ERROR blocked-by {user} x").as_bytes());
                            continue;
                        }
                        let answer = match self.keys.get_mut(user) {
                            Some((id, otks, fallback)) => {
                                match otks.pop_front().or_else(|| fallback.clone()) {
                                    Some(k) => format!("KEYS {user} {id} {k}"),
                                    None => format!("NOKEYS {user}"),
                                }
                            }
                            None => format!("NOKEYS {user}"),
                        };
                        c.server_raw(answer.as_bytes());
                    }
                    ["keys", "show", user] => {
                        let answer = match self.keys.get(user) {
                            Some((id, ..)) => format!("KEYS {user} {id} -"),
                            None => format!("NOKEYS {user}"),
                        };
                        c.server_raw(answer.as_bytes());
                    }
                    ["message", "group", ..] => {}
                    ["message" | "note", to, ..] => {
                        let text = line.splitn(3, ' ').nth(2).unwrap().to_owned();
                        if self.blocks.contains(&(to.to_owned(), me.to_owned())) {
                            c.server_raw(format!("ERROR blocked-by {to} x").as_bytes());
                            continue;
                        }
                        let current = self.keys.get(to).map(|k| k.0.split(' ').next().unwrap());
                        if let (Some(for_key), Some(current)) =
                            (crate::protocol::keys::encrypted_for(&text), current)
                            && for_key != current
                        {
                            c.server_raw(format!("ERROR stale-key {to} x").as_bytes());
                            continue;
                        }
                        self.next_id += 1;
                        let id = self.next_id;
                        let msg = ServerMsg::Message {
                            id,
                            sent_at: START,
                            from: Name::from(me),
                            text,
                        };
                        match others.get_mut(to) {
                            Some(r) => {
                                r.server(msg);
                                c.server(ServerMsg::Delivered { id, to: to.into() });
                            }
                            None => {
                                self.stored.entry(to.to_owned()).or_default().push(msg);
                                c.server(ServerMsg::Stored { id, to: to.into() });
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// A client for `user`, logged in, its keys published.
    fn join(&mut self, user: &str) -> Client {
        let mut c = with_keys(user);
        self.serve(user, &mut c, &mut BTreeMap::new());
        c.clear();
        c
    }

    /// `from` types `line`; the server answers, delivering to `to` if given.
    fn said(&mut self, from: &str, c: &mut Client, line: &str, to: Option<(&str, &mut Client)>) {
        c.typed(line);
        let mut others = BTreeMap::new();
        let Some((name, r)) = to else {
            return self.serve(from, c, &mut others);
        };
        others.insert(name.to_owned(), std::mem::replace(r, Client::new()));
        self.serve(from, c, &mut others);
        *r = others.remove(name).unwrap();
    }
}

fn messages(c: &Client) -> Vec<String> {
    c.shown
        .iter()
        .filter_map(|i| match i {
            Item::Server(ServerMsg::Message { from, text, .. }) => Some(format!("{from}: {text}")),
            Item::Error(e) => Some(format!("error: {e}")),
            _ => None,
        })
        .collect()
}

fn notes(c: &Client) -> Vec<Note> {
    c.shown
        .iter()
        .filter_map(|i| match i {
            Item::E2e(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

fn shown_text(c: &Client) -> String {
    c.shown
        .iter()
        .map(|i| crate::client::display::render(i, false))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn two_clients_talk_encrypted_through_a_server_that_sees_only_ciphertext() {
    let mut server = Server::default();
    let mut others = BTreeMap::new();
    let mut alice = with_keys("alice");
    let mut bob = with_keys("bob");
    assert!(
        bob.sent.contains(&"receipts on".to_owned()),
        "every line's answer is followed"
    );
    server.serve("bob", &mut bob, &mut others);
    assert_eq!(
        server.keys["bob"].1.len(),
        50,
        "bob published his keys at login"
    );
    server.serve("alice", &mut alice, &mut others);
    assert!(
        alice
            .e2e_saved
            .iter()
            .any(|(p, _)| *p == crate::client::e2e::Part::Device),
        "the new device is saved"
    );

    alice.typed("message bob the eagle has landed");
    others.insert("bob".to_owned(), bob);
    server.serve("alice", &mut alice, &mut others);
    let mut bob = others.remove("bob").unwrap();
    assert_eq!(
        messages(&bob),
        vec!["alice: the eagle has landed".to_owned()]
    );
    assert!(
        !server.wire.iter().any(|l| l.contains("eagle")),
        "{:?}",
        server.wire
    );

    // bob answers; a line typed by hand by a stranger (not encrypted) is marked.
    bob.typed("message alice roger that");
    others.insert("alice".to_owned(), alice);
    server.serve("bob", &mut bob, &mut others);
    let mut alice = others.remove("alice").unwrap();
    server.next_id += 1;
    alice.server(ServerMsg::Message {
        id: server.next_id,
        sent_at: START,
        from: Name::from("eve"),
        text: "typed with openssl".into(),
    });
    assert_eq!(
        messages(&alice),
        vec![
            "bob: roger that".to_owned(),
            "eve: (not encrypted) typed with openssl".to_owned()
        ]
    );
    // Clear text "from" bob, whose keys are pinned, is what a forgery looks like.
    server.next_id += 1;
    alice.server(ServerMsg::Message {
        id: server.next_id,
        sent_at: START,
        from: Name::from("bob"),
        text: "please send the code".into(),
    });
    assert!(
        messages(&alice).last().unwrap().contains("MAY BE FORGED"),
        "{:?}",
        alice.shown
    );

    // The safety numbers match on both sides; marking bob verified (with the digits shown) marks
    // his messages.
    alice.clear();
    bob.clear();
    alice.typed("verify bob");
    bob.typed("verify alice");
    let number = |c: &Client| {
        c.shown.iter().find_map(|i| match i {
            Item::E2e(Note::SafetyNumber {
                number, confirm, ..
            }) => Some((number.clone(), confirm.clone())),
            _ => None,
        })
    };
    let (a, digits) = number(&alice).unwrap();
    assert_eq!(a, number(&bob).unwrap().0);
    alice.typed("verify bob yes");
    assert!(
        matches!(
            &alice.shown.last(),
            Some(Item::Error(ClientError::Usage(_)))
        ),
        "the digits are needed"
    );
    alice.typed(&format!("verify bob yes {digits}"));
    bob.typed("message alice verified now");
    others.insert("alice".to_owned(), alice);
    server.serve("bob", &mut bob, &mut others);
    let alice = others.remove("alice").unwrap();
    assert!(
        messages(&alice).contains(&"bob: ✓ verified now".to_owned()),
        "{:?}",
        alice.shown
    );
}

#[test]
fn a_message_to_a_user_without_keys_waits_and_goes_in_clear_only_when_the_sender_says_so() {
    let mut server = Server::default();
    let mut alice = server.join("alice");
    alice.typed("message carol see you later");
    server.serve("alice", &mut alice, &mut BTreeMap::new());
    alice.advance_ms(crate::client::e2e::RETRY_CLAIM_MS);
    server.serve("alice", &mut alice, &mut BTreeMap::new());
    assert!(
        !server.wire.iter().any(|l| l.contains("see you later")),
        "nothing in clear unasked"
    );
    assert!(
        notes(&alice).iter().any(|n| matches!(
            n,
            Note::Waiting {
                why: Wait::NoKeys,
                ..
            }
        )),
        "{:?}",
        alice.shown
    );
    assert!(
        shown_text(&alice).contains("'/sendclear carol'"),
        "the hint in its slash form"
    );
    alice.typed("sendclear carol");
    server.serve("alice", &mut alice, &mut BTreeMap::new());
    assert!(
        server
            .wire
            .contains(&"message carol see you later".to_owned())
    );
    assert!(
        notes(&alice)
            .iter()
            .any(|n| matches!(n, Note::SentInClear { count: 1, .. }))
    );
}

#[test]
fn a_claim_answered_blocked_by_is_not_waited_for_and_after_unblock_messages_go() {
    let mut server = Server::default();
    let mut alice = server.join("alice");
    let mut bob = server.join("bob");
    server.blocks.insert(("bob".into(), "alice".into()));
    server.said("alice", &mut alice, "message bob one", None);
    assert!(
        notes(&alice).iter().any(|n| matches!(
            n,
            Note::NotSent {
                why: crate::client::e2e::Refusal::BlockedBy(_),
                ..
            }
        )),
        "{:?}",
        alice.shown
    );
    assert!(
        alice.state.device().unwrap().outbox().is_empty(),
        "nothing left waiting for an answer that came"
    );
    server.blocks.clear();
    server.said(
        "alice",
        &mut alice,
        "message bob two",
        Some(("bob", &mut bob)),
    );
    assert_eq!(messages(&bob), vec!["alice: two".to_owned()]);
}

#[test]
fn a_message_refused_as_for_a_device_gone_is_encrypted_again_for_the_new_one_once_trusted() {
    let mut server = Server::default();
    let mut alice = server.join("alice");
    let mut bob = server.join("bob");
    server.said(
        "alice",
        &mut alice,
        "message bob hello",
        Some(("bob", &mut bob)),
    );
    assert_eq!(messages(&bob), vec!["alice: hello".to_owned()]);
    // bob moves: a new device's keys replace the old ones at the server.
    let mut bob = with_keys("bob");
    server.serve("bob", &mut bob, &mut BTreeMap::new());
    bob.typed("movehere");
    server.serve("bob", &mut bob, &mut BTreeMap::new());
    bob.clear();
    alice.clear();
    // alice's session is with the old device: refused (stale-key), claimed, the change shown.
    server.said(
        "alice",
        &mut alice,
        "message bob still there?",
        Some(("bob", &mut bob)),
    );
    assert!(messages(&bob).is_empty(), "nothing unreadable reached bob");
    let changed = notes(&alice)
        .into_iter()
        .find_map(|n| match n {
            Note::KeyChanged {
                confirm, waiting, ..
            } => Some((confirm, waiting)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{:?}", alice.shown));
    assert_eq!(changed.1, 1, "the refused message waits");
    assert!(
        !alice
            .shown
            .iter()
            .any(|i| matches!(i, Item::Server(ServerMsg::Error(_)))),
        "said by the notes, not as a bare error"
    );
    server.said(
        "alice",
        &mut alice,
        &format!("trust bob {}", changed.0),
        Some(("bob", &mut bob)),
    );
    assert_eq!(messages(&bob), vec!["alice: still there?".to_owned()]);
}

#[test]
fn a_device_whose_account_is_elsewhere_acknowledges_nothing_until_moved() {
    let mut server = Server::default();
    let _old = server.join("alice");
    let mut alice = with_keys("alice");
    server.serve("alice", &mut alice, &mut BTreeMap::new());
    assert!(
        notes(&alice)
            .iter()
            .any(|n| matches!(n, Note::Elsewhere { .. })),
        "{:?}",
        alice.shown
    );
    alice.clear();
    alice.server(ServerMsg::Message {
        id: 40,
        sent_at: START,
        from: name("bob"),
        text: "plain hello".into(),
    });
    alice.advance_ms(10 * ACK_DELAY_MS);
    assert!(
        !alice.take_sent().iter().any(|l| l.starts_with("ack")),
        "kept on the server for the device that holds the account"
    );
    alice.typed("movehere");
    let sent = alice.take_sent();
    assert!(sent.iter().any(|l| l == "ack 40"), "{sent:?}");
    assert!(sent.iter().any(|l| l.starts_with("keys identity ")));
}

#[test]
fn a_message_held_back_past_later_ones_is_shown_marked_not_taken_for_a_redelivery() {
    let mut alice = Client::online("alice");
    for id in [5, 7] {
        alice.server(ServerMsg::Message {
            id,
            sent_at: START.plus_millis(id),
            from: name("bob"),
            text: format!("m{id}"),
        });
    }
    alice.server(ServerMsg::Message {
        id: 6,
        sent_at: START.plus_millis(6),
        from: name("bob"),
        text: "m6".into(),
    });
    let texts: Vec<String> = alice
        .take_shown()
        .iter()
        .filter_map(|i| match i {
            Item::Server(ServerMsg::Message { text, .. }) => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(texts[2].contains("delayed") && texts[2].ends_with("m6"));
    // The same id again is a redelivery: not shown.
    alice.server(ServerMsg::Message {
        id: 6,
        sent_at: START.plus_millis(6),
        from: name("bob"),
        text: "m6".into(),
    });
    assert!(alice.take_shown().is_empty());
}

#[test]
fn each_conversation_says_how_it_is_protected() {
    let mut server = Server::default();
    let mut alice = server.join("alice");
    let mut bob = server.join("bob");
    server.said(
        "alice",
        &mut alice,
        "message bob hi",
        Some(("bob", &mut bob)),
    );
    assert!(notes(&alice).contains(&Note::Protection {
        to: Conversation::User(name("bob")),
        state: Protection::Encrypted
    }));
    assert!(notes(&bob).contains(&Note::Protection {
        to: Conversation::User(name("alice")),
        state: Protection::Encrypted
    }));
    alice.clear();
    alice.typed("broadcast hello all");
    assert!(notes(&alice).contains(&Note::Protection {
        to: Conversation::Broadcasts,
        state: Protection::NotEncrypted
    }));
    // Clear text from someone with no keys (an IRC user): that conversation is not encrypted, and
    // is never said to be.
    alice.clear();
    server.next_id += 1;
    alice.server(ServerMsg::Message {
        id: server.next_id,
        sent_at: START,
        from: name("irene"),
        text: "hello from irssi".into(),
    });
    let said: Vec<Note> = notes(&alice)
        .into_iter()
        .filter(|n| matches!(n, Note::Protection { to, .. } if *to == Conversation::User(name("irene"))))
        .collect();
    assert_eq!(
        said,
        [Note::Protection {
            to: Conversation::User(name("irene")),
            state: Protection::NotEncrypted
        }]
    );
    // Verified: said again, as it changed.
    alice.clear();
    alice.typed("verify bob");
    let digits = notes(&alice)
        .into_iter()
        .find_map(|n| match n {
            Note::SafetyNumber { confirm, .. } => Some(confirm),
            _ => None,
        })
        .unwrap();
    alice.typed(&format!("verify bob yes {digits}"));
    assert!(notes(&alice).contains(&Note::Protection {
        to: Conversation::User(name("bob")),
        state: Protection::Verified
    }));

    // The full-screen client: the title and the status bar of the window in view.
    let mut config = Config::new(P2P_PORT);
    config.full_screen = true;
    config.servers = vec!["127.0.0.1:4000".into()];
    let mut carol = with_keys_config("carol", config);
    carol.event(Event::User(UserEvent::Resize { rows: 24 }));
    server.serve("carol", &mut carol, &mut BTreeMap::new());
    let dave = server.join("dave");
    drop(dave);
    carol.typed("/query dave");
    carol.enter("hello dave");
    // Until the server has answered the claim for dave's keys, the window says so, not "e2e":
    // the answer may be that dave has none.
    assert!(
        carol.screen().title().contains("[keys asked]"),
        "{}",
        carol.screen().title()
    );
    server.serve("carol", &mut carol, &mut BTreeMap::new());
    assert!(
        carol.screen().title().contains("[e2e]"),
        "{}",
        carol.screen().title()
    );
    let bar: String = carol
        .screen()
        .status_bar(200, START, "12:00")
        .iter()
        .map(|s| s.text.clone())
        .collect();
    assert!(bar.contains("[e2e]"), "{bar}");
    // A user the server has no keys for: "NOT ENCRYPTED" once it says so (after asking a second
    // time), and never "e2e" first.
    carol.typed("/query erin");
    carol.enter("hello erin");
    assert!(carol.screen().title().contains("[keys asked]"));
    server.serve("carol", &mut carol, &mut BTreeMap::new());
    assert!(carol.screen().title().contains("[keys asked]"));
    carol.advance_ms(crate::client::e2e::RETRY_CLAIM_MS);
    server.serve("carol", &mut carol, &mut BTreeMap::new());
    assert!(
        carol.screen().title().contains("[NOT ENCRYPTED]"),
        "{}",
        carol.screen().title()
    );
}

/// A first message to someone whose keys are not known yet is not called encrypted before the
/// server has answered: to a user without keys, the first (and only) thing said of the conversation
/// is that it is not encrypted.
#[test]
fn a_conversation_is_not_called_encrypted_before_the_keys_come() {
    let mut server = Server::default();
    let mut alice = server.join("alice");
    let said = |c: &Client| -> Vec<Note> {
        notes(c)
            .into_iter()
            .filter(|n| matches!(n, Note::Protection { .. }))
            .collect()
    };
    alice.typed("message zed hello");
    assert!(said(&alice).is_empty(), "{:?}", said(&alice));
    server.serve("alice", &mut alice, &mut BTreeMap::new());
    alice.advance_ms(crate::client::e2e::RETRY_CLAIM_MS);
    server.serve("alice", &mut alice, &mut BTreeMap::new());
    assert_eq!(
        said(&alice),
        [Note::Protection {
            to: Conversation::User(name("zed")),
            state: Protection::NotEncrypted
        }]
    );
}

/// The receiver of a new contact's first message is told how the conversation is protected before
/// the message, once the message (which pins the contact's key) has been decrypted.
#[test]
fn the_protection_of_a_new_conversation_is_said_before_its_first_message() {
    let mut server = Server::default();
    let mut alice = server.join("alice");
    let mut bob = server.join("bob");
    server.said(
        "alice",
        &mut alice,
        "message bob hi",
        Some(("bob", &mut bob)),
    );
    let shown = bob.take_shown();
    let note = shown.iter().position(|i| {
        matches!(
            i,
            Item::E2e(Note::Protection {
                state: Protection::Encrypted,
                ..
            })
        )
    });
    let message = shown
        .iter()
        .position(|i| format!("{i:?}").contains("\"hi\""));
    assert!(
        matches!((note, message), (Some(n), Some(m)) if n < m),
        "{shown:?}"
    );
}

#[test]
fn a_keys_line_nobody_asked_for_is_ignored() {
    let mut server = Server::default();
    let mut alice = server.join("alice");
    let mallory = server.join("mallory");
    let id = server.keys["mallory"].0.clone();
    drop(mallory);
    alice.server_raw(format!("KEYS bob {id} -").as_bytes());
    assert!(alice.take_shown().is_empty());
    assert!(
        alice
            .state
            .device()
            .unwrap()
            .contacts()
            .get("bob")
            .is_none()
    );
}

/// The `KEYS-LEFT` answers on a new connection answer that connection's publishing lines: the
/// lines of a connection lost before they were answered are not waited for any more (the device
/// counted them, took the new connection's answers for theirs, and never topped its one-time keys
/// up: every first message to this user then had to use the fallback key).
#[test]
fn publishing_answers_on_a_new_connection_are_counted_for_its_own_lines() {
    let mut config = Config::new(P2P_PORT);
    config.servers = vec!["a:1".into(), "b:2".into()];
    let mut c = with_keys_config("alice", config);
    // The directory says the account has no keys: the device publishes them, and the connection
    // is lost before any answer.
    assert!(c.take_sent().contains(&"keys show alice".to_string()));
    c.server_raw(b"NOKEYS alice");
    let sent = c.take_sent();
    assert!(
        sent.iter().any(|l| l.starts_with("keys identity ")),
        "{sent:?}"
    );
    c.event(Event::Server(ServerEvent::Closed));
    c.event(Event::Server(ServerEvent::ConnectedVerified));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    // The next server answers everything; the last publishing line's answer tops the keys up.
    let mut server = Server::default();
    server.serve("alice", &mut c, &mut BTreeMap::new());
    assert!(
        server.wire.iter().any(|l| l.starts_with("keys add ")),
        "{:?}",
        server.wire
    );
    assert!(
        !server.keys["alice"].1.is_empty(),
        "one-time keys published"
    );
}

/// A claim to be asked again (the server said the user has no keys) belongs to the connection it
/// was answered on: once that is lost, it is not asked on the next connection before its login,
/// where the server would take `keys claim carol` for a username. (At the next login the message
/// that waits claims carol's keys again.)
#[test]
fn a_claim_to_ask_again_is_not_asked_on_a_new_connection_before_its_login() {
    let mut config = Config::new(P2P_PORT);
    config.servers = vec!["a:1".into(), "b:2".into()];
    let mut server = Server::default();
    let mut alice = with_keys_config("alice", config);
    server.serve("alice", &mut alice, &mut BTreeMap::new());
    alice.typed("message carol see you later");
    server.serve("alice", &mut alice, &mut BTreeMap::new());
    assert!(server.wire.contains(&"keys claim carol".to_string()));
    alice.event(Event::Server(ServerEvent::Closed));
    alice.event(Event::Server(ServerEvent::ConnectedVerified));
    alice.take_sent();
    alice.advance_ms(crate::client::e2e::RETRY_CLAIM_MS);
    alice.server(ServerMsg::Prompt(Prompt::Username));
    assert_eq!(
        alice.take_sent(),
        vec!["alice".to_string()],
        "the username, and nothing of the old connection before it"
    );
}

#[test]
fn a_name_mistyped_once_is_not_asked_about_again_at_each_reconnect() {
    let mut server = Server::default();
    let mut config = Config::new(P2P_PORT);
    config.servers = vec!["a:1".into(), "b:2".into()];
    let mut alice = with_keys_config("alice", config);
    server.serve("alice", &mut alice, &mut BTreeMap::new());
    alice.clear();
    // No account is named zed: the real server answers the claim so.
    alice.typed("message zed hi");
    let sent = alice.take_sent();
    assert!(sent.contains(&"keys claim zed".to_owned()), "{sent:?}");
    alice.server_raw(b"ERROR no-such-user zed There is no user named 'zed'.");
    let first = shown_text(&alice);
    assert!(first.contains("zed"), "{first}");
    alice.clear();
    for _ in 0..3 {
        alice.event(Event::Server(ServerEvent::Closed));
        alice.event(Event::Server(ServerEvent::ConnectedVerified));
        alice.server(ServerMsg::Prompt(Prompt::Username));
        alice.server(ServerMsg::Prompt(Prompt::Password));
        alice.server(ServerMsg::Welcome {
            user: name("alice"),
        });
        let sent = alice.take_sent();
        assert!(
            !sent.iter().any(|l| l.contains("zed")),
            "zed asked about again: {sent:?}"
        );
        for line in &sent {
            let w: Vec<&str> = line.split(' ').collect();
            if w.len() == 3 && w[0] == "keys" && w[2] != "alice" {
                alice.server_raw(format!("ERROR no-such-user {} x", w[2]).as_bytes());
            }
        }
        let shown = shown_text(&alice);
        assert!(!shown.contains("zed"), "said again: {shown}");
        alice.clear();
    }
}

#[test]
fn a_line_client_says_when_a_message_was_delivered() {
    let mut server = Server::default();
    let mut alice = server.join("alice");
    let mut bob = server.join("bob");
    server.said(
        "alice",
        &mut alice,
        "message bob hello",
        Some(("bob", &mut bob)),
    );
    assert_eq!(messages(&bob), vec!["alice: hello".to_owned()]);
    let shown = shown_text(&alice);
    assert!(shown.contains("- delivered to bob"), "{shown}");
    // Once: the line says it, not the text again.
    assert_eq!(shown.matches("delivered").count(), 1, "{shown}");
    assert!(!shown.contains("hello"), "{shown}");
}

#[test]
fn a_batch_of_lines_read_ahead_is_encrypted_in_order_behind_one_commit() {
    let mut server = Server::default();
    let mut alice = server.join("alice");
    let mut bob = server.join("bob");
    // The first message sets the session up (a claim and its answer).
    server.said(
        "alice",
        &mut alice,
        "message bob one",
        Some(("bob", &mut bob)),
    );
    let before = alice.commits;
    let batch: Vec<Vec<u8>> = (2..=6)
        .map(|n| format!("message bob number {n}").into_bytes())
        .collect();
    alice.event(Event::User(UserEvent::Lines(&batch)));
    assert_eq!(
        alice.commits - before,
        1,
        "the batch's saves share one commit (one sync)"
    );
    let sent = alice.sent.clone();
    assert_eq!(sent.len(), 5, "{sent:?}");
    assert!(
        sent.iter().all(|l| l.starts_with("message bob e2e")),
        "{sent:?}"
    );
    let mut others = BTreeMap::new();
    others.insert("bob".to_owned(), bob);
    server.serve("alice", &mut alice, &mut others);
    let bob = others.remove("bob").unwrap();
    let expected: Vec<String> = std::iter::once("alice: one".to_owned())
        .chain((2..=6).map(|n| format!("alice: number {n}")))
        .collect();
    assert_eq!(messages(&bob), expected, "all of them, in order");
}

#[test]
fn a_group_message_whose_members_the_server_refuses_to_list_is_reported_not_sent() {
    let mut server = Server::default();
    let mut alice = server.join("alice");
    alice.typed("message group crew hello crew");
    assert!(
        alice.take_sent().contains(&"group members crew".to_owned()),
        "the members are asked for, quietly"
    );
    assert!(
        notes(&alice).iter().any(
            |n| matches!(n, Note::MembersAwaited { group, count: 1 } if *group == name("crew"))
        ),
        "{:?}",
        alice.shown
    );
    alice.clear();
    alice.server_raw(b"ERROR not-member crew x");
    assert_eq!(
        notes(&alice),
        vec![Note::NotSent {
            to: crate::protocol::Conversation::Group(name("crew")),
            text: "hello crew".into(),
            why: crate::client::e2e::Refusal::NotMember(name("crew")),
        }],
        "said once, as not sent, with the reason: {:?}",
        alice.shown
    );
    let said = shown_text(&alice);
    assert!(
        said.contains("Not sent to") && said.contains("not a member"),
        "{said}"
    );
    // No longer kept: the next login does not ask about it again, nor says it waits.
    let outbox = alice
        .e2e_store
        .iter()
        .rev()
        .find(|(p, _)| *p == crate::client::e2e::Part::Outbox);
    if let Some((_, crate::client::e2e::Stored::Whole(bytes))) = outbox {
        assert!(
            !String::from_utf8_lossy(bytes).contains("hello crew"),
            "still kept"
        );
    }
    alice.event(Event::Server(ServerEvent::Closed));
    alice.event(Event::Server(ServerEvent::Connected));
    alice.clear();
    alice.login("alice");
    assert!(
        !alice.sent.iter().any(|l| l == "group members crew"),
        "{:?}",
        alice.sent
    );
}

/// The confirmation of a new session goes as a `note`, and nothing the server answers to it is
/// shown: here a refusal (alice blocked bob after writing), which would otherwise tell bob
/// something he never asked about.
#[test]
fn a_session_is_confirmed_as_a_note_and_its_refusal_is_not_shown() {
    let mut server = Server::default();
    let mut alice = server.join("alice");
    let mut bob = server.join("bob");
    server.said("alice", &mut alice, "message bob before I go", None);
    server.blocks.insert(("alice".into(), "bob".into()));
    bob.clear();
    for msg in server.stored.remove("bob").unwrap() {
        bob.server(msg);
    }
    assert_eq!(messages(&bob), vec!["alice: before I go".to_owned()]);
    let sent = bob.take_sent();
    let confirmation: Vec<_> = sent
        .iter()
        .filter(|l| l.starts_with("note alice e2e1:n:"))
        .collect();
    assert_eq!(
        confirmation.len(),
        1,
        "one confirmation, as a note: {sent:?}"
    );
    bob.take_shown();
    bob.server_raw(b"ERROR blocked-by alice alice has blocked you");
    let shown = bob.take_shown();
    assert!(
        shown.is_empty(),
        "the refusal of a line bob never wrote is not shown: {shown:?}"
    );
}
