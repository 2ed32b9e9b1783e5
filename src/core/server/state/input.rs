//! A connection's lines: through its flow (flood control, and holding lines while a password is
//! checked), then to the login, or once logged in, to the command table.

use super::ServerState;
use crate::protocol::command::command_table;
use crate::protocol::{
    ByeReason, Command, CommandName, ErrorReply, ServerMsg, check_line, parse_command,
};
use crate::server::connections::flow::{Charged, Class, FlowLimits, Input, Offer, Release};
use crate::server::connections::sessions::{Acks, Passwd, Phase, Sessions};
use crate::server::event::{ConnId, Effect, TimerId, UserId, send};
use crate::server::login::accounts::Accounts;
use crate::server::login::addresses::{AddressKey, Addresses};
use crate::server::login::rule::{Typed, reprompt};
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
        let limits = self.flow_limits;
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
        let limits = self.flow_limits;
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
        self.sessions.phase(conn).and_then(passwd_step_of)
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
        // (Read from the phase in hand: `passwd_step` would look the connection up again.)
        let passwd = passwd_step_of(phase);
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
        if let Some((user, step)) = passwd {
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

    /// A logged-in user's line, to the command table (`run`, from `protocol::command`).
    fn on_command_line(&mut self, conn: ConnId, line: &str, now: Timestamp, out: &mut Vec<Effect>) {
        let cmd = match parse_command(line) {
            Ok(cmd) => cmd,
            Err(e) => {
                send(out, conn, ErrorReply::from(e));
                return;
            }
        };
        let Some(from) = self.sessions.command_from(conn, cmd.is_activity(), now) else {
            return;
        };
        let me = from.user;
        if self.accounts.is_guest(me) && needs_account(&cmd) {
            send(out, conn, ErrorReply::NeedsAccount);
            return;
        }
        // A command other than `acks` from a session that has not said whether it acknowledges: it
        // does not (a client that does says so first).
        if from.acks == Acks::Undecided && !matches!(cmd, Command::Acks { .. }) {
            self.delivery().set_acks(conn, false, out);
        }
        let call = Call {
            conn,
            me,
            receipts: from.receipts,
            now,
            out,
        };
        self.run(cmd, call);
    }
}

/// The user of a session in `phase` and where their `passwd` stands, when its next line is a
/// password.
fn passwd_step_of(phase: &Phase) -> Option<(UserId, Passwd)> {
    match phase {
        Phase::Online(s) if s.passwd().awaits_password() => Some((s.user(), s.passwd())),
        _ => None,
    }
}

/// Whether `cmd` needs an account, so that a guest (`login::guest`) may not use it: what is kept
/// across logins (blocks, the identity keys a client publishes) or is an account's own (its
/// password). A guest may message, broadcast, ask who is online, look up keys, ping, go away, be
/// blocked by others, and take part in groups (it leaves them when it goes; a group it creates is
/// not stored: `Group::unstored`).
fn needs_account(cmd: &Command<'_>) -> bool {
    matches!(
        cmd,
        Command::Block { .. }
            | Command::Unblock { .. }
            | Command::Passwd
            | Command::KeysIdentity { .. }
            | Command::KeysAdd { .. }
            | Command::KeysFallback { .. }
    )
}

/// A logged-in user's command, as the rule column of the command table sees it: `c` in its rows.
struct Call<'o> {
    conn: ConnId,
    me: UserId,
    /// Whether the user is told of each message's fate (`receipts on`), as the command was read.
    receipts: bool,
    now: Timestamp,
    out: &'o mut Vec<Effect>,
}

/// The server's column of the command table (`protocol::command`): each command to its rule, `s` the
/// state and `c` the [`Call`].
macro_rules! define_rules {
    ($( {
        $m:tt $V:ident $decl:tt [$($f:ident)*] $word:tt $sub:tt $usage:tt $summary:tt $activity:tt
        $listed:tt ($s:ident, $c:ident => $rule:expr)
    } )*) => {
        impl ServerState {
            /// Carries out a logged-in user's command by the rule its row names.
            #[allow(unused_variables)]
            fn run(&mut self, cmd: Command<'_>, call: Call<'_>) {
                match cmd {
                    $( Command::$V { $($f),* } => {
                        let $s = &mut *self;
                        let $c = call;
                        $rule;
                    } )*
                }
            }
        }
    };
}

command_table!(define_rules);

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
