//! The bodies of the cargo-fuzz targets, kept in the library so that `cargo test` can replay the committed
//! corpus and every input that ever crashed through exactly the same checks (`tests/fuzz_corpus.rs`).
//!
//! Each function panics, with a message that says what broke, when a property fails; libFuzzer reports the
//! panic as a crash.

use super::clients::Setup;
use super::step::{Op, Trace};
use super::world::World;
use natter_core::protocol::{
    Command, LineError, check_line, decode_line, parse_by_grammar, parse_command, render_line,
};

/// The IRC codec never panics, a message it reads is written back as a line that reads the same,
/// and an IRC connection's front takes any line without panicking, before registration and after a
/// refused one.
pub fn irc_round_trip(data: &[u8]) {
    if let Ok(m) = natter_core::irc::parse(data) {
        let mut out = Vec::new();
        m.render(&mut out);
        assert!(out.ends_with(b"\r\n"), "{out:?}");
        let body = &out[..out.len() - 2];
        assert_eq!(
            natter_core::irc::parse(body).as_ref(),
            Ok(&m),
            "{data:?} read, written as {out:?}, and did not read back the same"
        );
    }
    let mut session = natter_core::irc::IrcSession::new();
    let mut steps = Vec::new();
    // With the IRCv3 capabilities that read a line's tags (labels, client-only tags).
    session.from_client(
        b"CAP REQ :message-tags echo-message labeled-response batch",
        &mut steps,
    );
    session.from_client(b"NICK x", &mut steps);
    session.from_client(data, &mut steps);
    session.from_client(b"USER x 0 * :x", &mut steps);
    session.from_client(data, &mut steps);
}

/// The line check says of any bytes what its definition says (UTF-8, then no control character but
/// tab: its shortcut for printable ASCII must never pass anything else), parsing never panics, the
/// fast reader of the hot commands agrees with the grammar, and a parsed command renders to a line
/// that parses back to it.
pub fn parse_round_trip(data: &[u8]) {
    let utf8 = std::str::from_utf8(data);
    let by_definition = match utf8 {
        Err(_) => Err(LineError::InvalidUtf8),
        Ok(text) if text.chars().any(|c| c.is_control() && c != '\t') => {
            Err(LineError::ControlChar)
        }
        Ok(text) => Ok(text),
    };
    assert_eq!(
        check_line(data),
        by_definition,
        "{data:?}: the line check and its definition disagree"
    );
    let Ok(text) = utf8 else {
        return;
    };
    let parsed = parse_command(text);
    assert_eq!(
        parsed,
        parse_by_grammar(text),
        "{text:?}: the fast reader and the grammar disagree"
    );
    let Ok(cmd) = parsed else {
        return;
    };
    let line = cmd.to_line();
    assert_eq!(
        parse_command(&line).as_ref(),
        Ok(&cmd),
        "{text:?} parsed, rendered as {line:?}, and did not parse back the same"
    );
    if let Command::Message { to, text } = &cmd {
        assert!(!to.is_empty() && !to.contains([' ', '\t']), "{to:?}");
        assert!(!text.trim().is_empty(), "{text:?}");
    }
}

/// Decoding a server line never panics, and what it decodes renders to a single line that decodes to the
/// same message. Lines never contain a newline (framing splits on it first), so inputs with one are skipped.
pub fn decode_round_trip(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains('\n') {
        return;
    }
    let Ok(msg) = decode_line(text) else {
        return;
    };
    let rendered = render_line(&msg);
    let rendered = std::str::from_utf8(&rendered).expect("rendering gives UTF-8");
    let body = rendered
        .strip_suffix('\n')
        .expect("a rendered line ends with a newline");
    assert!(
        !body.contains('\n'),
        "{text:?} decoded to {msg:?}, which renders as more than one line: {rendered:?}"
    );
    assert_eq!(
        decode_line(body).as_ref(),
        Ok(&msg),
        "{text:?} decoded to {msg:?}, rendered as {body:?}, which decodes differently"
    );
}

/// A run of the core under structured operations, from fuzzer bytes.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FuzzRun {
    pub register: bool,
    pub ops: Vec<Op>,
}

/// The most operations one fuzz input runs, so each execution stays fast.
pub const MAX_FUZZ_OPS: usize = 256;

/// The small world a fuzz input runs in: 5 accounts, 6 clients.
pub fn fuzz_setup(register: bool) -> Setup {
    let mut s = Setup::small(5, 6);
    s.config.register = register;
    s.queue_limit = 6;
    s.restore_check_every = 64;
    s
}

/// Drives the core (and the model) with the operations, then the liveness phase; every invariant is checked
/// after every step. Panics with the failure and the steps that led to it.
pub fn run_ops(run: &FuzzRun) {
    let mut world = World::new(fuzz_setup(run.register));
    let result = run
        .ops
        .iter()
        .take(MAX_FUZZ_OPS)
        .try_for_each(|op| world.apply_op(*op))
        .and_then(|()| world.liveness());
    if let Err(failure) = result {
        panic!(
            "{failure}\nsteps (register: {}):\n{}",
            run.register,
            Trace(world.trace())
        );
    }
}

/// [`run_ops`] on raw fuzzer bytes, decoded exactly as `libfuzzer_sys::fuzz_target!` decodes a typed input,
/// so the corpus-replay test runs committed inputs the way the fuzzer did.
#[cfg(feature = "arbitrary")]
pub fn run_ops_bytes(data: &[u8]) {
    use arbitrary::{Arbitrary, Unstructured};
    if let Ok(run) = FuzzRun::arbitrary_take_rest(Unstructured::new(data)) {
        run_ops(&run);
    }
}

/// A private-chat listener (bob, expecting alice) fed arbitrary bytes on its link, through the real frame
/// decoder: it never panics, it shows no private message that was not sealed with the session's keys,
/// and it opens a session only for a first message made with alice's token for alice and bob, and
/// only once the peer proved alice's identity over that very session.
///
/// The first byte picks where the bytes start and what bob expects. Bit 0: after a genuine handshake
/// (so they land in an open session, where only sealed frames may be shown), or on a fresh connection
/// (so they must get through the handshake themselves). Bit 1, on a fresh connection: the server's
/// `PRIVATE-EXPECT` for alice comes only after the bytes (so a first message is parked, then tried).
/// Bit 2: bob expects others too, as many as he may, so a first message is tried under several tokens.
pub fn peer_link(data: &[u8]) {
    use natter_core::client::e2e::{E2e, Setup, test_engine::TestEngine};
    use natter_core::client::{
        ClientState, Config, Effect, Event, Item, LinkId, PeerEvent, ServerEvent, UserEvent, noise,
        session_statement,
    };
    use natter_core::protocol::p2p::{
        FrameDecoder, MAX_EXPECTING, PeerFrame, PeerMsg, handshake_payload,
    };
    use natter_core::protocol::{Name, Prompt, ServerMsg, Token};
    use natter_core::time::Timestamp;

    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let genuine = mode & 1 == 1;
    let expect_late = !genuine && mode & 2 == 2;
    let token = Token(0x5eed_0000_1111_2222_3333_4444_5555_6666);
    let now = Timestamp::from_millis(1_700_000_000_000);
    // bob has end-to-end keys (a client without opens no private chat), from the test engine.
    let mut config = Config::new(5555);
    config.e2e = Some(Setup {
        engine: std::sync::Arc::new(TestEngine::named("bob")),
    });
    let mut bob = ClientState::new(config, now);
    let shown = std::cell::RefCell::new(Vec::new());
    // Shows are recorded; the end-to-end store is played as a shell with nothing stored would (an
    // empty device at login, every commit durable at once).
    let mut feed = |bob: &mut ClientState, event: Event<'_>| {
        let mut out = Vec::new();
        bob.handle(event, now, &mut out);
        let mut answers = Vec::new();
        for e in out {
            match e {
                Effect::Show(item) => shown.borrow_mut().push(item),
                Effect::OpenE2e { user, .. } => answers.push(Event::E2eOpened {
                    user,
                    stored: Ok(Vec::new()),
                }),
                Effect::CommitE2e => answers.push(Event::E2eCommitted(Ok(()))),
                _ => {}
            }
        }
        while let Some(answer) = answers.pop() {
            let mut out = Vec::new();
            bob.handle(answer, now, &mut out);
            for e in out {
                match e {
                    Effect::Show(item) => shown.borrow_mut().push(item),
                    Effect::CommitE2e => answers.push(Event::E2eCommitted(Ok(()))),
                    _ => {}
                }
            }
        }
    };
    let server = |bob: &mut ClientState, feed: &mut dyn FnMut(&mut ClientState, Event<'_>), m| {
        let line = render_line(&m);
        feed(
            bob,
            Event::Server(ServerEvent::Line(&line[..line.len() - 1])),
        );
    };
    let expect_alice = ServerMsg::PrivateExpect {
        peer: Name::from("alice"),
        token,
    };
    feed(&mut bob, Event::Server(ServerEvent::Connected));
    server(&mut bob, &mut feed, ServerMsg::Prompt(Prompt::Username));
    feed(&mut bob, Event::User(UserEvent::Line(b"bob")));
    server(&mut bob, &mut feed, ServerMsg::Prompt(Prompt::Password));
    feed(&mut bob, Event::User(UserEvent::Line(b"pw")));
    server(
        &mut bob,
        &mut feed,
        ServerMsg::Welcome {
            user: Name::from("bob"),
        },
    );
    if mode & 4 == 4 {
        for n in 1..MAX_EXPECTING {
            server(
                &mut bob,
                &mut feed,
                ServerMsg::PrivateExpect {
                    peer: Name::from(format!("other{n}").as_str()),
                    token: Token(token.0 ^ n as u128),
                },
            );
        }
    }
    if !expect_late {
        server(&mut bob, &mut feed, expect_alice.clone());
    }
    let link = LinkId::In(1);
    feed(
        &mut bob,
        Event::Peer {
            link,
            event: PeerEvent::Incoming,
        },
    );
    if genuine {
        let hello = handshake_payload(&PeerMsg::Hello { user: "alice" });
        let (hs, first) =
            noise::initiate(token, "alice", "bob", [3; 32], &hello).expect("initiate");
        let mut out = Vec::new();
        bob.handle(
            Event::Peer {
                link,
                event: PeerEvent::Frame(&first),
            },
            now,
            &mut out,
        );
        // bob's answer, then his proof.
        let answer = out
            .into_iter()
            .find_map(|e| match e {
                Effect::PeerSend { frame, .. } => Some(frame),
                _ => None,
            })
            .expect("bob answers the handshake");
        assert!(!bob.private_open("alice"), "not before alice's proof");
        let (mut alice, _) = hs.finish(&answer).expect("the handshake completes");
        let device = E2e::open(
            std::sync::Arc::new(TestEngine::named("alice")),
            Name::from("alice"),
            &[],
            &mut Vec::new(),
        )
        .expect("a device");
        let id = device.private_identity();
        let signature = id
            .sign(&session_statement("alice", alice.handshake_hash()))
            .expect("signed");
        let proof = PeerMsg::Id {
            curve25519: &id.identity.curve25519,
            ed25519: &id.identity.ed25519,
            signature: &signature,
        }
        .to_line();
        let sealed = alice.seal(proof.as_bytes());
        feed(
            &mut bob,
            Event::Peer {
                link,
                event: PeerEvent::Frame(&sealed),
            },
        );
        assert!(
            bob.private_open("alice"),
            "the genuine handshake and proof open the session"
        );
    }
    let before = shown.borrow().len();
    let mut decoder = FrameDecoder::new();
    let mut frames = Vec::new();
    decoder.feed(rest, |f| {
        frames.push(match f {
            PeerFrame::Frame(b) => Some(b.to_vec()),
            PeerFrame::Broken => None,
        })
    });
    for f in &frames {
        let event = match f {
            Some(b) => PeerEvent::Frame(b),
            None => PeerEvent::Broken,
        };
        feed(&mut bob, Event::Peer { link, event });
    }
    if expect_late {
        server(&mut bob, &mut feed, expect_alice);
    }
    if !genuine && bob.private_open("alice") {
        // Only a first message made with the token, for these two names, may open it (and then
        // only with alice's proof, which needs her identity key: it cannot come from fuzzed bytes
        // alone, so this is never reached in practice).
        let made_with_token = frames.iter().flatten().any(|f| {
            noise::receive(token, "alice", "bob", [0; 32], f).is_ok_and(|(_, payload)| {
                payload == handshake_payload(&PeerMsg::Hello { user: "alice" })
            })
        });
        assert!(
            made_with_token,
            "a session opened without alice's handshake"
        );
    }
    let shown = shown.borrow();
    assert!(
        !shown[before..]
            .iter()
            .any(|i| matches!(i, Item::Private { .. })),
        "unauthenticated bytes were shown as a private message: {:?}",
        &shown[before..]
    );
}

/// What a cluster node reads from Redis, under hostile bytes. The first byte picks the decoder:
/// a shared-log entry, a node's batch of events (it never panics, and an entry it accepts encodes
/// back to exactly the same bytes, so no two byte strings mean one entry), or a snapshot (it never
/// panics, and anything damaged is an error; the body is also decoded past its checksum, so its
/// decoder itself is reached).
pub fn cluster_log(data: &[u8]) {
    use natter_core::server::cluster::{LogEvent, ReplicaLog, snapshot};
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        // An entry holds a node's batch of events (or, written by an earlier build, one alone).
        if let Ok(events) = LogEvent::decode_batch(rest) {
            let again = match rest.first() {
                Some(&natter_core::server::cluster::entry::LOG_VERSION) => events[0].encode(),
                _ => LogEvent::encode_batch(&events),
            };
            assert_eq!(
                again, rest,
                "{events:?} was read from bytes it does not encode to"
            );
        }
        return;
    }
    let _ = snapshot::decode(rest);
    // The same bytes as the body of a snapshot with a checksum that matches.
    let mut framed = snapshot::encode(
        &natter_core::server::harness::Harness::new(
            natter_core::server::Config::default(),
            &[("a", "b")],
        )
        .into_state(),
        &ReplicaLog::new(),
    );
    let header = framed.len() - snapshot::body_len(&framed);
    framed.truncate(header);
    framed.extend_from_slice(rest);
    snapshot::fix_checksum(&mut framed);
    let _ = snapshot::decode(&framed);
}
