//! Connections and sessions: every open connection and where it is in its life, and who is online on
//! which connection.
//!
//! The rule "at most one live session per user" is kept here, in [`Sessions::begin`] and
//! [`Sessions::close`], the only places that change who is online. A connection's and a session's
//! data change only through the methods here; the rules read them and say what happened.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::conn_table::ConnTable;
use crate::protocol::Name;
use crate::server::connections::about::About;
use crate::server::connections::backlog::Backlog;
use crate::server::connections::deadlines::ConnDeadlines;
use crate::server::connections::flow::{Charged, Class, Flow, FlowLimits, Input, Offer, Release};
use crate::server::connections::online::Online;
use crate::server::connections::peer_addr::PeerAddr;
use crate::server::event::{ConnId, Effect, UserId};
use crate::server::message::StoredMsg;
use crate::time::{MaybeTime, Timestamp};

/// Where a connection is in its life.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) enum Phase {
    AwaitUsername,
    AwaitPassword {
        user: UserId,
    },
    /// The password typed is being checked against the account's hash, off the core's thread (`job`).
    Checking {
        job: u64,
    },
    AwaitNewPassword {
        name: Name,
    },
    /// The new account's password is being hashed (`job`).
    Registering {
        job: u64,
    },
    Online(Session),
}

impl Phase {
    /// Waiting for a password job: lines that come meanwhile are held (see `flow`).
    pub(crate) fn is_waiting(&self) -> bool {
        match self {
            Phase::Checking { .. } | Phase::Registering { .. } => true,
            Phase::Online(s) => s.passwd().is_waiting(),
            _ => false,
        }
    }
}

/// Whether a session's client acknowledges the messages it shows (`acks on|off`).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acks {
    /// Not said yet (a session begins so): a live message written is kept as if it would be
    /// acknowledged, since only the client knows. The first command other than `acks` says "no".
    /// So `DELIVERED` is never sent for a message a client that does acknowledge has not shown, even
    /// in the moment between its login and its `acks on`.
    Undecided,
    /// The client acknowledges: a live message stays queued until an `ack` covers it.
    On,
    /// The client does not (a person with `nc`): a live message is delivered once written.
    Off,
}

/// Where a session's `passwd` stands: the two lines after it are passwords, not commands.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Passwd {
    /// No `passwd` under way: lines are commands.
    #[default]
    Idle,
    /// The next line is the current password.
    AwaitCurrent,
    /// The current password is being checked (`job`).
    Checking { job: u64 },
    /// The next line is the new password.
    AwaitNew,
    /// The new password is being hashed (`job`).
    Hashing { job: u64 },
    /// `oper <name>`: the next line is the password of the operator at `op` in the configuration's
    /// list (`None`: no operator has that name; the password is asked all the same, so that the
    /// answer does not say which names are operators').
    AwaitOper { op: Option<usize> },
}

impl Passwd {
    /// A password job runs: the lines that come meanwhile are held.
    pub(crate) fn is_waiting(self) -> bool {
        matches!(self, Passwd::Checking { .. } | Passwd::Hashing { .. })
    }

    /// The next line is a password.
    pub(crate) fn awaits_password(self) -> bool {
        matches!(
            self,
            Passwd::AwaitCurrent | Passwd::AwaitNew | Passwd::AwaitOper { .. }
        )
    }
}

/// A logged-in user's session.
///
/// What every session uses is kept inline; what few set (`away`, `userinfo`, a private-chat port,
/// messages waiting at login) is in [`Extra`], allocated the first time one of them is: an idle
/// session is as small as it can be, since there is one per connection.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) struct Session {
    user: UserId,
    /// The last command that counted as activity (or the login).
    last_active: Timestamp,
    /// The `last_active` for which the idle warning was given, if it was.
    warned: MaybeTime,
    /// Whether the client asked to be told of every delivered message (`receipts on`).
    receipts: bool,
    /// Whether the client acknowledges what it shows.
    acks: Acks,
    /// Whether the session is the server's operator's (`oper`), until it ends.
    operator: bool,
    /// Whether the client said it is a bot (`bot on`).
    bot: bool,
    /// The highest message id written on this connection (0: none yet): the user's queue is written in
    /// id order, so everything queued up to it was, and it bounds what `ack` may confirm.
    sent_through: u64,
    /// When the session began (for `whois`).
    since: Timestamp,
    /// The rarely set rest (`None`: all of it empty).
    extra: Option<Box<Extra>>,
}

/// The parts of a session that most sessions never set.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Extra {
    /// The port of the client's private-chat listener, once registered.
    p2p_port: Option<u16>,
    /// The stored messages that were waiting at login, for `offline` (shared with the mailbox, not
    /// copied).
    waiting: Vec<StoredMsg>,
    /// `offline` asked for `waiting` again: how many of them are written so far (they go out through
    /// the mail window like the queue, since they can be as many).
    replay: Option<usize>,
    /// `away <reason>`: the user is away, saying why, until `away` alone or the session's end.
    away: Option<String>,
    /// What the client said of itself (`userinfo`), if it did.
    about: Option<About>,
    /// Where a `passwd` (or `oper`) stands: a few steps in a session's life, if any, so it is here
    /// rather than 16 bytes on every session.
    passwd: Passwd,
}

impl Session {
    /// `user`'s session from `now`, which is delivered the stored messages `waiting` for it.
    pub(crate) fn new(user: UserId, now: Timestamp, waiting: Vec<StoredMsg>) -> Self {
        Session {
            user,
            last_active: now,
            warned: MaybeTime::NONE,
            receipts: false,
            acks: Acks::Undecided,
            operator: false,
            bot: false,
            sent_through: 0,
            since: now,
            extra: (!waiting.is_empty()).then(|| {
                Box::new(Extra {
                    waiting,
                    ..Extra::default()
                })
            }),
        }
    }

    /// The rarely set parts, made when the first of them is.
    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// When the session began.
    pub(crate) fn since(&self) -> Timestamp {
        self.since
    }

    /// Why the user is away, if they are.
    pub(crate) fn away(&self) -> Option<&str> {
        self.extra.as_ref()?.away.as_deref()
    }

    /// What the client said of itself (`userinfo`), if it did.
    pub(crate) fn about(&self) -> Option<&About> {
        self.extra.as_ref()?.about.as_ref()
    }

    /// Whether the session is the server's operator's (`oper`).
    pub(crate) fn operator(&self) -> bool {
        self.operator
    }

    /// Whether the client said it is a bot (`bot on`).
    pub(crate) fn bot(&self) -> bool {
        self.bot
    }

    pub(crate) fn passwd(&self) -> Passwd {
        self.extra.as_ref().map_or(Passwd::Idle, |e| e.passwd)
    }

    pub(crate) fn user(&self) -> UserId {
        self.user
    }

    /// The last command that counted as activity (or the login).
    pub(crate) fn last_active(&self) -> Timestamp {
        self.last_active
    }

    /// Whether the idle warning was given since the last activity.
    pub(crate) fn idle_warned(&self) -> bool {
        self.warned.get() == Some(self.last_active)
    }

    pub(crate) fn receipts(&self) -> bool {
        self.receipts
    }

    pub(crate) fn p2p_port(&self) -> Option<u16> {
        self.extra.as_ref()?.p2p_port
    }

    pub(crate) fn acks(&self) -> Acks {
        self.acks
    }

    /// The highest message id written on this connection (0: none).
    pub(crate) fn sent_through(&self) -> u64 {
        self.sent_through
    }

    /// The stored messages that were waiting at login, oldest first.
    pub(crate) fn waiting(&self) -> &[StoredMsg] {
        self.extra.as_ref().map_or(&[], |e| &e.waiting)
    }

    /// With `offline` under way, the next of `waiting` to write again.
    pub(crate) fn replay(&self) -> Option<usize> {
        self.extra.as_ref()?.replay
    }
}

/// One open connection.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) struct Conn {
    peer: PeerAddr,
    opened_at: Timestamp,
    phase: Phase,
    /// Its lines' pace and the ones held back.
    flow: Flow,
    /// Counted among its address's connections that are logging in (see `login::addresses`).
    pending_login: bool,
    /// Its deadline (finishing login, or the idle warning or logout; see `idle`), if it has one.
    deadline: MaybeTime,
}

impl Conn {
    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer.into()
    }

    pub(crate) fn opened_at(&self) -> Timestamp {
        self.opened_at
    }

    pub(crate) fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Whether lines are held back (flood control, or a password job running).
    pub(crate) fn holds_lines(&self) -> bool {
        self.flow.holds_lines()
    }
}

/// The session a command came from, as it stood when the command was read: no command changes
/// these for the one running (`receipts` and `acks` are commands of their own).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Commander {
    pub(crate) user: UserId,
    pub(crate) acks: Acks,
    /// The sender is told of each message's fate (`receipts on`).
    pub(crate) receipts: bool,
}

/// A connection just forgotten: what the rest of the state must still hear of it.
#[derive(Debug)]
pub(crate) struct Closed {
    pub(crate) peer: SocketAddr,
    /// It was still counted among its address's connections logging in.
    pub(crate) pending_login: bool,
    /// The user whose session it held, now ended.
    pub(crate) user: Option<UserId>,
    /// What that session's client said of itself (`userinfo`), for `whowas`.
    pub(crate) about: Option<About>,
}

/// Written and read as a map of who is online to their connection, in the snapshot's place and
/// form of before (`SessionsForm`), though what is kept is a set of users beside the per-user index.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    conns: ConnTable<Conn>,
    /// The connections' deadlines, earliest first; the earliest is always a live one.
    deadlines: ConnDeadlines,
    /// Users with a live session, in user order (for fan-outs and `whoelse`); their connections are
    /// `of_user`'s.
    online: Online,
    /// Each user's live session's connection, for the hot path's "is the recipient online?".
    of_user: Vec<Option<ConnId>>,
    /// Per user, what others sent their live session that may still be queued (see `backlog`).
    backlogs: Vec<Backlog>,
    /// The most sessions online at once since the server started (for `lusers`).
    peak: usize,
}

/// [`Sessions`] as written: who is online as a map to their connections, where the map was kept
/// before, so that snapshots keep their form (postcard's, field by field).
#[derive(serde::Serialize)]
#[serde(rename = "Sessions")]
struct SessionsForm<'a> {
    conns: &'a ConnTable<Conn>,
    deadlines: &'a ConnDeadlines,
    online: OnlineForm<'a>,
    of_user: &'a Vec<Option<ConnId>>,
    backlogs: &'a Vec<Backlog>,
    peak: usize,
}

/// Who is online, written as the map `UserId → ConnId` it was.
struct OnlineForm<'a>(&'a Sessions);

impl serde::Serialize for OnlineForm<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        // The length first (postcard writes it before the entries).
        let mut map = s.serialize_map(Some(self.0.online().count()))?;
        for (user, conn) in self.0.online() {
            map.serialize_entry(&user, &conn)?;
        }
        map.end()
    }
}

/// [`Sessions`] as read (see [`SessionsForm`]).
#[derive(serde::Deserialize)]
#[serde(rename = "Sessions")]
struct SessionsRead {
    conns: ConnTable<Conn>,
    deadlines: ConnDeadlines,
    online: BTreeMap<UserId, ConnId>,
    of_user: Vec<Option<ConnId>>,
    backlogs: Vec<Backlog>,
    #[serde(default)]
    peak: usize,
}

impl serde::Serialize for Sessions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SessionsForm {
            conns: &self.conns,
            deadlines: &self.deadlines,
            online: OnlineForm(self),
            of_user: &self.of_user,
            backlogs: &self.backlogs,
            peak: self.peak,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Sessions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let read = SessionsRead::deserialize(d)?;
        // The map says what the per-user index says (they were always changed together); the set is
        // taken from the index, so that the two cannot disagree whatever the bytes were.
        let _ = read.online;
        let mut online = Online::default();
        online.reserve_users(read.of_user.len());
        for (user, conn) in read.of_user.iter().enumerate() {
            if conn.is_some() {
                online.insert(UserId(user as u32));
            }
        }
        Ok(Sessions {
            conns: read.conns,
            deadlines: read.deadlines,
            online,
            of_user: read.of_user,
            backlogs: read.backlogs,
            peak: read.peak,
        })
    }
}

impl Sessions {
    /// Makes room for a new account.
    pub(crate) fn add_user(&mut self) {
        self.of_user.push(None);
        self.online.reserve_users(self.of_user.len());
        self.backlogs.push(Backlog::default());
    }

    /// A new connection, waiting for a username.
    pub(crate) fn open(&mut self, conn: ConnId, peer: SocketAddr, now: Timestamp) {
        self.conns.insert(
            conn,
            Conn {
                peer: peer.into(),
                opened_at: now,
                phase: Phase::AwaitUsername,
                flow: Flow::default(),
                pending_login: true,
                deadline: MaybeTime::NONE,
            },
        );
    }

    /// Sets `conn`'s deadline to `at` (moving the one it had); nothing if it is gone.
    ///
    /// A deadline put later keeps the entry it had, which is moved on when it comes to the top (see
    /// `deadlines`); only one put earlier, or a first one, needs a new entry.
    pub(crate) fn set_deadline(&mut self, conn: ConnId, at: Timestamp) {
        if let Some(c) = self.conns.get_mut(&conn) {
            let had = c.deadline.get();
            c.deadline = MaybeTime::new(Some(at));
            if had.is_none_or(|had| at < had) {
                self.deadlines.push(at, conn);
            }
            self.tidy_deadlines();
        }
    }

    /// The earliest connection's deadline, and whose.
    pub(crate) fn next_deadline(&self) -> Option<(Timestamp, ConnId)> {
        self.deadlines.first()
    }

    /// Takes the earliest deadline away (it has come), saying whose it was.
    pub(crate) fn take_next_deadline(&mut self) -> Option<ConnId> {
        let (_, conn) = self.deadlines.first()?;
        self.deadlines.pop();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.deadline = MaybeTime::NONE;
        }
        self.tidy_deadlines();
        Some(conn)
    }

    /// Brings the top of the heap to a live entry: a stale one is dropped, one that came early (its
    /// connection's deadline was put later) is moved to that deadline. Rebuilds the heap from the
    /// connections' deadlines once most of it is stale.
    fn tidy_deadlines(&mut self) {
        let conns = &self.conns;
        if self.deadlines.len() > 2 * conns.len() + 64 {
            self.deadlines.rebuild(
                conns
                    .iter()
                    .filter_map(|(&conn, c)| Some((c.deadline.get()?, conn))),
            );
        }
        let deadline_of = |conn: ConnId| conns.get(&conn).and_then(|c| c.deadline.get());
        while let Some((at, conn)) = self.deadlines.first() {
            match deadline_of(conn) {
                Some(due) if due == at => break,
                Some(due) if due > at => self.deadlines.replace_first(due, conn),
                _ => self.deadlines.pop(),
            }
        }
    }

    pub(crate) fn conn(&self, conn: ConnId) -> Option<&Conn> {
        self.conns.get(&conn)
    }

    pub(crate) fn phase(&self, conn: ConnId) -> Option<&Phase> {
        self.conns.get(&conn).map(|c| &c.phase)
    }

    /// Moves a connection that is still logging in to another login phase.
    pub(crate) fn set_login_phase(&mut self, conn: ConnId, phase: Phase) {
        debug_assert!(!matches!(phase, Phase::Online(_)), "use begin()");
        if let Some(c) = self.conns.get_mut(&conn) {
            c.phase = phase;
        }
    }

    /// The connection finished logging in (or is about to): its address no longer counts it as
    /// logging in. Returns its address if it was counted until now.
    pub(crate) fn take_pending_login(&mut self, conn: ConnId) -> Option<SocketAddr> {
        let c = self.conns.get_mut(&conn)?;
        std::mem::take(&mut c.pending_login).then_some(c.peer.into())
    }

    /// Offers one input of the connection, of `class`, to its flow, charged to `budgets` (see
    /// `flow`); `None` if the connection is gone.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn offer(
        &mut self,
        conn: ConnId,
        input: Input<'_>,
        class: Class,
        budgets: Charged<'_>,
        limits: &FlowLimits,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Option<Offer> {
        let c = self.conns.get_mut(&conn)?;
        let waiting = c.phase.is_waiting();
        Some(
            c.flow
                .offer(conn, input, class, waiting, budgets, limits, now, out),
        )
    }

    /// The connection's next held input that may be handled now, charged to `budgets` (see `flow`);
    /// `None` if it is gone.
    pub(crate) fn release(
        &mut self,
        conn: ConnId,
        budgets: Charged<'_>,
        limits: &FlowLimits,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Option<Release> {
        let c = self.conns.get_mut(&conn)?;
        let waiting = c.phase.is_waiting();
        Some(c.flow.release(conn, waiting, budgets, limits, now, out))
    }

    /// The session of a logged-in connection.
    pub(crate) fn session(&self, conn: ConnId) -> Option<&Session> {
        match self.phase(conn) {
            Some(Phase::Online(s)) => Some(s),
            _ => None,
        }
    }

    fn session_mut(&mut self, conn: ConnId) -> Option<&mut Session> {
        match self.conns.get_mut(&conn).map(|c| &mut c.phase) {
            Some(Phase::Online(s)) => Some(s),
            _ => None,
        }
    }

    /// A command from `conn`: whose it is, if it is logged in, and what its session says of how it
    /// is answered; one that counts as `activity` puts its idle clock back to `now`. (Read in the
    /// one lookup every command makes, rather than looked up again by each rule that asks.)
    pub(crate) fn command_from(
        &mut self,
        conn: ConnId,
        activity: bool,
        now: Timestamp,
    ) -> Option<Commander> {
        let s = self.session_mut(conn)?;
        if activity {
            s.last_active = now;
        }
        Some(Commander {
            user: s.user,
            acks: s.acks,
            receipts: s.receipts,
        })
    }

    /// The idle warning was given for the session's current idle spell.
    pub(crate) fn idle_warning_given(&mut self, conn: ConnId) {
        if let Some(s) = self.session_mut(conn) {
            s.warned = MaybeTime::new(Some(s.last_active));
        }
    }

    /// `receipts on|off`.
    /// `oper` succeeded: the session is the server's operator's until it ends.
    pub(crate) fn set_operator(&mut self, conn: ConnId) {
        if let Some(s) = self.session_mut(conn) {
            s.operator = true;
        }
    }

    /// `bot on|off`: whether the session's client is a bot.
    pub(crate) fn set_bot(&mut self, conn: ConnId, on: bool) {
        if let Some(s) = self.session_mut(conn) {
            s.bot = on;
        }
    }

    /// Moves the session's `passwd` on.
    pub(crate) fn set_passwd(&mut self, conn: ConnId, step: Passwd) {
        // Back to `Idle` on a session without its rarely set parts needs none made.
        if let Some(s) = self.session_mut(conn)
            && (step != Passwd::Idle || s.extra.is_some())
        {
            s.extra_mut().passwd = step;
        }
    }

    /// `userinfo <username> <real name>`: what the session's client says of itself.
    pub(crate) fn set_about(&mut self, conn: ConnId, username: &str, realname: &str) {
        if let Some(s) = self.session_mut(conn) {
            s.extra_mut().about = Some(About::new(username, realname));
        }
    }

    /// `realname <text>`: the session's real name changes, its user name stays (a client that
    /// gave none yet keeps its name as the user name).
    pub(crate) fn set_realname(&mut self, conn: ConnId, name: &str, realname: &str) {
        if let Some(s) = self.session_mut(conn) {
            let username = s.about().map_or(name, |a| &a.username).to_owned();
            s.extra_mut().about = Some(About::new(&username, realname));
        }
    }

    /// The most sessions online at once since the server started.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    /// `away [<reason>]`: whether that changed anything.
    pub(crate) fn set_away(&mut self, conn: ConnId, reason: Option<&str>) -> bool {
        match self.session_mut(conn) {
            Some(s) if s.away() != reason => {
                s.extra_mut().away = reason.map(str::to_owned);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn set_receipts(&mut self, conn: ConnId, on: bool) {
        if let Some(s) = self.session_mut(conn) {
            s.receipts = on;
        }
    }

    /// `acks on|off`, or the first command that says the client does not acknowledge.
    pub(crate) fn set_acks(&mut self, conn: ConnId, acks: Acks) {
        if let Some(s) = self.session_mut(conn) {
            s.acks = acks;
        }
    }

    /// Message `id` (the next of the user's queue) was written on `conn`.
    pub(crate) fn sent(&mut self, conn: ConnId, id: u64) {
        if let Some(s) = self.session_mut(conn) {
            debug_assert!(id > s.sent_through, "a queue is written in id order");
            s.sent_through = id;
        }
    }

    /// `offline`'s replay is at `next` of the waiting messages (`None`: done, or not asked for).
    pub(crate) fn set_replay(&mut self, conn: ConnId, next: Option<usize>) {
        if let Some(s) = self.session_mut(conn)
            && (next.is_some() || s.extra.is_some())
        {
            s.extra_mut().replay = next;
        }
    }

    /// The client's private-chat listener is on `port`.
    pub(crate) fn set_p2p_port(&mut self, conn: ConnId, port: u16) {
        if let Some(s) = self.session_mut(conn) {
            s.extra_mut().p2p_port = Some(port);
        }
    }

    /// Makes `session`'s user online on `conn`. The caller has checked that the user has no live
    /// session.
    pub(crate) fn begin(&mut self, conn: ConnId, session: Session) {
        let user = session.user;
        debug_assert!(self.of_user[user.index()].is_none(), "one session per user");
        self.of_user[user.index()] = Some(conn);
        self.backlogs[user.index()] = Backlog::default();
        self.online.insert(user);
        self.peak = self.peak.max(self.online.len());
        if let Some(c) = self.conns.get_mut(&conn) {
            c.phase = Phase::Online(session);
        }
    }

    /// Forgets a connection, ending its session if it had one; says what the rest must hear of it.
    pub(crate) fn close(&mut self, conn: ConnId) -> Option<Closed> {
        let c = self.conns.remove(&conn)?;
        self.tidy_deadlines();
        let (user, about) = match c.phase {
            Phase::Online(s) => {
                self.of_user[s.user.index()] = None;
                self.online.remove(s.user);
                (Some(s.user), s.extra.and_then(|e| e.about))
            }
            _ => (None, None),
        };
        Some(Closed {
            peer: c.peer.into(),
            pending_login: c.pending_login,
            user,
            about,
        })
    }

    /// Whether the online `user` may be sent `bytes` more from `sender` (see `backlog`); if so, they
    /// are counted.
    pub(crate) fn admit(
        &mut self,
        user: UserId,
        sender: UserId,
        bytes: usize,
        out: &mut Vec<Effect>,
    ) -> bool {
        let Some(conn) = self.of_user[user.index()] else {
            return false;
        };
        self.backlogs[user.index()].admit(conn, sender, bytes, out)
    }

    /// Everything sent to `conn` before its drain watch has left the server (see `backlog`); the user
    /// whose mail may now go on.
    pub(crate) fn drained(&mut self, conn: ConnId) -> Option<UserId> {
        let user = self.session(conn).map(|s| s.user)?;
        self.backlogs[user.index()].drained();
        Some(user)
    }

    /// Whether more mail may be written to the online `user` now (see `backlog`).
    pub(crate) fn mail_room(&self, user: UserId, window: usize) -> bool {
        self.backlogs[user.index()].mail_room(window)
    }

    /// `bytes` of mail were written to the online `user` on `conn` (see `backlog`).
    pub(crate) fn add_mail(
        &mut self,
        user: UserId,
        conn: ConnId,
        bytes: usize,
        window: usize,
        out: &mut Vec<Effect>,
    ) {
        self.backlogs[user.index()].add_mail(conn, bytes, window, out);
    }

    /// Mail for the online `user` (on `conn`) waits for room: the core is to hear when it drains.
    pub(crate) fn wait_for_drain(&mut self, user: UserId, conn: ConnId, out: &mut Vec<Effect>) {
        self.backlogs[user.index()].wait_for_drain(conn, out);
    }

    /// The connection of `user`'s live session.
    pub(crate) fn session_of(&self, user: UserId) -> Option<ConnId> {
        self.of_user[user.index()]
    }

    /// Users online and their connections, in user order.
    pub(crate) fn online(&self) -> impl Iterator<Item = (UserId, ConnId)> + '_ {
        self.online
            .iter()
            .filter_map(|user| Some((user, self.of_user[user.index()]?)))
    }

    /// The connections of everyone online but `except`, in user order (as [`Self::online`]),
    /// appended to `out`: the readers of a presence notice.
    pub(crate) fn online_conns_except(&self, except: UserId, out: &mut Vec<ConnId>) {
        out.extend(
            self.online
                .iter()
                .filter(|&user| user != except)
                .filter_map(|user| self.of_user[user.index()]),
        );
    }

    /// Users online and their connections, in user order (as [`Self::online`]), appended to `out`:
    /// a broadcast's recipients. Read from the per-user index when many accounts are online, as
    /// [`Self::online_conns_except`] reads it, and for the same reason.
    pub(crate) fn online_into(&self, out: &mut Vec<(UserId, ConnId)>) {
        if self.online.len().saturating_mul(4) >= self.of_user.len() {
            out.extend(
                self.of_user
                    .iter()
                    .enumerate()
                    .filter_map(|(user, &conn)| Some((UserId(user as u32), conn?))),
            );
        } else {
            out.extend(self.online());
        }
    }

    pub(crate) fn online_count(&self) -> usize {
        self.online.len()
    }

    /// Every open connection, in number order.
    pub(crate) fn all_conns(&self) -> Vec<ConnId> {
        let mut all: Vec<ConnId> = self.conns.keys().copied().collect();
        all.sort();
        all
    }

    /// Gives back the connection table's unused room (see `ConnTable::shrink`).
    pub(crate) fn shrink(&mut self) {
        self.conns.shrink();
    }

    pub(crate) fn conn_count(&self) -> usize {
        self.conns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_stays_small() {
        // One per open connection, idle ones included: what few sessions set is boxed apart (a
        // `passwd` step among it), a flow's held lines too (it was 296 bytes with them inline), and
        // the peer's address is kept in 20 bytes (a `SocketAddr` is 32).
        let size = std::mem::size_of::<Conn>();
        eprintln!("Conn {size}, Session {}", std::mem::size_of::<Session>());
        assert!(size <= 104, "{size}");
    }

    /// What the deadlines do, against a map of each open connection's deadline: the next one is
    /// always the earliest of the map's (lowest connection first among equals), taken when it comes,
    /// and the heap never holds more than twice the connections open (and a little).
    mod deadlines_as_a_map {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Op {
            Open(u64),
            Set(u64, u64),
            Take,
            Close(u64),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                1 => (0..8u64).prop_map(Op::Open),
                4 => (0..8u64, 0..50u64).prop_map(|(c, at)| Op::Set(c, at)),
                2 => Just(Op::Take),
                1 => (0..8u64).prop_map(Op::Close),
            ]
        }

        proptest! {
            #[test]
            fn earliest_first(ops in proptest::collection::vec(op(), 0..200)) {
                let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
                let mut sessions = Sessions::default();
                let mut model: BTreeMap<u64, Option<u64>> = BTreeMap::new();
                for op in ops {
                    match op {
                        Op::Open(c) if !model.contains_key(&c) => {
                            sessions.open(ConnId(c), peer, Timestamp::from_millis(0));
                            model.insert(c, None);
                        }
                        Op::Open(_) => {}
                        Op::Set(c, at) => {
                            sessions.set_deadline(ConnId(c), Timestamp::from_millis(at));
                            if let Some(due) = model.get_mut(&c) {
                                *due = Some(at);
                            }
                        }
                        Op::Take => {
                            let expected = model
                                .iter()
                                .filter_map(|(&c, &due)| Some((due?, c)))
                                .min();
                            prop_assert_eq!(
                                sessions.next_deadline(),
                                expected.map(|(at, c)| (Timestamp::from_millis(at), ConnId(c)))
                            );
                            prop_assert_eq!(sessions.take_next_deadline(), expected.map(|(_, c)| ConnId(c)));
                            if let Some((_, c)) = expected {
                                model.insert(c, None);
                            }
                        }
                        Op::Close(c) => {
                            prop_assert_eq!(sessions.close(ConnId(c)).is_some(), model.remove(&c).is_some());
                        }
                    }
                    prop_assert!(sessions.deadlines.len() <= 2 * model.len() + 65);
                }
            }
        }

        #[test]
        fn deadlines_put_later_and_back_behind_another_stay_bounded() {
            let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
            let mut sessions = Sessions::default();
            sessions.open(ConnId(0), peer, Timestamp::from_millis(0));
            sessions.open(ConnId(1), peer, Timestamp::from_millis(0));
            // Connection 0's deadline stays first, so connection 1's entries never come to the top.
            sessions.set_deadline(ConnId(0), Timestamp::from_millis(1));
            // Connection 1's deadline goes up (no entry) and a little back (an entry): each entry
            // it leaves is at or before the deadline it has after the next step up.
            for step in 1..=1_000 {
                sessions.set_deadline(ConnId(1), Timestamp::from_millis(step * 100 + 50));
                sessions.set_deadline(ConnId(1), Timestamp::from_millis(step * 100 + 40));
                assert!(
                    sessions.deadlines.len() <= 2 * 2 + 65,
                    "{}",
                    sessions.deadlines.len()
                );
            }
            assert_eq!(sessions.take_next_deadline(), Some(ConnId(0)));
            assert_eq!(
                sessions.next_deadline(),
                Some((Timestamp::from_millis(100_040), ConnId(1)))
            );
        }

        #[test]
        fn a_deadline_put_later_keeps_its_one_entry() {
            let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
            let mut sessions = Sessions::default();
            for c in 0..100 {
                sessions.open(ConnId(c), peer, Timestamp::from_millis(0));
                // The login deadline, then the later idle one: one entry each.
                sessions.set_deadline(ConnId(c), Timestamp::from_millis(120_000 + c));
                sessions.set_deadline(ConnId(c), Timestamp::from_millis(600_000 + c));
            }
            assert_eq!(sessions.deadlines.len(), 100);
            // The first came early and was moved to the real one.
            assert_eq!(
                sessions.next_deadline(),
                Some((Timestamp::from_millis(600_000), ConnId(0)))
            );
        }
    }

    #[test]
    fn the_readers_are_everyone_else_online_in_user_order() {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let now = Timestamp::from_millis(0);
        let mut sessions = Sessions::default();
        for _ in 0..40 {
            sessions.add_user();
        }
        let mut online = Vec::new();
        // Few of the forty online, then most: the readers are everyone else online, in user order.
        for (n, user) in [31, 2, 17, 5, 0, 39, 8, 12, 22, 3, 30, 9]
            .into_iter()
            .enumerate()
        {
            let conn = ConnId(100 + n as u64);
            sessions.open(conn, peer, now);
            sessions.begin(conn, Session::new(UserId(user), now, Vec::new()));
            online.push((UserId(user), conn));
            online.sort();
            for except in [UserId(user), UserId(1), UserId(39)] {
                let mut found = Vec::new();
                sessions.online_conns_except(except, &mut found);
                let expected: Vec<ConnId> = online
                    .iter()
                    .filter(|&&(u, _)| u != except)
                    .map(|&(_, c)| c)
                    .collect();
                assert_eq!(found, expected, "{} online, all but {except:?}", n + 1);
            }
        }
    }
}
