//! `OPER`, `KILL` and `WALLOPS`: the server's operator on IRC. `OPER <name> <password>` is the
//! core's `oper <name>` and then the password as the line it asks for (a password line, which a
//! cluster node keeps out of its shared log as at login); the core's `OPERATOR` is `381` and the
//! user's `MODE +o`, its `oper-failed` `464`. `KILL <nick> [:reason]` is the core's `kill` (the
//! operator's kick: the victim is told `ERROR`, the others see it `QUIT`), `WALLOPS :text` the
//! core's `wallops`, told to every operator online (as IRC allows: "servers MAY send WALLOPS only
//! to operators"); anyone else is `481`.

use super::message::Message;
use super::session::{IrcSession, Step, line, mask};
use crate::protocol::{ErrorReply, ServerMsg};

impl IrcSession {
    /// `OPER <name> <password>`.
    pub(super) fn oper(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let (Some(name), Some(password)) = (msg.param(0), msg.param(1)) else {
            return out.push(Step::Say(self.not_enough_params("OPER")));
        };
        // A name or password no operator could have is refused here: the core would ask again for
        // a password that is not text, and take the client's next command for it.
        let unfit = |s: &str| s.is_empty() || s.chars().any(|c| c == ' ' || c.is_control());
        if unfit(name) || unfit(password) {
            return out.push(Step::Say(self.numeric("464", &[], "Password incorrect")));
        }
        out.push(Step::Feed(format!("oper {name}").into_bytes()));
        out.push(Step::Feed(password.as_bytes().to_vec()));
        self.oper_pending.waiting += 1;
    }

    /// A `PING` while an `OPER` is checked: answered after it.
    pub(super) fn hold_pong(&mut self, token: &str) {
        let p = &mut self.oper_pending;
        p.held.push_back((p.waiting, token.to_owned()));
    }

    /// An `OPER` is answered: the `PONG`s that followed no later one, in order.
    fn release_pongs(&mut self, out: &mut Vec<Step>) {
        let p = &mut self.oper_pending;
        p.waiting = p.waiting.saturating_sub(1);
        for (ahead, _) in &mut p.held {
            *ahead = ahead.saturating_sub(1);
        }
        let mut due = Vec::new();
        while p.held.front().is_some_and(|(ahead, _)| *ahead == 0) {
            due.extend(p.held.pop_front().map(|(_, token)| token));
        }
        for token in due {
            let server = self.server_name().to_owned();
            out.push(Step::Say(line(
                None,
                Some(&server),
                "PONG",
                &[&server, &token],
                true,
            )));
        }
    }

    /// `KILL <nick> [:reason]`.
    pub(super) fn kill(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(nick) = msg.param(0).filter(|n| !n.is_empty() && !n.contains(' ')) else {
            return out.push(Step::Say(self.not_enough_params("KILL")));
        };
        let reason = msg.param(1).map(str::trim).unwrap_or("");
        let line = if reason.is_empty() {
            format!("kill {nick}")
        } else {
            format!("kill {nick} {reason}")
        };
        out.push(Step::Feed(line.into_bytes()));
    }

    /// `WALLOPS :text`.
    pub(super) fn wallops(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(text) = msg.param(0).filter(|t| !t.trim().is_empty()) else {
            return out.push(Step::Say(self.not_enough_params("WALLOPS")));
        };
        out.push(Step::Feed(format!("wallops {text}").into_bytes()));
    }

    /// The core's lines about operators: `true` if `msg` was one.
    pub(super) fn oper_line(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        let said = self.oper_said(msg, out);
        // The core's answer to an `OPER` (its verdict, busy, or a check it could not make): the PONGs
        // held behind it follow.
        if said
            && matches!(
                msg,
                ServerMsg::Operator { .. }
                    | ServerMsg::Error(
                        ErrorReply::OperFailed | ErrorReply::Busy | ErrorReply::PasswordJobFailed
                    )
            )
        {
            self.release_pongs(out);
        }
        said
    }

    fn oper_said(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        match msg {
            ServerMsg::Operator { .. } => {
                self.oper = true;
                out.push(Step::Say(self.numeric(
                    "381",
                    &[],
                    "You are now an IRC operator",
                )));
                let me = self.target().to_owned();
                out.push(Step::Say(line(
                    None,
                    Some(&mask(&me.as_str().into())),
                    "MODE",
                    &[&me, "+o"],
                    false,
                )));
            }
            ServerMsg::Wallops { from, text } => {
                out.push(Step::Say(line(
                    None,
                    Some(&mask(from)),
                    "WALLOPS",
                    &[text],
                    true,
                )));
            }
            ServerMsg::Error(ErrorReply::OperFailed) => {
                out.push(Step::Say(self.numeric("464", &[], "Password incorrect")));
            }
            ServerMsg::Error(ErrorReply::Busy) if self.oper_pending.waiting > 0 => {
                out.push(Step::Say(self.numeric(
                    "464",
                    &[],
                    "The server is busy checking passwords: try again",
                )));
            }
            ServerMsg::Error(ErrorReply::PasswordJobFailed) if self.oper_pending.waiting > 0 => {
                out.push(Step::Say(self.numeric(
                    "464",
                    &[],
                    "The server could not check the password just now: try again",
                )));
            }
            ServerMsg::Error(ErrorReply::NotOperator) => out.push(Step::Say(self.numeric(
                "481",
                &[],
                "Permission Denied- You're not an IRC operator",
            ))),
            _ => return false,
        }
        true
    }
}
