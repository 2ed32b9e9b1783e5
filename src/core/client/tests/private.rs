//! Private chats: set-up from both ends, the handshake's checks, the session, and every way it ends.
//! The other client is played by the test with the real handshake (`noise`), so what is checked is
//! what goes over the wire: plain text only for refusals, the handshake and sealed lines otherwise.

use super::*;
use crate::client::noise::{self, Secure};
use crate::protocol::ErrorReply;
use crate::protocol::p2p::{
    HANDSHAKE_PAYLOAD, MAX_EXPECTING, MAX_GREETING, MAX_LINE, PeerMsg, decode_handshake_payload,
    handshake_payload,
};

const T: u128 = 0x1234_5678_9abc_def0_1111_2222_3333_4444;

/// Seals one line as the other client would.
fn seal(peer: &mut Secure, line: &str) -> Vec<u8> {
    peer.seal(line.as_bytes())
}

/// Opens what the client under test sealed, as the other client would.
fn opened(peer: &mut Secure, sent: Vec<(LinkId, Vec<u8>)>) -> Vec<(LinkId, String)> {
    sent.into_iter()
        .map(|(l, f)| {
            let plain = peer.open(&f).expect("sealed for the peer");
            (l, String::from_utf8(plain).unwrap())
        })
        .collect()
}

/// What the connector `user` seals in its first handshake message.
fn hello(user: &str) -> Vec<u8> {
    handshake_payload(&PeerMsg::Hello { user })
}

/// What the listener `user` seals in its answer.
fn ok(user: &str) -> Vec<u8> {
    handshake_payload(&PeerMsg::Ok { user })
}

/// As `user`, connects to a client that should expect us with token `t`: the first handshake message
/// goes in; returns the handshake to finish with the answer.
fn introduce(
    b: &mut Client,
    link: LinkId,
    user: &str,
    listener: &str,
    t: u128,
) -> noise::Initiated {
    let (hs, first) = noise::initiate(token(t), user, listener, [9; 32], &hello(user)).unwrap();
    b.peer_frame(link, &first);
    hs
}

/// As `user`, connects to `b` (which expects us with token `t`), completes the handshake and proves
/// who we are: the chat is open. Returns our end of the session.
fn connect_as(b: &mut Client, link: LinkId, user: &str, t: u128) -> Secure {
    let me = b.state.user().expect("logged in").to_string();
    let hs = introduce(b, link, user, &me, t);
    let (mut secure, ok) = finish(hs, &b.take_peer_sent(), link);
    assert_eq!(ok.trim_end(), format!("OK {me}"));
    prove(b, link, &mut secure, user);
    assert!(b.state.private_open(user));
    secure
}

/// The listener's answer sent on `link`, finished into a session by the connector's handshake; the
/// answer's line, without its padding.
/// The listener's answer is followed by its identity proof, sealed in the session: both are read.
fn finish(hs: noise::Initiated, sent: &[(LinkId, Vec<u8>)], link: LinkId) -> (Secure, String) {
    let [(l, answer), (l2, proof)] = sent else {
        panic!("an answer and a proof expected: {sent:?}")
    };
    assert_eq!((*l, *l2), (link, link));
    let (mut secure, payload) = hs.finish(answer).expect("the handshake completes");
    let line = decode_handshake_payload(&payload).expect("a padded line");
    let proof = String::from_utf8(secure.open(proof).expect("sealed in the session")).unwrap();
    assert!(proof.starts_with("ID "), "{proof}");
    (secure, line.to_line())
}

/// A client logged in as `user`, with end-to-end keys (private chats need them).
fn online(user: &str) -> Client {
    with_keys(user)
}

/// The client's peer `user` proves who it is over the session, as a real client does first: the
/// chat opens then.
fn prove(c: &mut Client, link: LinkId, peer: &mut Secure, user: &str) {
    let line = id_line(&device(user), peer);
    c.peer_frame(link, &seal(peer, &line));
}

/// alice asked bob, bob accepted, alice connected and bob answered: open on alice's side. Returns bob's
/// end of the session too.
fn alice_open_with_bob() -> (Client, LinkId, Secure) {
    let mut a = online("alice");
    a.server(ServerMsg::PrivateAccepted {
        peer: name("bob"),
        addr: "127.0.0.1:6000".parse().unwrap(),
        token: token(T),
    });
    let (link, _) = a.connects[0];
    a.peer(link, PeerEvent::Connected);
    let sent = a.take_peer_sent();
    let (mut bob, answer) =
        noise::respond(token(T), "alice", "bob", [8; 32], &sent[0].1, &ok("bob")).unwrap();
    a.peer_frame(link, &answer);
    let proof = opened(&mut bob, a.take_peer_sent());
    assert!(proof[0].1.starts_with("ID "), "{proof:?}");
    prove(&mut a, link, &mut bob, "bob");
    assert!(a.state.private_open("bob"));
    a.clear();
    (a, link, bob)
}

/// bob accepted alice's request: the server told him to expect her with token `T`.
fn bob_expecting_alice() -> Client {
    let mut b = online("bob");
    b.server(ServerMsg::PrivateExpect {
        peer: name("alice"),
        token: token(T),
    });
    b
}

/// bob accepted alice's request and alice connected with the right token: open on bob's side. Returns
/// alice's end of the session too.
fn bob_open_with_alice() -> (Client, LinkId, Secure) {
    let mut b = bob_expecting_alice();
    let link = LinkId::In(1);
    b.peer(link, PeerEvent::Incoming);
    let hs = introduce(&mut b, link, "alice", "bob", T);
    let (mut alice, ok) = finish(hs, &b.take_peer_sent(), link);
    assert_eq!(ok, "OK bob");
    prove(&mut b, link, &mut alice, "alice");
    assert!(b.state.private_open("alice"));
    b.clear();
    (b, link, alice)
}

#[test]
fn requester_connects_says_who_it_is_inside_the_handshake_and_opens_on_ok() {
    let mut a = online("alice");
    a.server(ServerMsg::PrivatePending {
        to: name("bob"),
        secs: 60,
    });
    a.server(ServerMsg::PrivateAccepted {
        peer: name("bob"),
        addr: "[::ffff:10.1.2.3]:6000".parse().unwrap(),
        token: token(T),
    });
    let [(link, addr)] = a.connects[..] else {
        panic!("{:?}", a.connects)
    };
    // An IPv4-mapped address from a dual-stack server is dialled as plain IPv4.
    assert_eq!(addr, "10.1.2.3:6000".parse().unwrap());
    assert!(!a.state.private_open("bob"));
    a.peer(link, PeerEvent::Connected);
    let sent = a.take_peer_sent();
    assert_eq!(sent.len(), 1, "the handshake's first message alone");
    assert_eq!(sent[0].0, link);
    let (received, said) =
        noise::receive(token(T), "alice", "bob", [8; 32], &sent[0].1).expect("made with the token");
    assert_eq!(said, hello("alice"), "who, sealed under the token");
    let hex = format!("{:032x}", T);
    assert!(
        sent.iter()
            .all(|(_, f)| !String::from_utf8_lossy(f).contains(&hex)
                && !f.windows(16).any(|w| w == T.to_be_bytes())),
        "the token never goes on the wire"
    );
    let (mut bob, answer) = received.answer(&ok("bob")).unwrap();
    a.peer_frame(link, &answer);
    // The handshake alone opens nothing: first each side proves who it is, over this session.
    assert!(!a.state.private_open("bob"));
    let proof = opened(&mut bob, a.take_peer_sent());
    assert!(proof[0].1.starts_with("ID "), "{proof:?}");
    prove(&mut a, link, &mut bob, "bob");
    assert!(a.state.private_open("bob"));
    assert_eq!(
        a.take_shown(),
        vec![
            Item::Server(ServerMsg::PrivatePending {
                to: name("bob"),
                secs: 60
            }),
            Item::PrivateConnecting { peer: name("bob") },
            Item::PrivateOpen { peer: name("bob") },
        ]
    );
}

#[test]
fn listener_opens_only_for_the_expected_user_and_token() {
    let mut b = bob_expecting_alice();
    let link = LinkId::In(1);
    b.peer(link, PeerEvent::Incoming);
    let hs = introduce(&mut b, link, "alice", "bob", T);
    let (mut alice, ok) = finish(hs, &b.take_peer_sent(), link);
    assert_eq!(ok, "OK bob", "the answer says who, inside the handshake");
    assert!(!b.state.private_open("alice"), "not before alice's proof");
    prove(&mut b, link, &mut alice, "alice");
    assert!(b.state.private_open("alice"));
    assert_eq!(
        b.take_shown(),
        vec![
            Item::PrivateAwaiting {
                peer: name("alice")
            },
            Item::PrivateOpen {
                peer: name("alice")
            }
        ]
    );
}

#[test]
fn a_wrong_token_is_refused_and_the_real_peer_can_still_connect() {
    let mut b = bob_expecting_alice();
    let intruder = LinkId::In(1);
    b.peer(intruder, PeerEvent::Incoming);
    introduce(&mut b, intruder, "alice", "bob", T ^ 1);
    // It authenticates under nothing expected: held (it could be a chat not yet expected), unanswered.
    assert!(b.peer_sent.is_empty());
    assert!(!b.state.private_open("alice"));
    let real = LinkId::In(2);
    b.peer(real, PeerEvent::Incoming);
    connect_as(&mut b, real, "alice", T);
    b.clear();
    b.advance_secs(crate::protocol::p2p::HANDSHAKE_SECS);
    let sent = b.take_plain_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, intruder);
    assert!(sent[0].1.starts_with("NO unexpected"), "{sent:?}");
    assert!(b.closed.contains(&intruder));
    // Anything the intruder sends afterwards goes nowhere.
    b.peer_frame(intruder, b"MSG injected");
    assert!(
        !b.shown.iter().any(|i| matches!(i, Item::Private { .. })),
        "{:?}",
        b.shown
    );
    assert!(b.state.private_open("alice"));
}

#[test]
fn a_held_stranger_that_speaks_again_is_refused() {
    let mut b = bob_expecting_alice();
    let intruder = LinkId::In(1);
    b.peer(intruder, PeerEvent::Incoming);
    introduce(&mut b, intruder, "alice", "bob", T ^ 1);
    b.peer_frame(intruder, b"MSG injected");
    assert!(b.take_plain_sent()[0].1.starts_with("NO bad-hello"));
    assert!(b.closed.contains(&intruder));
    assert_eq!(b.state.link_count(), 0);
}

#[test]
fn nobody_but_the_peer_can_inject_into_an_open_session() {
    let (mut b, link, _) = bob_open_with_alice();
    let other = LinkId::In(9);
    b.peer(other, PeerEvent::Incoming);
    // alice's handshake again (a replay, or a second try): her token was forgotten when the session
    // opened, so it authenticates under nothing and is refused at the deadline.
    introduce(&mut b, other, "alice", "bob", T);
    assert!(b.peer_sent.is_empty());
    let third = LinkId::In(10);
    b.peer(third, PeerEvent::Incoming);
    b.peer_frame(third, b"MSG hi");
    assert!(b.take_plain_sent()[0].1.starts_with("NO bad-hello"));
    // Bytes slipped into the open link itself (without alice's keys) end it rather than show.
    b.peer_frame(link, b"MSG injected in plain text");
    assert!(b.shown.contains(&Item::PrivateEnded {
        peer: name("alice"),
        why: EndReason::Tampered
    }));
    b.advance_secs(crate::protocol::p2p::HANDSHAKE_SECS);
    assert!(b.take_plain_sent()[0].1.starts_with("NO unexpected"));
    assert!(b.closed.contains(&other) && b.closed.contains(&third));
    assert!(
        !b.shown.iter().any(|i| matches!(i, Item::Private { .. })),
        "{:?}",
        b.shown
    );
}

#[test]
fn the_token_alone_tells_the_listener_who_connected() {
    let mut b = bob_expecting_alice();
    b.server(ServerMsg::PrivateExpect {
        peer: name("carol"),
        token: token(T + 7),
    });
    let link = LinkId::In(1);
    b.peer(link, PeerEvent::Incoming);
    connect_as(&mut b, link, "carol", T + 7);
    assert!(!b.state.private_open("alice"));
    // carol with alice's token, or alice claiming carol's: each fails under every pairing.
    for (n, (user, t)) in [("carol", T), ("alice", T + 7)].into_iter().enumerate() {
        let l = LinkId::In(10 + n as u64);
        b.peer(l, PeerEvent::Incoming);
        introduce(&mut b, l, user, "bob", t);
        b.advance_secs(crate::protocol::p2p::HANDSHAKE_SECS);
        assert!(b.take_plain_sent()[0].1.starts_with("NO unexpected"));
    }
    let real = LinkId::In(3);
    b.peer(real, PeerEvent::Incoming);
    connect_as(&mut b, real, "alice", T);
}

#[test]
fn a_handshake_that_says_another_name_than_it_was_made_for_is_refused() {
    let mut b = bob_expecting_alice();
    let link = LinkId::In(1);
    b.peer(link, PeerEvent::Incoming);
    let (_, first) = noise::initiate(token(T), "alice", "bob", [9; 32], &hello("mallory")).unwrap();
    b.peer_frame(link, &first);
    assert!(b.take_plain_sent()[0].1.starts_with("NO bad-hello"));
    assert!(!b.state.private_open("alice"));
    assert!(b.closed.contains(&link));
}

#[test]
fn an_older_client_that_says_hello_in_plain_text_is_told_to_update() {
    let mut b = bob_expecting_alice();
    let link = LinkId::In(1);
    b.peer(link, PeerEvent::Incoming);
    b.clear();
    b.peer_frame(link, b"HELLO alice");
    let sent = b.take_plain_sent();
    assert!(sent[0].1.starts_with("NO version "), "{sent:?}");
    assert!(b.closed.contains(&link));
    assert!(!b.state.private_open("alice"));
    // bob is told why alice cannot connect, once: the claim is unchecked, so it neither cancels the
    // wait nor floods the screen.
    let told = |b: &Client| {
        b.shown
            .iter()
            .filter(|i| {
                matches!(i, Item::Error(ClientError::BadPeerLine { peer, what })
                    if **peer == *"alice" && what.contains("older version"))
            })
            .count()
    };
    assert_eq!(told(&b), 1, "{:?}", b.shown);
    b.peer(LinkId::In(2), PeerEvent::Incoming);
    b.peer_frame(LinkId::In(2), b"HELLO alice");
    b.peer(LinkId::In(3), PeerEvent::Incoming);
    b.peer_frame(LinkId::In(3), b"HELLO carol");
    assert_eq!(told(&b), 1);
    assert_eq!(b.shown.len(), 1, "nothing about strangers: {:?}", b.shown);
    let real = LinkId::In(4);
    b.clear();
    b.peer(real, PeerEvent::Incoming);
    connect_as(&mut b, real, "alice", T);
}

#[test]
fn at_most_max_expecting_requesters_are_awaited_at_once() {
    let mut b = online("bob");
    let peers: Vec<String> = (0..=MAX_EXPECTING).map(|n| format!("p{n}")).collect();
    for (n, p) in peers.iter().enumerate() {
        b.server(ServerMsg::PrivateExpect {
            peer: name(p),
            token: token(T + n as u128),
        });
    }
    let last = &peers[MAX_EXPECTING];
    assert_eq!(
        b.shown.last(),
        Some(&Item::PrivateFailed {
            peer: name(last),
            why: SetupFailure::TooManyWaiting { max: MAX_EXPECTING }
        })
    );
    // The server is told the chat is off, so the two may start a new one later.
    assert_eq!(b.take_sent(), vec![format!("stopprivate {last}")]);
    // A new go-ahead for one already awaited replaces it rather than counting twice.
    b.server(ServerMsg::PrivateExpect {
        peer: name("p0"),
        token: token(T + 100),
    });
    assert_eq!(
        b.shown.last(),
        Some(&Item::PrivateAwaiting { peer: name("p0") })
    );
    // Each awaited requester still gets in, whichever the listener tries first.
    for (n, p) in peers[1..MAX_EXPECTING].iter().enumerate() {
        let link = LinkId::In(n as u64);
        b.peer(link, PeerEvent::Incoming);
        connect_as(&mut b, link, p, T + n as u128 + 1);
    }
}

#[test]
fn a_handshake_that_beats_the_servers_expect_line_is_held_until_it_arrives() {
    let mut b = online("bob");
    let link = LinkId::In(1);
    b.peer(link, PeerEvent::Incoming);
    let hs = introduce(&mut b, link, "alice", "bob", T);
    assert!(b.peer_sent.is_empty(), "not refused yet");
    // Someone else's expectation does not match it; alice's does.
    b.server(ServerMsg::PrivateExpect {
        peer: name("carol"),
        token: token(T + 1),
    });
    assert!(b.peer_sent.is_empty());
    b.server(ServerMsg::PrivateExpect {
        peer: name("alice"),
        token: token(T),
    });
    let (mut alice, ok) = finish(hs, &b.take_peer_sent(), link);
    assert_eq!(ok, "OK bob");
    prove(&mut b, link, &mut alice, "alice");
    assert!(b.state.private_open("alice"));
}

#[test]
fn a_held_handshake_nobody_expects_is_refused_at_the_handshake_deadline() {
    let mut b = online("bob");
    let link = LinkId::In(1);
    b.peer(link, PeerEvent::Incoming);
    introduce(&mut b, link, "mallory", "bob", T);
    b.advance_secs(crate::protocol::p2p::HANDSHAKE_SECS - 1);
    assert!(b.peer_sent.is_empty());
    b.advance_secs(1);
    assert!(b.take_plain_sent()[0].1.starts_with("NO unexpected"));
    assert!(b.closed.contains(&link));
    assert!(b.shown.is_empty(), "strangers are not the user's business");
}

#[test]
fn a_connection_that_never_starts_its_handshake_is_closed_quietly() {
    let mut b = online("bob");
    let link = LinkId::In(1);
    b.peer(link, PeerEvent::Incoming);
    b.advance_secs(crate::protocol::p2p::HANDSHAKE_SECS);
    assert!(b.closed.contains(&link));
    assert_eq!(b.state.link_count(), 0);
}

#[test]
fn too_many_unintroduced_connections_are_turned_away() {
    let mut b = online("bob");
    for n in 0..MAX_GREETING as u64 {
        b.peer(LinkId::In(n), PeerEvent::Incoming);
    }
    assert!(b.peer_sent.is_empty());
    let extra = LinkId::In(99);
    b.peer(extra, PeerEvent::Incoming);
    assert!(b.take_plain_sent()[0].1.starts_with("NO busy"));
    assert!(b.closed.contains(&extra));
}

#[test]
fn malformed_and_over_long_handshakes_are_refused() {
    let mut b = online("bob");
    b.peer(LinkId::In(1), PeerEvent::Incoming);
    b.peer_frame(LinkId::In(1), b"HELLO alice 1234");
    b.peer(LinkId::In(2), PeerEvent::Incoming);
    b.peer(LinkId::In(2), PeerEvent::Broken);
    b.peer(LinkId::In(3), PeerEvent::Incoming);
    b.peer_frame(LinkId::In(3), b"HELLO \xff");
    // The right size, but no handshake: held like any unrecognised one, then refused.
    b.peer(LinkId::In(4), PeerEvent::Incoming);
    b.peer_frame(LinkId::In(4), &[0x42; noise::HANDSHAKE_LEN]);
    b.peer(LinkId::In(5), PeerEvent::Incoming);
    b.peer_frame(LinkId::In(5), &[0x42; noise::HANDSHAKE_LEN + 1]);
    b.advance_secs(crate::protocol::p2p::HANDSHAKE_SECS);
    let codes: Vec<(LinkId, String)> = b
        .take_plain_sent()
        .into_iter()
        .map(|(id, l)| (id, l.split(' ').take(2).collect::<Vec<_>>().join(" ")))
        .collect();
    let want = [
        (1, "NO bad-hello"),
        (2, "NO bad-line"),
        (3, "NO bad-hello"),
        (5, "NO bad-hello"),
        (4, "NO unexpected"),
    ];
    let want: Vec<(LinkId, String)> = want
        .into_iter()
        .map(|(n, c)| (LinkId::In(n), c.to_string()))
        .collect();
    assert_eq!(codes, want);
    assert_eq!(b.state.link_count(), 0);
}

#[test]
fn private_messages_go_over_the_link_only_and_count_as_activity() {
    let (mut a, link, mut bob) = alice_open_with_bob();
    a.typed("private bob  psst  ");
    let sent = a.take_peer_sent();
    assert!(
        !String::from_utf8_lossy(&sent[0].1).contains("psst"),
        "sealed"
    );
    assert_eq!(
        opened(&mut bob, sent),
        vec![(link, "MSG  psst  ".to_string())]
    );
    // The server hears that alice is active, never what she said.
    assert_eq!(a.take_sent(), vec!["active"]);
    a.peer_frame(link, &seal(&mut bob, "MSG hello back"));
    assert_eq!(
        shown_plain(&mut a),
        vec![Item::Private {
            from: name("bob"),
            text: "hello back".into()
        }]
    );
}

#[test]
fn private_without_an_open_session_is_an_error() {
    let mut a = online("alice");
    a.typed("private bob hi");
    assert_eq!(
        shown_plain(&mut a),
        vec![client_error(ClientError::NoPrivateChat {
            user: "bob".into()
        })]
    );
    a.server(ServerMsg::PrivateAccepted {
        peer: name("bob"),
        addr: "127.0.0.1:6000".parse().unwrap(),
        token: token(T),
    });
    a.clear();
    a.typed("private bob too early");
    assert_eq!(
        shown_plain(&mut a),
        vec![client_error(ClientError::PrivateNotOpen {
            user: name("bob")
        })]
    );
    a.typed("private bob");
    assert_eq!(
        shown_plain(&mut a),
        vec![client_error(ClientError::PrivateUsage)]
    );
    assert!(a.peer_sent.is_empty() && a.sent.is_empty());
}

#[test]
fn an_over_long_private_message_is_refused_before_sending() {
    let (mut a, _, _) = alice_open_with_bob();
    a.typed(&format!("private bob {}", "x".repeat(MAX_LINE)));
    assert!(a.peer_sent.is_empty());
    assert!(matches!(
        shown_plain(&mut a)[..],
        [Item::Error(ClientError::PrivateTooLong { .. })]
    ));
}

#[test]
fn stopprivate_tells_the_peer_and_the_server_and_hides_the_bookkeeping_reply() {
    let (mut a, link, mut bob) = alice_open_with_bob();
    a.typed("stopprivate bob");
    let sent = a.take_peer_sent();
    assert_eq!(
        opened(&mut bob, sent),
        vec![(link, "BYE stop Private chat stopped.".to_string())]
    );
    assert!(a.closed.contains(&link));
    assert_eq!(a.take_sent(), vec!["stopprivate bob"]);
    assert_eq!(
        a.take_shown(),
        vec![Item::PrivateEnded {
            peer: name("bob"),
            why: EndReason::YouStopped
        }]
    );
    a.server(ServerMsg::PrivateEnded { peer: name("bob") });
    assert!(a.take_shown().is_empty());
    assert!(!a.state.private_open("bob"));
    // Stopping again: nothing here, so the server is asked, and its answer is shown.
    a.typed("stopprivate bob");
    assert_eq!(a.take_sent(), vec!["stopprivate bob"]);
    a.server(ServerMsg::Error(ErrorReply::NoSession {
        user: name("bob"),
    }));
    assert_eq!(
        a.take_shown(),
        vec![Item::Server(ServerMsg::Error(ErrorReply::NoSession {
            user: name("bob")
        }))]
    );
}

#[test]
fn the_peer_stopping_ends_the_session_here_too() {
    let (mut b, link, mut alice) = bob_open_with_alice();
    b.peer_frame(link, &seal(&mut alice, "BYE stop Private chat stopped."));
    assert_eq!(
        shown_plain(&mut b),
        vec![Item::PrivateEnded {
            peer: name("alice"),
            why: EndReason::PeerStopped
        }]
    );
    assert!(b.closed.contains(&link));
    assert_eq!(b.take_sent(), vec!["stopprivate alice"]);
    // alice told the server first, so it has no session to end: expected, not shown.
    b.server(ServerMsg::Error(ErrorReply::NoSession {
        user: name("alice"),
    }));
    assert!(shown_plain(&mut b).is_empty());
    b.typed("private alice still there?");
    assert_eq!(
        shown_plain(&mut b),
        vec![client_error(ClientError::NoPrivateChat {
            user: "alice".into()
        })]
    );
}

#[test]
fn a_peer_that_vanishes_is_reported_and_dropped() {
    let (mut a, link, _) = alice_open_with_bob();
    a.peer(link, PeerEvent::Closed);
    assert_eq!(
        a.take_shown(),
        vec![Item::PrivateEnded {
            peer: name("bob"),
            why: EndReason::ConnectionLost
        }]
    );
    assert_eq!(a.take_sent(), vec!["stopprivate bob"]);
    assert!(!a.state.private_open("bob"));
}

#[test]
fn logging_out_tells_every_peer_and_closes_their_links() {
    let (mut a, link, mut bob) = alice_open_with_bob();
    a.typed("logout");
    let sent = a.take_peer_sent();
    assert_eq!(
        opened(&mut bob, sent),
        vec![(link, "BYE logout Logged out.".to_string())]
    );
    assert!(a.closed.contains(&link));
    // The server ends its own record at logout: no stopprivate.
    assert_eq!(a.take_sent(), vec!["logout"]);
}

#[test]
fn losing_the_server_tells_every_peer() {
    let (mut b, link, mut alice) = bob_open_with_alice();
    b.event(Event::Server(ServerEvent::Closed));
    let sent = b.take_peer_sent();
    assert_eq!(
        opened(&mut alice, sent),
        vec![(link, "BYE offline Lost the server.".to_string())]
    );
    assert!(b.closed.contains(&link));
    assert_eq!(b.exit, Some(Exit::ConnectionLost));
}

#[test]
fn peers_learn_why_the_other_side_left() {
    for (line, why) in [
        ("BYE logout Logged out.", EndReason::PeerLoggedOut),
        ("BYE offline Lost the server.", EndReason::PeerOffline),
        ("BYE", EndReason::PeerStopped),
    ] {
        let (mut a, link, mut bob) = alice_open_with_bob();
        a.peer_frame(link, &seal(&mut bob, line));
        assert_eq!(
            a.take_shown(),
            vec![Item::PrivateEnded {
                peer: name("bob"),
                why
            }]
        );
    }
}

#[test]
fn a_session_survives_a_block_made_after_it_started() {
    let (mut b, link, mut alice) = bob_open_with_alice();
    b.typed("block alice");
    b.server(ServerMsg::Blocked {
        user: name("alice"),
    });
    b.peer_frame(link, &seal(&mut alice, "MSG still here"));
    b.typed("private alice and so am I");
    assert!(b.shown.contains(&Item::Private {
        from: name("alice"),
        text: "still here".into()
    }));
    let sent = b.take_peer_sent();
    assert_eq!(
        opened(&mut alice, sent),
        vec![(link, "MSG and so am I".to_string())]
    );
}

#[test]
fn set_up_failures_are_reported_and_the_server_told() {
    // Cannot connect.
    let mut a = online("alice");
    a.server(ServerMsg::PrivateAccepted {
        peer: name("bob"),
        addr: "127.0.0.1:6000".parse().unwrap(),
        token: token(T),
    });
    let (link, _) = a.connects[0];
    a.clear();
    a.peer(
        link,
        PeerEvent::ConnectFailed {
            error: "connection refused",
        },
    );
    assert_eq!(
        a.take_shown(),
        vec![Item::PrivateFailed {
            peer: name("bob"),
            why: SetupFailure::ConnectFailed {
                error: "connection refused".into()
            }
        }]
    );
    assert_eq!(a.take_sent(), vec!["stopprivate bob"]);
    a.server(ServerMsg::PrivateEnded { peer: name("bob") });
    assert!(a.take_shown().is_empty());

    // Connected, but refused, or no answer in time, or a wrong answer: garbage, an answer keyed by
    // another token, or a good handshake from someone who says they are not bob.
    enum Answer {
        Plain(&'static str),
        Keyed(u128, &'static str),
        Nothing,
    }
    for (answer, why) in [
        (
            Answer::Plain("NO unexpected No private chat accepted here matches this handshake."),
            SetupFailure::Refused(crate::protocol::p2p::Refusal::Unexpected),
        ),
        (
            // What a listener of the previous version answers this one's handshake with.
            Answer::Plain("NO bad-hello Start with HELLO <user>, then the Noise handshake."),
            SetupFailure::Refused(crate::protocol::p2p::Refusal::BadHello),
        ),
        (Answer::Plain("OK bob"), SetupFailure::BadAnswer),
        (Answer::Keyed(T ^ 1, "OK bob"), SetupFailure::BadAnswer),
        (Answer::Keyed(T, "OK mallory"), SetupFailure::BadAnswer),
        (
            Answer::Nothing,
            SetupFailure::NoAnswer {
                secs: crate::protocol::p2p::HANDSHAKE_SECS,
            },
        ),
    ] {
        let mut a = online("alice");
        a.server(ServerMsg::PrivateAccepted {
            peer: name("bob"),
            addr: "127.0.0.1:6000".parse().unwrap(),
            token: token(T),
        });
        let (link, _) = a.connects[0];
        a.peer(link, PeerEvent::Connected);
        let first = a.take_peer_sent()[0].1.clone();
        a.clear();
        let what = match &answer {
            Answer::Plain(l) => l.to_string(),
            Answer::Keyed(t, l) => format!("{l} keyed by {t:x}"),
            Answer::Nothing => "nothing".into(),
        };
        match answer {
            Answer::Plain(line) => a.peer_frame(link, line.as_bytes()),
            Answer::Keyed(t, payload) => {
                // A responder with another token cannot even read alice's first message; one with the
                // right token that names another user is caught by the answer's check.
                let mut padded = payload.as_bytes().to_vec();
                padded.resize(HANDSHAKE_PAYLOAD, b' ');
                match noise::respond(token(t), "alice", "bob", [8; 32], &first, &padded) {
                    Ok((_, answer)) => a.peer_frame(link, &answer),
                    Err(_) => a.peer_frame(link, &[0x42; 48]),
                }
            }
            Answer::Nothing => a.advance_secs(crate::protocol::p2p::HANDSHAKE_SECS),
        }
        assert_eq!(
            a.take_shown(),
            vec![Item::PrivateFailed {
                peer: name("bob"),
                why: why.clone()
            }],
            "{what}"
        );
        assert!(a.closed.contains(&link));
        assert!(!a.state.private_open("bob"));
    }
}

#[test]
fn the_accepting_side_gives_up_if_the_requester_never_connects() {
    let mut b = bob_expecting_alice();
    b.clear();
    b.advance_secs(crate::protocol::p2p::EXPECT_SECS);
    assert_eq!(
        b.take_shown(),
        vec![Item::PrivateFailed {
            peer: name("alice"),
            why: SetupFailure::NeverConnected {
                secs: crate::protocol::p2p::EXPECT_SECS
            }
        }]
    );
    assert_eq!(b.take_sent(), vec!["stopprivate alice"]);
}

#[test]
fn a_stale_set_up_timer_does_not_touch_a_newer_session() {
    let mut b = bob_expecting_alice();
    b.advance_secs(5);
    // That attempt is stopped, and a new one opens quickly.
    b.typed("stopprivate alice");
    b.server(ServerMsg::PrivateExpect {
        peer: name("alice"),
        token: token(T + 1),
    });
    b.peer(LinkId::In(1), PeerEvent::Incoming);
    connect_as(&mut b, LinkId::In(1), "alice", T + 1);
    b.advance_secs(crate::protocol::p2p::EXPECT_SECS * 2);
    assert!(b.state.private_open("alice"));
}

#[test]
fn bad_lines_inside_a_session_are_reported_and_ignored() {
    let (mut a, link, mut bob) = alice_open_with_bob();
    a.peer_frame(link, &bob.seal(b"MSG \x1b[2J gotcha"));
    a.peer_frame(link, &seal(&mut bob, "PING"));
    assert_eq!(a.shown.len(), 2);
    assert!(
        a.shown
            .iter()
            .all(|i| matches!(i, Item::Error(ClientError::BadPeerLine { .. })))
    );
    assert!(a.state.private_open("bob"));
    // A stream that is no longer framed cannot go on.
    a.peer(link, PeerEvent::Broken);
    assert!(a.shown.contains(&Item::PrivateEnded {
        peer: name("bob"),
        why: EndReason::Tampered
    }));
    assert!(!a.state.private_open("bob"));
}

/// Whether `name` appears anywhere in `bytes`.
fn names(bytes: &[u8], name: &str) -> bool {
    bytes.windows(name.len()).any(|w| w == name.as_bytes())
}

#[test]
fn nothing_on_the_link_names_either_user() {
    // Everything the connector sends before the session opens, for a long name and a short one.
    let mut lengths = Vec::new();
    for (me, peer) in [("alice", "bob"), ("al", "bartholomew_the_thirty_second_x")] {
        let mut a = online(me);
        a.server(ServerMsg::PrivateAccepted {
            peer: name(peer),
            addr: "127.0.0.1:6000".parse().unwrap(),
            token: token(T),
        });
        let (link, _) = a.connects[0];
        a.peer(link, PeerEvent::Connected);
        let sent = a.take_peer_sent();
        assert!(!sent.is_empty());
        for (_, frame) in &sent {
            for who in [me, peer] {
                assert!(!names(frame, who), "{who:?} readable in {frame:?}");
            }
        }
        lengths.push(sent.iter().map(|(_, f)| f.len()).collect::<Vec<_>>());
    }
    assert_eq!(
        lengths[0], lengths[1],
        "the frames' sizes do not tell the names' lengths"
    );

    // The listener's answer names nobody either.
    let mut b = bob_expecting_alice();
    let link = LinkId::In(1);
    b.peer(link, PeerEvent::Incoming);
    let (hs, first) = noise::initiate(token(T), "alice", "bob", [9; 32], &hello("alice")).unwrap();
    b.peer_frame(link, &first);
    let sent = b.take_peer_sent();
    for (_, frame) in &sent {
        assert!(!names(frame, "alice") && !names(frame, "bob"), "{frame:?}");
    }
    let (_, ok) = finish(hs, &sent, link);
    assert_eq!(ok.trim_end(), "OK bob");
}

/// What `c` showed, but for the notes saying how a conversation is protected (said when one is
/// first used).
fn shown_plain(c: &mut Client) -> Vec<Item> {
    c.take_shown()
        .into_iter()
        .filter(|i| !matches!(i, Item::E2e(crate::client::e2e::Note::Protection { .. })))
        .collect()
}

/// A client with end-to-end keys, logged in as `user`.
fn with_keys(user: &str) -> Client {
    let mut config = Config::new(P2P_PORT);
    config.e2e = Some(crate::client::e2e::Setup {
        engine: std::sync::Arc::new(crate::client::e2e::test_engine::TestEngine::named(user)),
    });
    let mut c = Client::with_config(config);
    c.login(user);
    c.clear();
    c
}

/// `a` asked bob, bob accepted, `a` connected and bob answered: open on `a`'s side; bob's end too.
fn open_with_bob(mut a: Client) -> (Client, LinkId, Secure, Vec<String>) {
    a.server(ServerMsg::PrivateAccepted {
        peer: name("bob"),
        addr: "127.0.0.1:6000".parse().unwrap(),
        token: token(T),
    });
    let (link, _) = a.connects[0];
    a.peer(link, PeerEvent::Connected);
    let sent = a.take_peer_sent();
    let (mut bob, answer) =
        noise::respond(token(T), "alice", "bob", [8; 32], &sent[0].1, &ok("bob")).unwrap();
    a.peer_frame(link, &answer);
    let lines = opened(&mut bob, a.take_peer_sent())
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    a.clear();
    (a, link, bob, lines)
}

/// A device of `user`'s own, to prove an identity with (the same keys as `with_keys(user)`'s).
fn device(user: &str) -> crate::client::e2e::E2e {
    device_with(user, user)
}

/// A device of `user` whose keys come from the engine seeded by `keys` (another's than `user`'s own
/// when they differ: what a server in the middle would make).
fn device_with(keys: &str, user: &str) -> crate::client::e2e::E2e {
    crate::client::e2e::E2e::open(
        std::sync::Arc::new(crate::client::e2e::test_engine::TestEngine::named(keys)),
        name(user),
        &[],
        &mut Vec::new(),
    )
    .unwrap()
}

/// The `ID` line `dev` sends in session `secure`.
fn id_line(dev: &crate::client::e2e::E2e, secure: &Secure) -> String {
    let id = dev.private_identity();
    let sig = id
        .sign(&crate::client::private::session_statement(
            &id.me,
            secure.handshake_hash(),
        ))
        .unwrap();
    format!(
        "ID {} {} {sig}",
        id.identity.curve25519, id.identity.ed25519
    )
}

#[test]
fn a_private_chat_is_signed_with_each_identity_and_checked_against_the_pins() {
    let (mut a, link, mut bob, lines) = open_with_bob(with_keys("alice"));
    // alice's first line inside the session: her identity, signed over this session's hash.
    let alice_id = a.state.device().unwrap().private_identity();
    let [line] = &lines[..] else {
        panic!("one line: {lines:?}")
    };
    let PeerMsg::Id {
        curve25519,
        ed25519,
        signature,
    } = crate::protocol::p2p::decode(line).unwrap()
    else {
        panic!("{line}")
    };
    assert_eq!(curve25519, alice_id.identity.curve25519);
    assert_eq!(ed25519, alice_id.identity.ed25519);
    let statement = crate::client::private::session_statement("alice", bob.handshake_hash());
    assert!(alice_id.verify(ed25519, &statement, signature));

    // bob proves his: pinned on first use, the chat goes on.
    let bob_dev = device("bob");
    let line = id_line(&bob_dev, &bob);
    a.peer_frame(link, &seal(&mut bob, &line));
    let pinned = a.state.device().unwrap().contacts().get("bob").cloned();
    assert_eq!(pinned.unwrap().pinned, bob_dev.private_identity().identity);
    assert!(a.state.private_open("bob"));

    // The next session "with bob" is signed by another identity (a server in the middle, which
    // knows the token, with keys of its own): a loud warning, and the chat ends.
    let (mut a, link, mut mallory, _) = open_with_bob(a);
    let line = id_line(&device_with("mallory", "bob"), &mallory);
    a.peer_frame(link, &seal(&mut mallory, &line));
    assert!(
        a.shown
            .iter()
            .any(|i| matches!(i, Item::E2e(crate::client::e2e::Note::KeyChanged { .. }))),
        "{:?}",
        a.shown
    );
    assert!(a.shown.contains(&Item::PrivateEnded {
        peer: name("bob"),
        why: EndReason::Unproven
    }));
    assert!(!a.state.private_open("bob"));
}

#[test]
fn a_private_chat_identity_whose_signature_is_not_over_this_session_ends_it() {
    let (mut a, link, mut bob, _) = open_with_bob(with_keys("alice"));
    let bob_dev = device("bob");
    // Signed over another session's hash (a replay from an earlier chat).
    let id = bob_dev.private_identity();
    let sig = id
        .sign(&crate::client::private::session_statement("bob", &[0; 32]))
        .unwrap();
    let line = format!(
        "ID {} {} {sig}",
        id.identity.curve25519, id.identity.ed25519
    );
    a.peer_frame(link, &seal(&mut bob, &line));
    assert!(a.shown.contains(&Item::PrivateEnded {
        peer: name("bob"),
        why: EndReason::Unproven
    }));
}

#[test]
fn a_peer_that_never_proves_its_identity_gets_nothing_and_the_chat_ends_loudly() {
    // A server in the middle has the token and completes the handshake, but cannot sign this
    // session with bob's identity key: it sends no proof (a client of the old version let a chat
    // without one go on, as if the peer had no keys).
    let mut a = online("alice");
    a.server(ServerMsg::PrivateAccepted {
        peer: name("bob"),
        addr: "127.0.0.1:6000".parse().unwrap(),
        token: token(T),
    });
    let (link, _) = a.connects[0];
    a.peer(link, PeerEvent::Connected);
    let sent = a.take_peer_sent();
    let (mut mitm, answer) =
        noise::respond(token(T), "alice", "bob", [8; 32], &sent[0].1, &ok("bob")).unwrap();
    a.peer_frame(link, &answer);
    a.typed("private bob the eagle lands at midnight");
    assert!(
        a.shown.contains(&Item::Error(ClientError::PrivateNotOpen {
            user: name("bob")
        })),
        "{:?}",
        a.shown
    );
    a.advance_secs(crate::protocol::p2p::HANDSHAKE_SECS);
    let lines: Vec<String> = opened(&mut mitm, a.take_peer_sent())
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert!(
        lines.len() <= 2
            && lines[0].starts_with("ID ")
            && !lines.iter().any(|l| l.contains("eagle")),
        "only alice's own proof (and a goodbye) left: {lines:?}"
    );
    assert!(a.shown.contains(&Item::PrivateEnded {
        peer: name("bob"),
        why: EndReason::Unproven
    }));
    assert!(!a.shown.contains(&Item::PrivateOpen { peer: name("bob") }));
    assert!(a.closed.contains(&link));
    assert_eq!(a.take_sent(), vec!["stopprivate bob"], "the server is told");
}

#[test]
fn text_before_the_peers_proof_is_not_shown_and_ends_the_chat() {
    let mut b = bob_expecting_alice();
    let link = LinkId::In(1);
    b.peer(link, PeerEvent::Incoming);
    let hs = introduce(&mut b, link, "alice", "bob", T);
    let (mut alice, _) = finish(hs, &b.take_peer_sent(), link);
    b.peer_frame(link, &seal(&mut alice, "MSG trust me, I am alice"));
    assert!(
        !b.shown.iter().any(|i| matches!(i, Item::Private { .. })),
        "{:?}",
        b.shown
    );
    assert!(b.shown.contains(&Item::PrivateEnded {
        peer: name("alice"),
        why: EndReason::Unproven
    }));
    // A proof coming after that finds no chat.
    prove(&mut b, link, &mut alice, "alice");
    assert!(!b.state.private_open("alice"));
}

#[test]
fn a_proven_chat_outlives_the_proof_deadline() {
    let (mut a, link, mut bob) = alice_open_with_bob();
    a.advance_secs(crate::protocol::p2p::HANDSHAKE_SECS * 3);
    assert!(a.state.private_open("bob"));
    a.typed("private bob still here");
    let lines = opened(&mut bob, a.take_peer_sent());
    assert_eq!(lines, vec![(link, "MSG still here".to_owned())]);
}

#[test]
fn a_session_that_ends_before_the_peer_proved_anything_is_reported_as_unproven() {
    // A party in the middle that cannot prove bob's identity may as well hang up: that too is said
    // loudly, not as an ordinary lost connection.
    for event in [PeerEvent::Closed, PeerEvent::Broken] {
        let mut b = bob_expecting_alice();
        let link = LinkId::In(1);
        b.peer(link, PeerEvent::Incoming);
        let hs = introduce(&mut b, link, "alice", "bob", T);
        finish(hs, &b.take_peer_sent(), link);
        b.peer(link, event);
        assert!(
            b.shown.contains(&Item::PrivateEnded {
                peer: name("alice"),
                why: EndReason::Unproven
            }),
            "{:?}",
            b.shown
        );
    }
}
