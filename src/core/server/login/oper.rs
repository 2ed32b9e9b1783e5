//! `oper <name>`: a logged-in user becomes the server's operator, with the name and password of one
//! of the operators the configuration lists (`Config::operators`, `--operator`). The password is the
//! next line, asked and checked as `passwd` asks and checks the current one: a cluster node lets it
//! into its shared log as its shape only, and argon2's work is a password job off the core's thread.
//! Right, the session is the operator's until it ends (`OPERATOR`); wrong, or a name no operator has,
//! the same `oper-failed` (which of the two was wrong is not said). A wrong try counts toward no
//! lockout: each costs a password check and a line of the user's flood budget, as `passwd` does,
//! and is a failed login's line in the operator's log (`reason=operator-password`), which fail2ban
//! acts on. Becoming the operator is logged too (`Effect::OperatorDid`).

use super::jobs::{Job, Weight};
use super::rule::{Login, Typed};
use crate::protocol::{ErrorReply, Prompt, ServerMsg};
use crate::server::connections::sessions::Passwd;
use crate::server::event::{ConnId, Effect, OperatorAct, send};

impl Login<'_> {
    /// `oper <name>`: the next line is that operator's password.
    pub(crate) fn oper(&mut self, conn: ConnId, name: &str, out: &mut Vec<Effect>) {
        let op = self
            .config
            .operators
            .iter()
            .position(|o| o.username == name);
        self.sessions.set_passwd(conn, Passwd::AwaitOper { op });
        send(out, conn, ServerMsg::Prompt(Prompt::OperatorPassword));
    }

    /// The password line after `oper`, for the operator at `op` (`None`: no such operator).
    pub(super) fn check_oper(
        &mut self,
        conn: ConnId,
        op: Option<usize>,
        input: Typed<'_>,
        out: &mut Vec<Effect>,
    ) {
        let Some((op, stored)) =
            op.and_then(|op| Some((op, self.config.operators.get(op)?.password.clone())))
        else {
            return self.oper_failed(conn, None, out);
        };
        if let Typed::Text(text) = input
            && !crate::password::is_hash(&stored)
        {
            let ok = crate::password::plain_matches(&stored, text);
            return self.oper_verdict(conn, op, ok, out);
        }
        let weight = if crate::password::is_hash(&stored) {
            Weight::Heavy
        } else {
            Weight::Light
        };
        if weight == Weight::Heavy && self.jobs.heavy() >= self.config.max_password_jobs {
            // Not asked again (as a login's password is): the client's next line is a command.
            self.sessions.set_passwd(conn, Passwd::Idle);
            return send(out, conn, ErrorReply::Busy);
        }
        let job = self.jobs.start(Job::CheckOper { conn, op }, weight);
        self.sessions.set_passwd(conn, Passwd::Checking { job });
        out.push(Effect::CheckPassword {
            conn,
            job,
            hash: stored,
            password: input.cleartext(),
        });
    }

    /// The verdict on the password of the operator at `op`, typed on `conn`.
    pub(super) fn oper_verdict(
        &mut self,
        conn: ConnId,
        op: usize,
        ok: bool,
        out: &mut Vec<Effect>,
    ) {
        let name = self.config.operators.get(op).map(|o| o.username.clone());
        match name {
            Some(name) if ok => {
                self.sessions.set_passwd(conn, Passwd::Idle);
                self.sessions.set_operator(conn);
                let act = OperatorAct::Became {
                    operator: name.clone(),
                };
                self.tell_operator_log(conn, act, out);
                send(out, conn, ServerMsg::Operator { name });
            }
            operator => self.oper_failed(conn, operator, out),
        }
    }

    fn oper_failed(&mut self, conn: ConnId, operator: Option<String>, out: &mut Vec<Effect>) {
        self.sessions.set_passwd(conn, Passwd::Idle);
        self.tell_operator_log(conn, OperatorAct::Refused { operator }, out);
        send(out, conn, ErrorReply::OperFailed);
    }

    /// What `conn`'s session did as (or to become) the operator, for the operator's log.
    fn tell_operator_log(&self, conn: ConnId, act: OperatorAct, out: &mut Vec<Effect>) {
        if let Some(s) = self.sessions.session(conn) {
            let user = self.accounts.name(s.user()).clone();
            out.push(Effect::OperatorDid { conn, user, act });
        }
    }
}
