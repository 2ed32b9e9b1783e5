//! Private chats: from the server's go-ahead, through the direct connection's handshake, to the end.
//!
//! The server brokers; the text never goes near it. The requester gets `PRIVATE-ACCEPTED` (the peer's
//! address and a one-time token) and connects; the accepting side gets `PRIVATE-EXPECT` (the same token)
//! and waits. The connector starts a Noise handshake keyed by the token ([`super::noise`]), saying who
//! it is only inside it; the listener tries that first message under each private chat it expects
//! (at most [`MAX_EXPECTING`]), and completes the handshake only for one it authenticates under. So
//! nobody else can open, read or inject into the session, neither the token nor either name crosses
//! the wire, and a connection that authenticates under no expected chat is never told why in detail.
//!
//! The server's two lines race the connection itself: a handshake may arrive before this side has read
//! its `PRIVATE-EXPECT`. A first message that authenticates under nothing expected is therefore
//! *parked*, and tried again under each expectation that arrives, until its handshake deadline passes;
//! only then is it refused. (A stranger's connection cannot be told from one of these, so it is held
//! the same way, within the [`MAX_GREETING`] bound.)
//!
//! Whenever a session ends, for whatever reason, the client tells the server with `stopprivate` (its
//! reply is expected and not shown), except when it is logging out or has lost the server, which ends
//! every session on the server's side anyway.

use std::net::SocketAddr;

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use super::display::{ClientError, EndReason, Item, SetupFailure};
use super::event::{Effect, LinkId, PeerEvent, show, show_error};
use super::noise::{self, Initiated, Secure};
use crate::protocol::p2p::{
    self, MAX_EXPECTING, MAX_GREETING, MAX_LINE, PeerBye, PeerMsg, Refusal, handshake_payload,
};
use crate::protocol::{Command, Name, Token, check_line};
use crate::time::Timestamp;
use crate::timers::Timers;

/// A deadline of the private chats: a setup (numbered per attempt) giving up, or an incoming
/// connection that has not introduced itself in time. One that passes when no longer wanted finds
/// nothing to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum ChatTimer {
    /// The requester's connect-and-handshake, or the accepting side's wait for the requester.
    Setup(u64),
    /// An inbound connection that has not finished introducing itself.
    Greeting(LinkId),
    /// A session (numbered as its setup) whose peer has not proved its identity yet.
    Proof(u64),
}

/// A private chat with one peer, numbered per attempt so a stale timer cannot touch a newer one.
#[derive(Debug)]
struct Peer {
    setup: u64,
    state: PeerState,
}

#[derive(Debug)]
enum PeerState {
    /// This side asked and was accepted: connecting, then waiting for `OK`.
    Dialing { link: LinkId, deadline: Timestamp },
    /// This side accepted: waiting for the requester to connect with `token`.
    Expecting {
        token: Token,
        deadline: Timestamp,
        /// Whether the user was told that a connection claiming to be this peer spoke an older
        /// version of the link (once: anyone can claim it, so it must not flood the screen).
        told_outdated: bool,
    },
    /// The handshake is done. Until `proven`, the peer has not yet proved (with its identity key,
    /// over this very session) that it is who the server said: nothing is sent on the session but
    /// this side's own proof, and nothing received is shown.
    Open { link: LinkId, proven: bool },
}

impl Peer {
    fn is_open(&self) -> bool {
        matches!(self.state, PeerState::Open { proven: true, .. })
    }

    fn link(&self) -> Option<LinkId> {
        match self.state {
            PeerState::Dialing { link, .. } | PeerState::Open { link, .. } => Some(link),
            PeerState::Expecting { .. } => None,
        }
    }
}

/// One peer-to-peer connection.
#[derive(Debug)]
enum Link {
    /// Outgoing to `peer`; the handshake's first message goes out once connected, then `handshake`
    /// waits for the answer.
    Dialing {
        peer: Name,
        token: Token,
        handshake: Option<Initiated>,
    },
    /// Incoming; its first handshake message has not arrived.
    Greeting {
        deadline: Timestamp,
    },
    /// Incoming; its first handshake message (`first`, of the right size) authenticates under no
    /// private chat expected so far: held until one it does arrives, or the deadline.
    Parked {
        first: Vec<u8>,
        deadline: Timestamp,
    },
    Open {
        peer: Name,
        secure: Secure,
    },
}

impl Link {
    /// An incoming connection not yet recognised as any peer's.
    fn is_greeting(&self) -> bool {
        matches!(self, Link::Greeting { .. } | Link::Parked { .. })
    }
}

/// What a private chat needs to know of the session it runs in.
#[derive(Clone, Debug)]
pub(super) struct Ctx {
    pub(super) now: Timestamp,
    /// The logged-in user, if any.
    pub(super) me: Option<Name>,
}

/// Every private chat of this client: the peers being set up or open, their direct connections, and the
/// numbering of both. It knows nothing else of the client; the session's time and user come in as a
/// [`Ctx`].
#[derive(Debug)]
pub(super) struct PrivateChats {
    peers: BTreeMap<Name, Peer>,
    links: BTreeMap<LinkId, Link>,
    next_out: u64,
    next_setup: u64,
    /// `stopprivate` lines the client sent on its own to keep the server's record in step; their
    /// replies (`PRIVATE-ENDED`, or `no-session` if the other side told the server first) are expected
    /// and not shown.
    quiet_stops: BTreeMap<Name, u32>,
    /// Seconds a peer connection has for its handshake.
    handshake_secs: u64,
    /// Seconds the accepting side waits for the requester to connect.
    expect_secs: u64,
    /// Where each handshake's ephemeral keys come from (seeded by the shell with OS randomness).
    rng: ChaCha20Rng,
    /// The deadlines of the setups and greetings under way.
    timers: Timers<ChatTimer>,
    /// This device's end-to-end identity, when it has one: each open session is signed with it.
    identity: Option<std::sync::Arc<super::e2e::PrivateIdentity>>,
    /// Peers whose identity keys signed their session, waiting for the session to check them against
    /// its pins ([`Self::take_proven`]), which then confirms ([`Self::confirm_proven`]) or ends
    /// ([`Self::end_unproven`]) each.
    proven: Vec<(Name, super::e2e::Identity)>,
}

/// What a peer signs to bind a private chat's session to its identity key: its name and the
/// handshake hash, which differs for every session and is the same at both ends.
pub fn session_statement(signer: &str, hash: &[u8]) -> String {
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("natter-private:{signer}:{hex}")
}

impl PrivateChats {
    /// Signs each session opened from now on with this device's identity.
    pub(super) fn set_identity(&mut self, identity: Option<super::e2e::PrivateIdentity>) {
        self.identity = identity.map(std::sync::Arc::new);
    }

    /// Whether this client can prove who it is in a private chat (it has usable end-to-end keys):
    /// without, it can open none, since a chat whose ends are not proven is one a server in the middle
    /// could read.
    pub(super) fn can_prove(&self) -> bool {
        self.identity.is_some()
    }

    /// The peer's proof checked out against the pins: the chat with `peer` is open for text.
    pub(super) fn confirm_proven(&mut self, peer: &Name, out: &mut Vec<Effect>) {
        if let Some(Peer {
            state: PeerState::Open { proven, .. },
            ..
        }) = self.peers.get_mut(peer)
            && !*proven
        {
            *proven = true;
            show(out, Item::PrivateOpen { peer: peer.clone() });
        }
    }

    /// The peers whose signatures over their sessions verified since the last call, with the
    /// identity they proved.
    pub(super) fn take_proven(&mut self) -> Vec<(Name, super::e2e::Identity)> {
        std::mem::take(&mut self.proven)
    }

    /// Ends the open chat with `peer` because its identity is not the one pinned.
    pub(super) fn end_unproven(&mut self, cx: &Ctx, peer: &Name, out: &mut Vec<Effect>) {
        let Some(link) = self.peers.get(peer).and_then(|p| p.link()) else {
            return;
        };
        self.send_sealed(
            link,
            &PeerMsg::Bye {
                reason: PeerBye::Stop,
            }
            .to_line(),
            out,
        );
        self.proven.retain(|(p, _)| p != peer);
        self.end_open(cx, link, peer.clone(), EndReason::Unproven, out);
    }

    pub(super) fn new(handshake_secs: u64, expect_secs: u64, seed: [u8; 32]) -> Self {
        PrivateChats {
            peers: BTreeMap::new(),
            links: BTreeMap::new(),
            next_out: 1,
            next_setup: 1,
            quiet_stops: BTreeMap::new(),
            handshake_secs,
            expect_secs,
            rng: ChaCha20Rng::from_seed(seed),
            timers: Timers::new(),
            identity: None,
            proven: Vec::new(),
        }
    }

    /// Sends one line over an open link, encrypted.
    fn send_sealed(&mut self, link: LinkId, line: &str, out: &mut Vec<Effect>) {
        if let Some(Link::Open { secure, .. }) = self.links.get_mut(&link) {
            out.push(Effect::PeerSend {
                link,
                frame: secure.seal(line.as_bytes()),
            });
        }
    }

    /// Whether a private chat with `peer` is open (both sides have completed the handshake).
    pub(super) fn is_open(&self, peer: &str) -> bool {
        self.peers.get(peer).is_some_and(Peer::is_open)
    }

    /// Peer connections being tracked (set up, waiting, or open).
    pub(super) fn link_count(&self) -> usize {
        self.links.len()
    }

    /// The client is exiting: every link is closed, every chat forgotten, nobody told.
    pub(super) fn close_all(&mut self, out: &mut Vec<Effect>) {
        for link in std::mem::take(&mut self.links).into_keys() {
            out.push(Effect::PeerClose { link });
        }
        self.peers.clear();
    }

    /// Tells the server a private chat is over, expecting its reply not to be worth showing.
    fn quiet_stop(&mut self, cx: &Ctx, peer: &Name, out: &mut Vec<Effect>) {
        if cx.me.is_none() {
            return;
        }
        *self.quiet_stops.entry(peer.clone()).or_default() += 1;
        out.push(Effect::Send(Command::StopPrivate { user: peer }.to_line()));
    }

    /// Whether the server's answer about `peer` (`PRIVATE-ENDED`, or `no-session`) answers a quiet stop.
    pub(super) fn take_quiet_stop(&mut self, peer: &Name) -> bool {
        match self.quiet_stops.get_mut(peer) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                self.quiet_stops.remove(peer);
                true
            }
            None => false,
        }
    }

    /// Records a private chat being set up with `peer` under a new attempt number, and the timer that
    /// gives up on it at `deadline` (a stale timer of an earlier attempt then finds nothing to do).
    fn begin_setup(&mut self, peer: &Name, deadline: Timestamp, state: PeerState) {
        let setup = self.next_setup;
        self.next_setup += 1;
        self.peers.insert(peer.clone(), Peer { setup, state });
        self.timers.set(ChatTimer::Setup(setup), deadline);
    }

    // --- from the server ---

    pub(super) fn on_private_accepted(
        &mut self,
        cx: &Ctx,
        peer: Name,
        addr: SocketAddr,
        token: Token,
        out: &mut Vec<Effect>,
    ) {
        if cx.me.clone().is_none() {
            return;
        }
        self.forget_peer(&peer, out);
        let link = LinkId::Out(self.next_out);
        self.next_out += 1;
        let deadline = cx.now.plus_secs(self.handshake_secs);
        // A server listening on both IPv4 and IPv6 reports IPv4 clients as IPv4-mapped IPv6 addresses;
        // connect to the plain IPv4 address, which works whichever way the peer's listener is bound.
        let addr = SocketAddr::new(addr.ip().to_canonical(), addr.port());
        self.links.insert(
            link,
            Link::Dialing {
                peer: peer.clone(),
                token,
                handshake: None,
            },
        );
        self.begin_setup(&peer, deadline, PeerState::Dialing { link, deadline });
        show(out, Item::PrivateConnecting { peer });
        out.push(Effect::Connect { link, addr });
    }

    pub(super) fn on_private_expect(
        &mut self,
        cx: &Ctx,
        peer: Name,
        token: Token,
        out: &mut Vec<Effect>,
    ) {
        if cx.me.clone().is_none() {
            return;
        }
        self.forget_peer(&peer, out);
        let expecting = self
            .peers
            .values()
            .filter(|p| matches!(p.state, PeerState::Expecting { .. }))
            .count();
        if expecting >= MAX_EXPECTING {
            // Each expectation is one more try for every inbound first message: keep that bounded.
            show(
                out,
                Item::PrivateFailed {
                    peer: peer.clone(),
                    why: SetupFailure::TooManyWaiting { max: MAX_EXPECTING },
                },
            );
            return self.quiet_stop(cx, &peer, out);
        }
        let deadline = cx.now.plus_secs(self.expect_secs);
        let state = PeerState::Expecting {
            token,
            deadline,
            told_outdated: false,
        };
        self.begin_setup(&peer, deadline, state);
        show(out, Item::PrivateAwaiting { peer: peer.clone() });
        // The requester may already have connected and started its handshake.
        let parked: Vec<(LinkId, Vec<u8>)> = self
            .links
            .iter()
            .filter_map(|(id, l)| match l {
                Link::Parked { first, .. } => Some((*id, first.clone())),
                _ => None,
            })
            .collect();
        for (link, first) in parked {
            if !matches!(
                self.peers.get(&peer).map(|p| &p.state),
                Some(PeerState::Expecting { .. })
            ) {
                break;
            }
            self.try_as(cx, link, &peer, token, &first, out);
        }
    }

    /// Drops this side's state for `peer` and closes its link, telling nobody: on a new go-ahead from the
    /// server (which has just started a new session a `stopprivate` would end), or before a caller that
    /// tells the server itself.
    fn forget_peer(&mut self, peer: &Name, out: &mut Vec<Effect>) {
        if let Some(old) = self.peers.remove(peer)
            && let Some(link) = old.link()
        {
            self.close_link(link, out);
        }
    }

    // --- from the user ---

    /// Sends `text` over the open private chat with `to`; false (and the reason shown) if there is none.
    pub(super) fn send_private(&mut self, to: &str, text: &str, out: &mut Vec<Effect>) -> bool {
        let link = match self.peers.get(to).map(|p| &p.state) {
            Some(PeerState::Open { link, proven: true }) => *link,
            Some(_) => {
                show_error(
                    out,
                    ClientError::PrivateNotOpen {
                        user: Name::from(to),
                    },
                );
                return false;
            }
            None => {
                show_error(
                    out,
                    ClientError::NoPrivateChat {
                        user: to.to_owned(),
                    },
                );
                return false;
            }
        };
        let line = PeerMsg::Msg { text }.to_line();
        if line.len() > MAX_LINE {
            show_error(
                out,
                ClientError::PrivateTooLong {
                    max: MAX_LINE - "MSG ".len(),
                },
            );
            return false;
        }
        self.send_sealed(link, &line, out);
        // Chatting privately is being active: keep the server's idle timer from logging us out (the
        // server learns that something happened, never what).
        out.push(Effect::Send(Command::Active.to_line()));
        true
    }

    /// `stopprivate <user>`: ends the session here, tells the peer and the server. With no session here,
    /// the server is asked as typed, and answers (usually that there is none).
    pub(super) fn stop_private(&mut self, cx: &Ctx, user: &str, out: &mut Vec<Effect>) {
        let Some(peer) = self.peers.remove(user) else {
            out.push(Effect::Send(Command::StopPrivate { user }.to_line()));
            return;
        };
        let name = Name::from(user);
        if let PeerState::Open { link, .. } = peer.state {
            let bye = PeerMsg::Bye {
                reason: PeerBye::Stop,
            }
            .to_line();
            self.send_sealed(link, &bye, out);
        }
        if let Some(link) = peer.link() {
            self.close_link(link, out);
        }
        show(
            out,
            Item::PrivateEnded {
                peer: name.clone(),
                why: EndReason::YouStopped,
            },
        );
        self.quiet_stop(cx, &name, out);
    }

    /// Logging out or losing the server: every open session's peer is told why; the rest is closed.
    pub(super) fn end_all(&mut self, reason: PeerBye, out: &mut Vec<Effect>) {
        for (_, peer) in std::mem::take(&mut self.peers) {
            if let PeerState::Open { link, .. } = peer.state {
                self.send_sealed(link, &PeerMsg::Bye { reason }.to_line(), out);
            }
        }
        for link in std::mem::take(&mut self.links).into_keys() {
            out.push(Effect::PeerClose { link });
        }
    }

    // --- from the links ---

    pub(super) fn on_peer(
        &mut self,
        cx: &Ctx,
        link: LinkId,
        event: PeerEvent<'_>,
        out: &mut Vec<Effect>,
    ) {
        if let PeerEvent::Incoming = event {
            return self.on_incoming(cx, link, out);
        }
        if !self.links.contains_key(&link) {
            // Already forgotten (closed by this side); make sure the shell lets go of it too.
            if !matches!(event, PeerEvent::Closed) {
                out.push(Effect::PeerClose { link });
            }
            return;
        }
        match event {
            PeerEvent::Incoming => {}
            PeerEvent::Connected => self.on_connected(cx, link, out),
            PeerEvent::ConnectFailed { error } => self.fail_link(
                cx,
                link,
                SetupFailure::ConnectFailed {
                    error: error.to_owned(),
                },
                out,
            ),
            PeerEvent::Frame(bytes) => self.on_frame(cx, link, bytes, out),
            PeerEvent::Broken => match self.links.get(&link) {
                // Nothing after a broken frame can be read: the session is over.
                Some(Link::Open { peer, .. }) => {
                    let peer = peer.clone();
                    self.end_open(cx, link, peer, EndReason::Tampered, out);
                }
                _ => self.on_bad_peer_line(cx, link, "a broken frame".into(), out),
            },
            PeerEvent::Closed => self.on_link_closed(cx, link, out),
        }
    }

    fn on_incoming(&mut self, cx: &Ctx, link: LinkId, out: &mut Vec<Effect>) {
        let waiting = self.links.values().filter(|l| l.is_greeting()).count();
        if cx.me.clone().is_none() || waiting >= MAX_GREETING {
            let refusal = if waiting >= MAX_GREETING {
                Refusal::Busy
            } else {
                Refusal::Unexpected
            };
            return refuse(link, refusal, out);
        }
        let deadline = cx.now.plus_secs(self.handshake_secs);
        self.links.insert(link, Link::Greeting { deadline });
        self.timers.set(ChatTimer::Greeting(link), deadline);
    }

    fn on_connected(&mut self, cx: &Ctx, link: LinkId, out: &mut Vec<Effect>) {
        let seed = noise::next_seed(&mut self.rng);
        let (
            Some(Link::Dialing {
                token,
                peer,
                handshake,
            }),
            Some(me),
        ) = (self.links.get_mut(&link), cx.me.clone())
        else {
            return;
        };
        let hello = handshake_payload(&PeerMsg::Hello { user: &me });
        let (state, first) = match noise::initiate(*token, &me, peer, seed, &hello) {
            Ok(started) => started,
            Err(e) => {
                tracing::debug!("{link}: cannot start the handshake: {e}");
                return self.fail_link(cx, link, SetupFailure::BadAnswer, out);
            }
        };
        *handshake = Some(state);
        out.push(Effect::PeerSend { link, frame: first });
    }

    /// One frame from a link: the first handshake message, the answer to it, or an encrypted line.
    fn on_frame(&mut self, cx: &Ctx, link: LinkId, bytes: &[u8], out: &mut Vec<Effect>) {
        match self.links.get_mut(&link) {
            Some(Link::Greeting { deadline }) => {
                let deadline = *deadline;
                if bytes.len() != noise::HANDSHAKE_LEN {
                    self.links.remove(&link);
                    let old = match check_line(bytes).ok().map(p2p::decode) {
                        Some(Ok(PeerMsg::Hello { user })) => Some(Name::from(user)),
                        _ => None,
                    };
                    let Some(user) = old else {
                        return refuse(link, Refusal::BadHello, out);
                    };
                    // An older client introduces itself in plain text: tell it why it is refused, and
                    // this side's user why the peer cannot connect, rather than leave both waiting.
                    self.tell_outdated(&user, out);
                    return refuse(link, Refusal::Version, out);
                }
                if !self.recognise(cx, link, bytes, out) {
                    let first = bytes.to_vec();
                    self.links.insert(link, Link::Parked { first, deadline });
                }
            }
            Some(Link::Parked { .. }) => {
                // Nothing more is due from the connector until it has an answer.
                self.links.remove(&link);
                refuse(link, Refusal::BadHello, out);
            }
            Some(Link::Dialing {
                handshake, peer, ..
            }) => {
                let peer = peer.clone();
                let answer = handshake.take().map(|h| h.finish(bytes));
                match answer {
                    Some(Ok((secure, payload))) => {
                        let ok = p2p::decode_handshake_payload(&payload);
                        if matches!(ok, Ok(PeerMsg::Ok { user }) if *user == *peer) {
                            self.links.insert(
                                link,
                                Link::Open {
                                    peer: peer.clone(),
                                    secure,
                                },
                            );
                            self.open(cx, link, peer, out);
                        } else {
                            self.fail_link(cx, link, SetupFailure::BadAnswer, out);
                        }
                    }
                    _ => {
                        // Not a handshake answer: a refusal in plain text, or garbage.
                        let why = match check_line(bytes).ok().map(p2p::decode) {
                            Some(Ok(PeerMsg::No { refusal })) => SetupFailure::Refused(refusal),
                            _ => SetupFailure::BadAnswer,
                        };
                        self.fail_link(cx, link, why, out);
                    }
                }
            }
            Some(Link::Open { secure, peer }) => match secure.open(bytes) {
                Ok(plain) => match check_line(&plain) {
                    Ok(line) => {
                        let line = line.to_owned();
                        self.on_open_line(cx, link, &line, out);
                    }
                    Err(e) => self.on_bad_peer_line(cx, link, e.to_string(), out),
                },
                Err(_) => {
                    // Changed on the way, or not from the peer: the session cannot be trusted.
                    let peer = peer.clone();
                    self.end_open(cx, link, peer, EndReason::Tampered, out);
                }
            },
            None => {}
        }
    }

    /// A line of an open session.
    fn on_open_line(&mut self, cx: &Ctx, link: LinkId, line: &str, out: &mut Vec<Effect>) {
        let decoded = p2p::decode(line);
        let proven = match self.links.get(&link) {
            Some(Link::Open { peer, .. }) => self.is_proven(peer, link),
            _ => false,
        };
        match (self.links.get(&link), decoded) {
            (Some(Link::Open { peer, .. }), Ok(PeerMsg::Msg { .. })) if !proven => {
                // Text before the peer proved who it is: whoever sends it has not shown it is the
                // peer (a server in the middle would do exactly this). Not shown; the chat ends.
                let peer = peer.clone();
                self.end_open(cx, link, peer, EndReason::Unproven, out);
            }
            (Some(Link::Open { peer, .. }), Ok(PeerMsg::Msg { text })) => {
                let from = peer.clone();
                show(
                    out,
                    Item::Private {
                        from,
                        text: super::reveal::reveal(text).into_owned(),
                    },
                );
            }
            (
                Some(Link::Open { peer, secure }),
                Ok(PeerMsg::Id {
                    curve25519,
                    ed25519,
                    signature,
                }),
            ) => {
                let peer = peer.clone();
                let statement = session_statement(&peer, secure.handshake_hash());
                if proven || self.proven.iter().any(|(p, _)| *p == peer) {
                    // Proved once per session; a second proof means nothing more.
                    return show_error(
                        out,
                        ClientError::BadPeerLine {
                            peer,
                            what: "a second identity proof".into(),
                        },
                    );
                }
                // Without keys of its own this client opens no private chat (see `open`).
                let Some(id) = self.identity.clone() else {
                    return self.end_open(cx, link, peer, EndReason::CannotProve, out);
                };
                if id.verify(ed25519, &statement, signature) {
                    self.proven.push((
                        peer,
                        super::e2e::Identity {
                            curve25519: curve25519.to_owned(),
                            ed25519: ed25519.to_owned(),
                        },
                    ));
                } else {
                    // Someone holds the session's keys (the server knows the token) but not the
                    // identity it claims: a session in the middle.
                    self.end_open(cx, link, peer, EndReason::Unproven, out);
                }
            }
            (Some(Link::Open { peer, .. }), Ok(PeerMsg::Bye { reason })) => {
                let peer = peer.clone();
                let why = match reason {
                    PeerBye::Stop | PeerBye::Other => EndReason::PeerStopped,
                    PeerBye::Logout => EndReason::PeerLoggedOut,
                    PeerBye::Offline => EndReason::PeerOffline,
                };
                self.end_open(cx, link, peer, why, out);
            }
            (Some(Link::Open { peer, .. }), other) => {
                let what = match other {
                    Err(e) => e.to_string(),
                    Ok(m) => format!(
                        "unexpected '{}'",
                        m.to_line().split(' ').next().unwrap_or("")
                    ),
                };
                let peer = peer.clone();
                show_error(out, ClientError::BadPeerLine { peer, what });
            }
            _ => {}
        }
    }

    fn on_bad_peer_line(&mut self, cx: &Ctx, link: LinkId, what: String, out: &mut Vec<Effect>) {
        match self.links.get(&link) {
            Some(Link::Greeting { .. } | Link::Parked { .. }) => {
                self.links.remove(&link);
                refuse(link, Refusal::BadLine, out);
            }
            Some(Link::Dialing { .. }) => self.fail_link(cx, link, SetupFailure::BadAnswer, out),
            Some(Link::Open { peer, .. }) => {
                let peer = peer.clone();
                show_error(out, ClientError::BadPeerLine { peer, what });
            }
            None => {}
        }
    }

    fn on_link_closed(&mut self, cx: &Ctx, link: LinkId, out: &mut Vec<Effect>) {
        match self.links.get(&link) {
            Some(Link::Greeting { .. } | Link::Parked { .. }) => {
                self.links.remove(&link);
                out.push(Effect::PeerClose { link });
            }
            Some(Link::Dialing { .. }) => self.fail_link(cx, link, SetupFailure::Closed, out),
            Some(Link::Open { peer, .. }) => {
                let peer = peer.clone();
                self.end_open(cx, link, peer, EndReason::ConnectionLost, out);
            }
            None => {}
        }
    }

    /// A connection claiming to be `user` spoke version 2 of the link. If `user` is awaited, its user
    /// is told once (the claim is unchecked, so the wait goes on: a stranger cannot cancel it).
    fn tell_outdated(&mut self, user: &Name, out: &mut Vec<Effect>) {
        let Some(Peer {
            state: PeerState::Expecting { told_outdated, .. },
            ..
        }) = self.peers.get_mut(user)
        else {
            return;
        };
        if std::mem::replace(told_outdated, true) {
            return;
        }
        show_error(
            out,
            ClientError::BadPeerLine {
                peer: user.clone(),
                what:
                    "a plain-text HELLO: their natter speaks an older version of the private-chat \
                       link, and both of you need an up-to-date one"
                        .into(),
            },
        );
    }

    /// An inbound first handshake message: tried under each private chat expected here, as nothing on
    /// the wire says whose it is. Returns whether one recognised it (and the link was answered or
    /// refused); if none did, the caller parks it.
    fn recognise(&mut self, cx: &Ctx, link: LinkId, first: &[u8], out: &mut Vec<Effect>) -> bool {
        let expected: Vec<(Name, Token)> = self
            .peers
            .iter()
            .filter_map(|(name, p)| match p.state {
                PeerState::Expecting { token, .. } => Some((name.clone(), token)),
                _ => None,
            })
            .collect();
        debug_assert!(expected.len() <= MAX_EXPECTING);
        expected
            .into_iter()
            .any(|(peer, token)| self.try_as(cx, link, &peer, token, first, out))
    }

    /// Tries `first` as `peer`'s handshake under `token`. If it authenticates, the connector is `peer`:
    /// answers and opens the session (or refuses a malformed introduction), and returns true; otherwise
    /// changes nothing and returns false.
    fn try_as(
        &mut self,
        cx: &Ctx,
        link: LinkId,
        peer: &Name,
        token: Token,
        first: &[u8],
        out: &mut Vec<Effect>,
    ) -> bool {
        let Some(me) = cx.me.clone() else {
            return false;
        };
        let seed = noise::next_seed(&mut self.rng);
        let Ok((received, payload)) = noise::receive(token, peer, &me, seed, first) else {
            return false;
        };
        // The prologue already binds the name; the payload must say the same, or the peer's client
        // is broken.
        let says = p2p::decode_handshake_payload(&payload);
        if !matches!(says, Ok(PeerMsg::Hello { user }) if *user == **peer) {
            self.links.remove(&link);
            refuse(link, Refusal::BadHello, out);
            return true;
        }
        match received.answer(&handshake_payload(&PeerMsg::Ok { user: &me })) {
            Ok((secure, answer)) => {
                out.push(Effect::PeerSend {
                    link,
                    frame: answer,
                });
                self.links.insert(
                    link,
                    Link::Open {
                        peer: peer.clone(),
                        secure,
                    },
                );
                self.open(cx, link, peer.clone(), out);
            }
            Err(e) => {
                tracing::debug!("{link}: cannot answer the handshake: {e}");
                self.links.remove(&link);
                refuse(link, Refusal::BadHello, out);
            }
        }
        true
    }

    /// Whether `peer`'s open session on `link` is proven (its text may be shown, and sent to).
    fn is_proven(&self, peer: &Name, link: LinkId) -> bool {
        matches!(
            self.peers.get(peer).map(|p| &p.state),
            Some(PeerState::Open { link: l, proven: true }) if *l == link
        )
    }

    /// The link's handshake is done: this side proves who it is, bound to this very session, and
    /// waits (at most the handshake's time) for the peer to do the same. The chat is open for text
    /// only once the peer's proof checked out ([`Self::confirm_proven`]).
    fn open(&mut self, cx: &Ctx, link: LinkId, peer: Name, out: &mut Vec<Effect>) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.state = PeerState::Open {
            link,
            proven: false,
        };
        let setup = p.setup;
        self.timers.set(
            ChatTimer::Proof(setup),
            cx.now.plus_secs(self.handshake_secs),
        );
        let hash = match self.links.get(&link) {
            Some(Link::Open { secure, .. }) => secure.handshake_hash().to_vec(),
            _ => return,
        };
        let signed = self.identity.clone().and_then(|id| {
            let signature = id.sign(&session_statement(&id.me, &hash))?;
            Some(
                PeerMsg::Id {
                    curve25519: &id.identity.curve25519,
                    ed25519: &id.identity.ed25519,
                    signature: &signature,
                }
                .to_line(),
            )
        });
        match signed {
            Some(line) => self.send_sealed(link, &line, out),
            None => self.end_open(cx, link, peer, EndReason::CannotProve, out),
        }
    }

    /// The peer ended an open session, or its connection went away.
    fn end_open(
        &mut self,
        cx: &Ctx,
        link: LinkId,
        peer: Name,
        why: EndReason,
        out: &mut Vec<Effect>,
    ) {
        self.close_link(link, out);
        let mut why = why;
        if let Some(p) = self.peers.get(&peer)
            && p.link() == Some(link)
        {
            // An honest peer proves who it is first thing: a session that ends, however, before it
            // did is what a party in the middle looks like (it has nothing to prove with), and is
            // said as loudly.
            if matches!(p.state, PeerState::Open { proven: false, .. })
                && why != EndReason::CannotProve
            {
                why = EndReason::Unproven;
            }
            self.peers.remove(&peer);
        }
        show(
            out,
            Item::PrivateEnded {
                peer: peer.clone(),
                why,
            },
        );
        self.quiet_stop(cx, &peer, out);
    }

    /// An outgoing connection failed before the session opened.
    fn fail_link(&mut self, cx: &Ctx, link: LinkId, why: SetupFailure, out: &mut Vec<Effect>) {
        let Some(Link::Dialing { peer, .. }) = self.links.get(&link) else {
            return;
        };
        let peer = peer.clone();
        self.fail_setup(cx, peer, why, out);
    }

    fn fail_setup(&mut self, cx: &Ctx, peer: Name, why: SetupFailure, out: &mut Vec<Effect>) {
        self.forget_peer(&peer, out);
        show(
            out,
            Item::PrivateFailed {
                peer: peer.clone(),
                why,
            },
        );
        self.quiet_stop(cx, &peer, out);
    }

    fn close_link(&mut self, link: LinkId, out: &mut Vec<Effect>) {
        self.links.remove(&link);
        out.push(Effect::PeerClose { link });
    }

    // --- deadlines ---

    /// The earliest deadline of a setup or a greeting under way.
    pub(super) fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.next_deadline()
    }

    /// Acts on the earliest deadline passed at `cx.now`, if any; returns whether there was one.
    pub(super) fn handle_timeout(&mut self, cx: &Ctx, out: &mut Vec<Effect>) -> bool {
        match self.timers.pop_due(cx.now) {
            Some(ChatTimer::Setup(setup)) => self.on_setup_deadline(cx, setup, out),
            Some(ChatTimer::Greeting(link)) => self.on_greeting_deadline(cx, link, out),
            Some(ChatTimer::Proof(setup)) => self.on_proof_deadline(cx, setup, out),
            None => return false,
        }
        true
    }

    fn on_setup_deadline(&mut self, cx: &Ctx, setup: u64, out: &mut Vec<Effect>) {
        let Some((peer, why)) = self.peers.iter().find_map(|(name, p)| {
            if p.setup != setup {
                return None;
            }
            match p.state {
                PeerState::Dialing { deadline, .. } if cx.now >= deadline => Some((
                    name.clone(),
                    SetupFailure::NoAnswer {
                        secs: self.handshake_secs,
                    },
                )),
                PeerState::Expecting { deadline, .. } if cx.now >= deadline => Some((
                    name.clone(),
                    SetupFailure::NeverConnected {
                        secs: self.expect_secs,
                    },
                )),
                _ => None,
            }
        }) else {
            return;
        };
        self.fail_setup(cx, peer, why, out);
    }

    /// The peer of the session opened as `setup` had the handshake's time to prove its identity: a
    /// session still unproven ends, loudly (nothing was sent on it but this side's own proof).
    fn on_proof_deadline(&mut self, cx: &Ctx, setup: u64, out: &mut Vec<Effect>) {
        let unproven = self.peers.iter().find_map(|(name, p)| match p.state {
            PeerState::Open {
                link,
                proven: false,
            } if p.setup == setup => Some((name.clone(), link)),
            _ => None,
        });
        if let Some((peer, link)) = unproven {
            self.proven.retain(|(p, _)| *p != peer);
            self.end_open(cx, link, peer, EndReason::Unproven, out);
        }
    }

    fn on_greeting_deadline(&mut self, cx: &Ctx, link: LinkId, out: &mut Vec<Effect>) {
        match self.links.get(&link) {
            Some(Link::Greeting { deadline }) if cx.now >= *deadline => {
                // It never introduced itself: not a peer of ours, nothing to tell the user.
                self.close_link(link, out);
            }
            Some(Link::Parked { deadline, .. }) if cx.now >= *deadline => {
                // It authenticated under no private chat expected here in all that time.
                self.links.remove(&link);
                refuse(link, Refusal::Unexpected, out);
            }
            _ => {}
        }
    }
}

/// Says why, then closes. In plain text: the two sides share no key yet (a refusal always comes before
/// the listener authenticated the connector), and it holds only a code and a fixed explanation.
fn refuse(link: LinkId, refusal: Refusal, out: &mut Vec<Effect>) {
    out.push(Effect::PeerSend {
        link,
        frame: PeerMsg::No { refusal }.to_line().into_bytes(),
    });
    out.push(Effect::PeerClose { link });
}
