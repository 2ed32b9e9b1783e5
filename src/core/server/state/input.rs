//! A connection's lines: through its flow (flood control, and holding lines while a password is
//! checked), then to the login, or once logged in, to the command table.

use super::ServerState;
use crate::protocol::{
    ByeReason, Command, CommandName, ErrorReply, ServerMsg, check_line, parse_command,
};
use crate::server::accounts::Accounts;
use crate::server::accounts::UserId;
use crate::server::event::{ConnId, Effect, TimerId, send};
use crate::server::flow::{Charged, Class, FlowLimits, Input, Offer, Release};
use crate::server::login::addresses::{AddressKey, Addresses};
use crate::server::login::rule::{Typed, reprompt};
use crate::server::sessions::{Passwd, Phase, Sessions};
use crate::time::Timestamp;

impl ServerState {
    /// One input of `conn`: handled now, or held by its flow (see `flow`).
    pub(super) fn on_input(
        &mut self,
        conn: ConnId,
        input: Input<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let limits = FlowLimits::of(&self.config);
        let (class, charged) = lend_budgets(
            &mut self.accounts,
            &mut self.addresses,
            &self.sessions,
            conn,
            Some(input),
            &limits,
        );
        match self
            .sessions
            .offer(conn, input, class, charged, &limits, now, out)
        {
            Some(Offer::Admit) => self.handle_input(conn, input, now, out),
            // The flow has just started holding for its rate: it is to be looked at again then.
            Some(Offer::Hold(Some(at))) => self.timers.set(TimerId::Flow(conn), at),
            Some(Offer::Flood) => self.flooded(conn, now, out),
            // Held behind lines already waiting (the deadline is set) or a password job (its answer
            // looks again); or the connection is gone.
            Some(Offer::Hold(None)) | None => {}
        }
    }

    /// Handles the connection's held lines as far as its budgets allow and nothing makes it wait; once
    /// none are left, reading resumes. Called when its flow deadline comes and when a password job is
    /// answered.
    pub(super) fn release_held(&mut self, conn: ConnId, now: Timestamp, out: &mut Vec<Effect>) {
        let limits = FlowLimits::of(&self.config);
        loop {
            let (_, charged) = lend_budgets(
                &mut self.accounts,
                &mut self.addresses,
                &self.sessions,
                conn,
                None,
                &limits,
            );
            match self.sessions.release(conn, charged, &limits, now, out) {
                None | Some(Release::Nothing) => return,
                Some(Release::At(at)) => {
                    self.timers.set(TimerId::Flow(conn), at);
                    return;
                }
                Some(Release::Now(held)) => self.handle_input(conn, held.as_input(), now, out),
            }
        }
    }

    /// The connection kept flooding: neither its account nor its address may log in for the
    /// cool-down, and it is told so as it is disconnected.
    fn flooded(&mut self, conn: ConnId, now: Timestamp, out: &mut Vec<Effect>) {
        let cooldown_secs = self.config.flood_cooldown_secs;
        if cooldown_secs > 0
            && let Some(c) = self.sessions.conn(conn)
        {
            let until = now.plus_secs(cooldown_secs);
            if let Phase::Online(s) = c.phase() {
                self.accounts.cool_down(s.user(), until);
            }
            self.addresses.cool_down(AddressKey::of(c.peer()), until);
        }
        self.close_with(conn, ByeReason::Flood { cooldown_secs }, now, out);
    }

    /// The user on `conn` and where their `passwd` stands, when its next line is a password.
    fn passwd_step(&self, conn: ConnId) -> Option<(UserId, Passwd)> {
        let s = self.sessions.session(conn)?;
        s.passwd().awaits_password().then(|| (s.user(), s.passwd()))
    }

    /// A line, an overlong one or a password line, once the flow lets it through.
    fn handle_input(
        &mut self,
        conn: ConnId,
        input: Input<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        match input {
            Input::Line(line) => self.on_line(conn, line, now, out),
            Input::TooLong => self.on_line_too_long(conn, out),
            Input::Secret(shape) => {
                if let Some((user, step)) = self.passwd_step(conn) {
                    let typed = Typed::AtNode { shape };
                    return self.login().passwd_line(conn, user, step, typed, out);
                }
                let outcome = self.login().secret(conn, shape, now, out);
                self.carry_out(conn, outcome, now, out);
            }
        }
    }

    fn on_line(&mut self, conn: ConnId, bytes: &[u8], now: Timestamp, out: &mut Vec<Effect>) {
        let Some(phase) = self.sessions.phase(conn) else {
            return;
        };
        let online = matches!(phase, Phase::Online(_));
        let line = match check_line(bytes) {
            Ok(line) => line,
            Err(e) => {
                send(out, conn, ErrorReply::from(e));
                if !online {
                    reprompt(&self.sessions, conn, out);
                }
                return;
            }
        };
        if let Some((user, step)) = self.passwd_step(conn) {
            let typed = Typed::Text(line.trim());
            self.login().passwd_line(conn, user, step, typed, out);
        } else if online {
            self.on_command_line(conn, line, now, out);
        } else {
            let outcome = self.login().line(conn, line, now, out);
            self.carry_out(conn, outcome, now, out);
        }
    }

    fn on_line_too_long(&mut self, conn: ConnId, out: &mut Vec<Effect>) {
        let Some(phase) = self.sessions.phase(conn) else {
            return;
        };
        let online = matches!(phase, Phase::Online(_));
        let max = self.config.max_line;
        send(out, conn, ErrorReply::LineTooLong { max });
        if !online {
            reprompt(&self.sessions, conn, out);
        }
    }

    /// The command table: a logged-in user's line, to the rule that handles it.
    fn on_command_line(&mut self, conn: ConnId, line: &str, now: Timestamp, out: &mut Vec<Effect>) {
        let cmd = match parse_command(line) {
            Ok(cmd) => cmd,
            Err(e) => {
                send(out, conn, ErrorReply::from(e));
                return;
            }
        };
        let Some(me) = self.sessions.command_from(conn, cmd.is_activity(), now) else {
            return;
        };
        if !matches!(cmd, Command::Acks { .. }) {
            self.delivery().settle(conn, out);
        }
        match cmd {
            Command::Message { to, text } => self.messaging().message(conn, me, to, text, now, out),
            Command::Broadcast { text } => self.messaging().broadcast(conn, me, text, out),
            Command::Offline => self.messaging().offline(conn, me, out),
            Command::Ack { id } => self.messaging().ack(conn, me, id, out),
            Command::MessageGroup { group, text } => {
                self.group_rules().message(conn, me, group, text, now, out)
            }
            Command::CreateGroup { group, members } => {
                self.group_rules().create(conn, me, group, &members, out)
            }
            Command::GroupAdd { group, user } => self.group_rules().add(conn, me, group, user, out),
            Command::GroupLeave { group } => self.group_rules().leave(conn, me, group, out),
            Command::GroupMembers { group } => self.group_rules().members(conn, me, group, out),
            Command::GroupList => self.group_rules().list(conn, me, out),
            Command::WhoElse => self.presence().whoelse(conn, me, out),
            Command::WhoElseSince { secs } => {
                self.presence().whoelsesince(conn, me, secs, now, out)
            }
            Command::WhoLastHr => self.presence().whoelsesince(conn, me, 3600, now, out),
            Command::Ping { user } => self.presence().ping(conn, me, user, now, out),
            Command::Block { user } => self.block_list().block(conn, me, user, out),
            Command::Unblock { user } => self.block_list().unblock(conn, me, user, out),
            Command::P2pPort { port } => self.brokering().p2pport(conn, port, out),
            Command::StartPrivate { user } => {
                self.brokering().startprivate(conn, me, user, now, out)
            }
            Command::Accept { user } => self.brokering().accept(conn, me, user, out),
            Command::Decline { user } => self.brokering().decline(conn, me, user, out),
            Command::StopPrivate { user } => self.brokering().stopprivate(conn, me, user, out),
            Command::Receipts { on } => self.sessions.set_receipts(conn, on),
            Command::Acks { on } => self.delivery().set_acks(conn, on, out),
            Command::Logout => self.close_with(conn, ByeReason::Logout, now, out),
            Command::Help => {
                for command in CommandName::listed() {
                    send(out, conn, ServerMsg::Help { command });
                }
            }
            Command::KeysIdentity {
                curve25519,
                ed25519,
            } => self
                .key_rules()
                .identity(conn, me, curve25519, ed25519, out),
            Command::KeysAdd { keys } => self.key_rules().add(conn, me, &keys, out),
            Command::KeysFallback { key } => self.key_rules().fallback(conn, me, key, out),
            Command::KeysClaim { user } => self.key_rules().claim(conn, me, user, out),
            Command::KeysShow { user } => self.key_rules().show(conn, user, out),
            // The client reports private-chat use; resetting the idle clock (above) is the whole effect.
            Command::Active => {}
            Command::Passwd => self.login().passwd(conn, out),
        }
    }
}

/// The class of `input` (a line of a logged-in user may be bookkeeping; before login every line is the
/// login's) and the budgets it is charged to: its account's, once logged in, and its address's, as far
/// as flood control has them. With flood control off, nothing is looked up.
fn lend_budgets<'a>(
    accounts: &'a mut Accounts,
    addresses: &'a mut Addresses,
    sessions: &Sessions,
    conn: ConnId,
    input: Option<Input<'_>>,
    limits: &FlowLimits,
) -> (Class, Charged<'a>) {
    if !limits.per_account() && !limits.per_address() {
        return (Class::Command, Charged::default());
    }
    let Some(c) = sessions.conn(conn) else {
        return (Class::Command, Charged::default());
    };
    let user = match c.phase() {
        Phase::Online(s) => Some(s.user()),
        _ => None,
    };
    let class = match (input, user) {
        (Some(Input::Line(line)), Some(_)) => Class::of_line(line),
        _ => Class::Command,
    };
    let charged = Charged {
        account: user
            .filter(|_| limits.per_account())
            .map(|u| accounts.budget(u)),
        address: limits
            .per_address()
            .then(|| addresses.budget(AddressKey::of(c.peer()))),
    };
    (class, charged)
}
