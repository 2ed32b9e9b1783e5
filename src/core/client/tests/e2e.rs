//! End-to-end encryption in the session: two client cores with the real engine, and the test playing
//! the server (its key directory, its relay) line by line, so what is checked is what a natter client
//! sends and shows.

use std::collections::{BTreeMap, VecDeque};

use super::*;
use crate::client::e2e::Note;

/// A client with end-to-end keys, logged in as `user` (its key lines not answered yet).
fn with_keys(user: &str) -> Client {
    let mut config = Config::new(P2P_PORT);
    config.e2e = Some(crate::client::e2e::Setup {
        engine: std::sync::Arc::new(crate::client::e2e::test_engine::TestEngine::named(user)),
    });
    let mut c = Client::with_config(config);
    c.login(user);
    c
}

/// The server, as far as these tests need it: the key directory and the relay.
#[derive(Default)]
struct Server {
    /// user -> (identity line part, one-time keys, fallback)
    keys: BTreeMap<String, (String, VecDeque<String>, Option<String>)>,
    next_id: u64,
    /// Every line the clients sent.
    wire: Vec<String>,
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
                    ["message", to, ..] => {
                        let text = line.splitn(3, ' ').nth(2).unwrap().to_owned();
                        self.next_id += 1;
                        if let Some(r) = others.get_mut(to) {
                            r.server(ServerMsg::Message {
                                id: self.next_id,
                                sent_at: START,
                                from: Name::from(me),
                                text,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
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

#[test]
fn two_clients_talk_encrypted_through_a_server_that_sees_only_ciphertext() {
    let mut server = Server::default();
    let mut others = BTreeMap::new();
    let mut alice = with_keys("alice");
    let mut bob = with_keys("bob");
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

    // bob answers; a line typed by hand (not encrypted) is marked.
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

    // The safety numbers match on both sides; marking bob verified marks his messages.
    alice.clear();
    bob.clear();
    alice.typed("verify bob");
    bob.typed("verify alice");
    let number = |c: &Client| {
        c.shown.iter().find_map(|i| match i {
            Item::E2e(Note::SafetyNumber { number, .. }) => Some(number.clone()),
            _ => None,
        })
    };
    assert!(number(&alice).is_some());
    assert_eq!(number(&alice), number(&bob));
    alice.typed("verify bob yes");
    bob.typed("message alice verified now");
    others.insert("alice".to_owned(), alice);
    server.serve("bob", &mut bob, &mut others);
    let alice = others.remove("alice").unwrap();
    assert!(
        messages(&alice).contains(&"bob: ✓ verified now".to_owned()),
        "{:?} {:?} {:?}",
        alice.shown,
        bob.shown,
        server.wire.last()
    );
}

#[test]
fn a_message_to_a_user_who_never_published_keys_goes_in_clear_with_a_warning() {
    let mut server = Server::default();
    let mut others = BTreeMap::new();
    let mut alice = with_keys("alice");
    server.serve("alice", &mut alice, &mut others);
    alice.clear();
    alice.typed("message carol see you later");
    server.serve("alice", &mut alice, &mut others);
    assert!(
        !server
            .wire
            .contains(&"message carol see you later".to_owned()),
        "not at the first 'no keys': asked again a moment later"
    );
    alice.advance_ms(crate::client::e2e::RETRY_CLAIM_MS);
    server.serve("alice", &mut alice, &mut others);
    assert!(
        server
            .wire
            .contains(&"message carol see you later".to_owned())
    );
    assert!(
        alice
            .shown
            .iter()
            .any(|i| matches!(i, Item::E2e(Note::SentInClear { .. }))),
        "{:?}",
        alice.shown
    );
}
