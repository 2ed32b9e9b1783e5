//! The server's state and the entry points that change it.
//!
//! [`ServerState`] holds the parts, each of which owns its data and keeps its own invariants (as
//! quinn-proto's connection holds its streams and packet spaces), and nothing else. A rule is handed
//! only the parts it touches, borrowed for the call (as iroh-gossip hands its two protocols only what
//! they own): [`Messaging`], [`Delivery`], [`Groups`], [`BlockList`], [`Presence`], [`Brokering`],
//! [`Keys`], [`Login`]. What
//! spans the parts (a connection's life, the order of its lines, acting on the deadlines) is the
//! state's own, in the files of `state/`:
//!
//! - `life.rs`: a connection opened, logged in, timed out or closed; shutting down; the deadlines.
//! - `input.rs`: a connection's lines, through flood control, to the login or the command table.
//! - `restore.rs`: rebuilding the durable part from the records a store kept.
//! - `query.rs`: read-only views.
//! - `admin.rs`: what the server's operator asks for (kick, ban, accounts, reloads).
//! - `real_name.rs`: `realname`, told to those who see the user.
//! - `rename.rs`: a guest's `nick`, checked as a guest's login and told to those who see it.

mod admin;
mod input;
mod life;
mod operator;
mod query;
pub use query::OnlineView;
mod real_name;
mod rename;
mod restore;

use std::net::SocketAddr;

use super::admin::bans::Bans;
use super::blocklist::blocks::Blocks;
use super::blocklist::rule::BlockList;
use super::config::Config;
use super::connections::flow::{FlowLimits, Input};
use super::connections::sessions::Sessions;
use super::credentials::Account;
use super::event::{ConnId, Effect, Event, TimerId, UserId, send};
use super::groups::book::GroupBook;
use super::groups::rule::Groups;
use super::keys::directory::KeyDirectory;
use super::keys::rule::Keys;
use super::login::accounts::Accounts;
use super::login::addresses::Addresses;
use super::login::jobs::Jobs;
use super::login::next_line::{NextLine, next_line};
use super::login::rule::Login;
use super::messages::delivery::Delivery;
use super::messages::mailboxes::Mailboxes;
use super::messages::rule::Messaging;
use super::messages::signal::Signals;
use super::messages::spare_texts::SpareTexts;
use super::presence::announced::Announced;
use super::presence::departed::Departed;
use super::presence::history::History;
use super::presence::rule::Presence;
use super::private::brokerage::Brokerage;
use super::private::rule::Brokering;
use crate::protocol::{Name, ServerMsg};
use crate::time::Timestamp;
use crate::timers::Timers;

/// The whole server, as a value. See the [module documentation](super) for the contract.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ServerState {
    config: Config,
    /// The latest time seen; time never goes backwards inside the core.
    now: Timestamp,
    accounts: Accounts,
    sessions: Sessions,
    blocks: Blocks,
    mailboxes: Mailboxes,
    history: History,
    /// The sessions that ended lately, for `whowas` (in memory: a restart begins it empty).
    #[serde(default)]
    departed: Departed,
    brokerage: Brokerage,
    groups: GroupBook,
    /// The public keys each account's client published for end-to-end encryption.
    keys: KeyDirectory,
    /// What the others were last told of each user's presence (announcements are rationed).
    announced: Announced,
    /// Per source address: connections logging in, failed logins, registrations.
    addresses: Addresses,
    /// When `addresses` is next tidied (it holds only addresses with state, and grows between tidies).
    addresses_tidy_at: usize,
    /// Password checks and hashes handed to the shell and not answered yet.
    jobs: Jobs,
    /// Accounts and addresses the operator banned.
    bans: Bans,
    /// Set by `Shutdown`: everyone is being disconnected, so nobody is told about anybody leaving.
    shutting_down: bool,
    /// The deadlines the rules asked for: at most one per [`TimerId`], each re-checked when it comes;
    /// but a connection's own (`TimerId::Conn`) is kept with the connection, in `sessions`.
    timers: Timers<TimerId>,
    /// The connections the last event closed, with their peers' addresses: the composition names
    /// the address of a goodbye or a logout in the operator's log after the core has forgotten the
    /// connection, and asks here rather than keeping every connection's address a second time.
    /// Emptied at the start of every event, so it holds only the last one's.
    #[serde(skip)]
    closed_peers: Vec<(ConnId, SocketAddr)>,
    /// Strings for the texts of `MSG` lines, given back once written (no state: a snapshot has none).
    #[serde(skip)]
    texts: SpareTexts,
    /// Flood control's numbers, worked out from `config` when it is set rather than for every line
    /// (a derived value: a snapshot keeps the configuration it comes from, not this).
    #[serde(skip)]
    flow_limits: FlowLimits,
}

impl ServerState {
    /// A server with these accounts. `seed` feeds the private-chat token generator; shells pass OS
    /// randomness, tests and simulations a fixed value.
    pub fn new(config: Config, accounts: Vec<Account>, seed: [u8; 32]) -> Self {
        let mut st = ServerState {
            config,
            now: Timestamp::ZERO,
            accounts: Accounts::default(),
            sessions: Sessions::default(),
            blocks: Blocks::default(),
            mailboxes: Mailboxes::default(),
            history: History::default(),
            departed: Departed::default(),
            brokerage: Brokerage::new(seed),
            groups: GroupBook::default(),
            keys: KeyDirectory::default(),
            announced: Announced::default(),
            addresses: Addresses::default(),
            addresses_tidy_at: 1024,
            jobs: Jobs::default(),
            bans: Bans::default(),
            shutting_down: false,
            timers: Timers::new(),
            closed_peers: Vec::new(),
            texts: SpareTexts::default(),
            flow_limits: FlowLimits::default(),
        };
        st.follow_config();
        for a in accounts {
            st.add_user(Name::from(a.username), a.password);
        }
        st
    }

    /// What the parts keep by the configuration's numbers is set by them (after it changes, and
    /// after a core is decoded, which keeps none of it).
    pub(crate) fn follow_config(&mut self) {
        self.flow_limits = FlowLimits::of(&self.config);
        self.mailboxes
            .count_senders_from(self.config.mailbox_share());
    }

    /// The address `conn`'s peer connected from: an open connection's, or one the last event
    /// closed.
    pub fn peer_of(&self, conn: ConnId) -> Option<SocketAddr> {
        if let Some(c) = self.sessions.conn(conn) {
            return Some(c.peer());
        }
        self.closed_peers
            .iter()
            .find(|(closed, _)| *closed == conn)
            .map(|&(_, peer)| peer)
    }

    /// The numbers the rules go by now (as last configured).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Feeds one event in; the effects it causes are appended to `out`, in the order they must happen.
    pub fn handle(&mut self, event: Event<'_>, now: Timestamp, out: &mut Vec<Effect>) {
        let now = self.advance(now);
        if !self.closed_peers.is_empty() {
            self.closed_peers.clear();
        }
        match event {
            Event::Connected { conn, peer } => self.on_connected(conn, peer, now, out),
            Event::Line { conn, line } => self.on_input(conn, Input::Line(line), now, out),
            Event::LineTooLong { conn } => self.on_input(conn, Input::TooLong, now, out),
            Event::SecretLine { conn, shape } => {
                self.on_input(conn, Input::Secret(shape), now, out)
            }
            Event::Disconnected { conn } => self.drop_conn(conn, now, out),
            Event::PasswordChecked { job, ok, .. } if self.jobs.is_passwd(job) => {
                if let Some(conn) = self.login().passwd_checked(job, ok, out) {
                    self.release_held(conn, now, out);
                }
            }
            Event::PasswordHashed { job, hash, .. } if self.jobs.is_passwd(job) => {
                if let Some(conn) = self.login().passwd_hashed(job, hash, out) {
                    self.release_held(conn, now, out);
                }
            }
            Event::PasswordJobFailed { job, .. } if self.jobs.is_passwd(job) => {
                if let Some(conn) = self.login().passwd_failed(job, out) {
                    self.release_held(conn, now, out);
                }
            }
            Event::PasswordJobFailed { job, .. } => {
                let answer = self.login().password_failed(job, out);
                self.after_password_job(answer, now, out);
            }
            Event::PasswordChecked { job, ok, .. } => {
                let answer = self.login().password_checked(job, ok, now, out);
                self.after_password_job(answer, now, out);
            }
            Event::PasswordHashed { job, hash, .. } => {
                let answer = self.login().password_hashed(job, hash, now, out);
                self.after_password_job(answer, now, out);
            }
            Event::Admin { request, action } => {
                let answer = self.admin(action, now, out);
                out.push(Effect::AdminAnswer { request, answer });
            }
            Event::Drained { conn } => {
                if let Some(user) = self.sessions.drained(conn) {
                    self.delivery().pump(user, out);
                }
            }
            Event::Shutdown => self.on_shutdown(now, out),
        }
    }

    /// The earliest deadline the core has: when the driver must next call [`Self::handle_timeout`]
    /// (`None`: no deadline at all). It changes only when the core is fed something.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let conns = self.sessions.next_deadline().map(|(at, _)| at);
        match (conns, self.timers.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Lets time pass to `now`: every deadline due by then is acted on, earliest first (one that a rule
    /// sets on the way and is already due too), appending the effects to `out`. Calling it early, late
    /// or more than once is harmless: a deadline acts only once due, and re-checks what it is for then.
    pub fn handle_timeout(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let now = self.advance(now);
        while let Some(timer) = self.pop_due(now) {
            self.on_deadline(timer, now, out);
        }
    }

    /// The earliest deadline due at `now`, taken away: the connections' own (kept with them, see
    /// `connections::deadlines`) and the other timers', in one order, as if they were one table.
    fn pop_due(&mut self, now: Timestamp) -> Option<TimerId> {
        let conn = self
            .sessions
            .next_deadline()
            .filter(|(at, _)| *at <= now)
            .map(|(at, conn)| (at, TimerId::Conn(conn)));
        let other = self.timers.first().filter(|(at, _)| *at <= now);
        match (conn, other) {
            (Some(c), Some(o)) if o < c => self.timers.pop_due(now),
            (Some(_), _) => self.sessions.take_next_deadline().map(TimerId::Conn),
            (None, Some(_)) => self.timers.pop_due(now),
            (None, None) => None,
        }
    }

    /// What the next line of `conn` will be taken as, for a cluster node that lets lines into its
    /// log before login one at a time (see `cluster::gates`).
    pub fn next_line(&self, conn: ConnId) -> NextLine {
        next_line(&self.sessions, conn)
    }

    /// Clamps `now` so time never runs backwards inside the core, whatever the caller's clock does.
    fn advance(&mut self, now: Timestamp) -> Timestamp {
        self.now = self.now.max(now);
        self.now
    }

    /// Adds an account, with a slot for it in every part.
    fn add_user(&mut self, name: Name, password: String) -> UserId {
        let id = self.accounts.add(name, password);
        self.add_slots();
        id
    }

    /// Adds a guest (see `login::guest`), with a slot for it in every part, as for an account.
    fn add_guest(&mut self, name: Name) -> UserId {
        let id = self.accounts.add_guest(name);
        self.add_slots();
        id
    }

    /// A slot in every part for the user just added to the accounts.
    fn add_slots(&mut self) {
        self.sessions.add_user();
        self.blocks.add_user();
        self.mailboxes.add_user();
        self.history.add_user();
        self.groups.add_user();
        self.keys.add_user();
        self.announced.add_user();
    }

    fn name(&self, id: UserId) -> &Name {
        self.accounts.name(id)
    }

    fn find_user(&self, name: &str) -> Option<UserId> {
        self.accounts.find(name)
    }

    // Each rule, handed the parts it touches.

    fn login(&mut self) -> Login<'_> {
        Login {
            config: &self.config,
            accounts: &mut self.accounts,
            sessions: &mut self.sessions,
            addresses: &mut self.addresses,
            jobs: &mut self.jobs,
            bans: &self.bans,
        }
    }

    fn delivery(&mut self) -> Delivery<'_> {
        Delivery {
            config: &self.config,
            accounts: &self.accounts,
            blocks: &self.blocks,
            sessions: &mut self.sessions,
            mailboxes: &mut self.mailboxes,
        }
    }

    fn messaging(&mut self) -> Messaging<'_> {
        Messaging {
            config: &self.config,
            accounts: &self.accounts,
            blocks: &self.blocks,
            keys: &self.keys,
            sessions: &mut self.sessions,
            mailboxes: &mut self.mailboxes,
            texts: &mut self.texts,
        }
    }

    /// The string of a line's text, written out and given back by the shell: the next line's text
    /// may be copied into it (see `messages::spare_texts`).
    pub fn recycle_text(&mut self, text: String) {
        self.texts.give(text);
    }

    /// The server has gone idle after a burst: the strings kept for texts go back to the allocator,
    /// and so does the connection table's room beyond what it holds (see `ConnTable::shrink`).
    /// Neither changes what the core holds or the order it walks it in, so a cluster node's copy of
    /// the core may do it on its own idle moment and stay alike with the others.
    pub fn shrink(&mut self) {
        self.texts.clear();
        self.sessions.shrink();
    }

    fn signals(&mut self) -> Signals<'_> {
        Signals {
            accounts: &self.accounts,
            blocks: &self.blocks,
            book: &self.groups,
            sessions: &mut self.sessions,
            mailboxes: &mut self.mailboxes,
        }
    }

    fn group_rules(&mut self) -> Groups<'_> {
        Groups {
            config: &self.config,
            accounts: &self.accounts,
            blocks: &self.blocks,
            sessions: &mut self.sessions,
            mailboxes: &mut self.mailboxes,
            book: &mut self.groups,
        }
    }

    fn block_list(&mut self) -> BlockList<'_> {
        BlockList {
            accounts: &self.accounts,
            blocks: &mut self.blocks,
        }
    }

    /// `block`: the block list's rule, and what a block does beyond the block list (what the blocked
    /// user left in the blocker's mailbox is discarded; a guest's block is not recorded, so that
    /// discard is, or a restart would bring the messages back).
    fn block(&mut self, conn: ConnId, me: UserId, user: &str, out: &mut Vec<Effect>) {
        if let Some(b) = self.block_list().block(conn, me, user, out)
            && self.mailboxes.discard_from(b.blocker, &b.blocked)
            && b.guest
        {
            out.push(Effect::Persist(crate::server::Record::MessagesDiscarded {
                to: self.accounts.name(b.blocker).clone(),
                from: b.blocked,
            }));
        }
    }

    fn presence(&self) -> Presence<'_> {
        Presence {
            config: &self.config,
            accounts: &self.accounts,
            blocks: &self.blocks,
            sessions: &self.sessions,
            history: &self.history,
            departed: &self.departed,
            mailboxes: &self.mailboxes,
            groups: &self.groups,
            shutting_down: self.shutting_down,
        }
    }

    /// `away [<reason>]`: kept in the session, answered, and told to those who see the user's
    /// presence if it changed.
    fn away(&mut self, conn: ConnId, me: UserId, reason: Option<&str>, out: &mut Vec<Effect>) {
        let changed = self.sessions.set_away(conn, reason);
        let answer = match reason {
            Some(reason) => ServerMsg::Away {
                reason: reason.to_owned(),
            },
            None => ServerMsg::Back,
        };
        send(out, conn, answer);
        if changed {
            self.presence().announce_away(me, reason, out);
        }
    }

    fn key_rules(&mut self) -> Keys<'_> {
        Keys {
            accounts: &self.accounts,
            blocks: &self.blocks,
            sessions: &self.sessions,
            directory: &mut self.keys,
        }
    }

    fn brokering(&mut self) -> Brokering<'_> {
        Brokering {
            config: &self.config,
            accounts: &self.accounts,
            blocks: &self.blocks,
            sessions: &mut self.sessions,
            brokerage: &mut self.brokerage,
            timers: &mut self.timers,
            shutting_down: self.shutting_down,
        }
    }
}
