//! Private chats: from the server's go-ahead, through the direct connection's handshake, to the end.
//!
//! The server brokers; the text never goes near it. The requester gets `PRIVATE-ACCEPTED` (the peer's
//! address and a one-time token) and connects; the accepting side gets `PRIVATE-EXPECT` (the same token)
//! and waits. The connector's first line is `HELLO <user> <token>`; the listener opens the session only
//! for the user it accepted and that exact token, so nobody else can open — or inject into — the session.
//!
//! The server's two lines race the connection itself: a `HELLO` may arrive before this side has read
//! its `PRIVATE-EXPECT`. Such a connection is *parked* until the expectation arrives or its handshake
//! deadline passes, instead of being refused.
//!
//! Whenever a session ends, for whatever reason, the client tells the server with `stopprivate` (its
//! reply is expected and not shown), except when it is logging out or has lost the server, which ends
//! every session on the server's side anyway.

use std::net::SocketAddr;

use std::collections::BTreeMap;

use super::display::{ClientError, EndReason, Item, SetupFailure};
use super::event::{Effect, LinkId, PeerEvent, TimerId, show, show_error};
use crate::protocol::p2p::{self, MAX_GREETING, MAX_LINE, PeerBye, PeerMsg, Refusal};
use crate::protocol::{Command, Name, Token, check_line};
use crate::time::Timestamp;

/// A private chat with one peer, numbered per attempt so a stale timer cannot touch a newer one.
#[derive(Debug)]
struct Peer {
    setup: u64,
    state: PeerState,
}

#[derive(Debug)]
enum PeerState {
    /// This side asked and was accepted: connecting, then waiting for `OK`.
    Dialing {
        link: LinkId,
        deadline: Timestamp,
    },
    /// This side accepted: waiting for the requester to connect with `token`.
    Expecting {
        token: Token,
        deadline: Timestamp,
    },
    Open {
        link: LinkId,
    },
}

impl Peer {
    fn is_open(&self) -> bool {
        matches!(self.state, PeerState::Open { .. })
    }

    fn link(&self) -> Option<LinkId> {
        match self.state {
            PeerState::Dialing { link, .. } | PeerState::Open { link } => Some(link),
            PeerState::Expecting { .. } => None,
        }
    }
}

/// One peer-to-peer connection.
#[derive(Debug)]
enum Link {
    /// Outgoing to `peer`; `HELLO` goes out once connected.
    Dialing {
        peer: Name,
        token: Token,
    },
    /// Incoming; its `HELLO` has not arrived.
    Greeting {
        deadline: Timestamp,
    },
    /// Incoming; said `HELLO` as `user`, who is not expected (yet).
    Parked {
        user: Name,
        token: Token,
        deadline: Timestamp,
    },
    Open {
        peer: Name,
    },
}

/// Compares tokens without an early exit, so the time taken says nothing about how much matched.
fn same_token(a: Token, b: Token) -> bool {
    (a.0 ^ b.0) == 0
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
}

impl PrivateChats {
    pub(super) fn new(handshake_secs: u64, expect_secs: u64) -> Self {
        PrivateChats {
            peers: BTreeMap::new(),
            links: BTreeMap::new(),
            next_out: 1,
            next_setup: 1,
            quiet_stops: BTreeMap::new(),
            handshake_secs,
            expect_secs,
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
    fn begin_setup(
        &mut self,
        peer: &Name,
        deadline: Timestamp,
        state: PeerState,
        out: &mut Vec<Effect>,
    ) {
        let setup = self.next_setup;
        self.next_setup += 1;
        self.peers.insert(peer.clone(), Peer { setup, state });
        out.push(Effect::SetTimer {
            timer: TimerId::Setup(setup),
            at: deadline,
        });
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
            },
        );
        self.begin_setup(&peer, deadline, PeerState::Dialing { link, deadline }, out);
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
        let deadline = cx.now.plus_secs(self.expect_secs);
        self.begin_setup(
            &peer,
            deadline,
            PeerState::Expecting { token, deadline },
            out,
        );
        show(out, Item::PrivateAwaiting { peer: peer.clone() });
        // The requester may already have connected and said HELLO.
        let parked: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, l)| matches!(l, Link::Parked { user, .. } if *user == peer))
            .map(|(id, _)| *id)
            .collect();
        for link in parked {
            if let Some(Link::Parked { user, token, .. }) = self.links.get(&link) {
                let (user, token) = (user.clone(), *token);
                self.admit(cx, link, user, token, out);
            }
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
            Some(PeerState::Open { link }) => *link,
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
        out.push(Effect::PeerSend { link, line });
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
        if let PeerState::Open { link } = peer.state {
            out.push(Effect::PeerSend {
                link,
                line: PeerMsg::Bye {
                    reason: PeerBye::Stop,
                }
                .to_line(),
            });
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
            if let PeerState::Open { link } = peer.state {
                out.push(Effect::PeerSend {
                    link,
                    line: PeerMsg::Bye { reason }.to_line(),
                });
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
            PeerEvent::Line(bytes) => match check_line(bytes) {
                Ok(line) => self.on_peer_line(cx, link, line, out),
                Err(e) => self.on_bad_peer_line(cx, link, e.to_string(), out),
            },
            PeerEvent::LineTooLong => self.on_bad_peer_line(cx, link, "line too long".into(), out),
            PeerEvent::Closed => self.on_link_closed(cx, link, out),
        }
    }

    fn on_incoming(&mut self, cx: &Ctx, link: LinkId, out: &mut Vec<Effect>) {
        let waiting = self
            .links
            .values()
            .filter(|l| matches!(l, Link::Greeting { .. } | Link::Parked { .. }))
            .count();
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
        out.push(Effect::SetTimer {
            timer: TimerId::Greeting(link),
            at: deadline,
        });
    }

    fn on_connected(&mut self, cx: &Ctx, link: LinkId, out: &mut Vec<Effect>) {
        let (Some(Link::Dialing { token, .. }), Some(me)) = (self.links.get(&link), cx.me.clone())
        else {
            return;
        };
        out.push(Effect::PeerSend {
            link,
            line: PeerMsg::Hello {
                user: &me,
                token: *token,
            }
            .to_line(),
        });
    }

    fn on_peer_line(&mut self, cx: &Ctx, link: LinkId, line: &str, out: &mut Vec<Effect>) {
        let decoded = p2p::decode(line);
        match (self.links.get(&link), decoded) {
            (Some(Link::Greeting { .. }), Ok(PeerMsg::Hello { user, token })) => {
                self.admit(cx, link, Name::from(user), token, out)
            }
            (Some(Link::Greeting { .. } | Link::Parked { .. }), _) => {
                self.links.remove(&link);
                refuse(link, Refusal::BadHello, out);
            }
            (Some(Link::Dialing { peer, .. }), Ok(PeerMsg::Ok { user })) if **peer == *user => {
                let peer = peer.clone();
                self.open(link, peer, out);
            }
            (Some(Link::Dialing { .. }), Ok(PeerMsg::No { refusal })) => {
                self.fail_link(cx, link, SetupFailure::Refused(refusal), out)
            }
            (Some(Link::Dialing { .. }), _) => {
                self.fail_link(cx, link, SetupFailure::BadAnswer, out)
            }
            (Some(Link::Open { peer }), Ok(PeerMsg::Msg { text })) => {
                let from = peer.clone();
                show(
                    out,
                    Item::Private {
                        from,
                        text: text.to_owned(),
                    },
                );
            }
            (Some(Link::Open { peer }), Ok(PeerMsg::Bye { reason })) => {
                let peer = peer.clone();
                let why = match reason {
                    PeerBye::Stop | PeerBye::Other => EndReason::PeerStopped,
                    PeerBye::Logout => EndReason::PeerLoggedOut,
                    PeerBye::Offline => EndReason::PeerOffline,
                };
                self.end_open(cx, link, peer, why, out);
            }
            (Some(Link::Open { peer }), other) => {
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
            (None, _) => {}
        }
    }

    fn on_bad_peer_line(&mut self, cx: &Ctx, link: LinkId, what: String, out: &mut Vec<Effect>) {
        match self.links.get(&link) {
            Some(Link::Greeting { .. } | Link::Parked { .. }) => {
                self.links.remove(&link);
                refuse(link, Refusal::BadLine, out);
            }
            Some(Link::Dialing { .. }) => self.fail_link(cx, link, SetupFailure::BadAnswer, out),
            Some(Link::Open { peer }) => {
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
            Some(Link::Open { peer }) => {
                let peer = peer.clone();
                self.end_open(cx, link, peer, EndReason::ConnectionLost, out);
            }
            None => {}
        }
    }

    /// An inbound `HELLO` from `user` with `token`: open, refuse, or park until the server's
    /// `PRIVATE-EXPECT` for `user` arrives.
    fn admit(&mut self, cx: &Ctx, link: LinkId, user: Name, token: Token, out: &mut Vec<Effect>) {
        let deadline = match self.links.get(&link) {
            Some(Link::Greeting { deadline } | Link::Parked { deadline, .. }) => *deadline,
            _ => return,
        };
        match self.peers.get(&user).map(|p| &p.state) {
            Some(PeerState::Expecting {
                token: expected, ..
            }) => {
                if same_token(*expected, token) {
                    let Some(me) = cx.me.clone() else { return };
                    out.push(Effect::PeerSend {
                        link,
                        line: PeerMsg::Ok { user: &me }.to_line(),
                    });
                    self.open(link, user, out);
                } else {
                    self.links.remove(&link);
                    refuse(link, Refusal::BadToken, out);
                }
            }
            Some(PeerState::Open { .. }) => {
                self.links.remove(&link);
                refuse(link, Refusal::Duplicate, out);
            }
            Some(PeerState::Dialing { .. }) | None => {
                self.links.insert(
                    link,
                    Link::Parked {
                        user,
                        token,
                        deadline,
                    },
                );
            }
        }
    }

    fn open(&mut self, link: LinkId, peer: Name, out: &mut Vec<Effect>) {
        self.links.insert(link, Link::Open { peer: peer.clone() });
        if let Some(p) = self.peers.get_mut(&peer) {
            p.state = PeerState::Open { link };
        }
        show(out, Item::PrivateOpen { peer });
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
        if self
            .peers
            .get(&peer)
            .is_some_and(|p| p.link() == Some(link))
        {
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

    pub(super) fn on_setup_deadline(&mut self, cx: &Ctx, setup: u64, out: &mut Vec<Effect>) {
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

    pub(super) fn on_greeting_deadline(&mut self, cx: &Ctx, link: LinkId, out: &mut Vec<Effect>) {
        match self.links.get(&link) {
            Some(Link::Greeting { deadline }) if cx.now >= *deadline => {
                // It never introduced itself: not a peer of ours, nothing to tell the user.
                self.close_link(link, out);
            }
            Some(Link::Parked { deadline, .. }) if cx.now >= *deadline => {
                self.links.remove(&link);
                refuse(link, Refusal::Unexpected, out);
            }
            _ => {}
        }
    }
}

/// Says why, then closes.
fn refuse(link: LinkId, refusal: Refusal, out: &mut Vec<Effect>) {
    out.push(Effect::PeerSend {
        link,
        line: PeerMsg::No { refusal }.to_line(),
    });
    out.push(Effect::PeerClose { link });
}
