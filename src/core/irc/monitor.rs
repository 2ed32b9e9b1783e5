//! IRCv3 `MONITOR`: natter's presence, for the nicks a client asks about. `MONITOR + a,b` asks the
//! core who is online (`whoelse`, which already leaves out whoever blocked the asker) and answers
//! `730` (online) or `731` (offline) for each; from then on the core's `PRESENCE` lines about a
//! monitored nick become `730`/`731`, and the others are not said (natter tells every user of every
//! login; IRC only of those asked about). A user who blocked the client is never shown online, as
//! natter's own presence lines never show them. `MONITOR -`, `C`, `L` (`732`, `733`) and `S` are
//! the front's alone.

use super::message::Message;
use super::presence_book::{MONITOR_LIMIT, Query, fold};
use super::session::{IrcSession, Step, line, mask};
use crate::protocol::ServerMsg;

impl IrcSession {
    /// `MONITOR +|-|C|L|S [targets]`.
    pub(super) fn monitor(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(sub) = msg.param(0) else {
            out.push(Step::Say(self.not_enough_params("MONITOR")));
            return;
        };
        let targets = msg.param(1).unwrap_or("");
        match sub {
            "+" | "-" if targets.is_empty() => {
                out.push(Step::Say(self.not_enough_params("MONITOR")));
            }
            "+" => self.monitor_add(targets, out),
            "-" => {
                for t in targets.split(',').filter(|t| !t.is_empty()) {
                    self.watch.monitored.remove(&fold(t));
                }
            }
            "C" | "c" => self.watch.monitored.clear(),
            "L" | "l" => self.monitor_list(out),
            "S" | "s" => {
                let all: Vec<String> = self.watch.monitored.values().cloned().collect();
                self.ask_presence(all, out);
            }
            _ => out.push(Step::Say(self.numeric(
                "421",
                &["MONITOR"],
                "Unknown MONITOR subcommand: use +, -, C, L or S",
            ))),
        }
    }

    /// `MONITOR + a,b`: each nick is added (a mask or a malformed nick is `432`; past the limit,
    /// `734` and the rest are not added), then the core is asked who of them is online.
    fn monitor_add(&mut self, targets: &str, out: &mut Vec<Step>) {
        let mut asked = Vec::new();
        let list: Vec<&str> = targets.split(',').filter(|t| !t.is_empty()).collect();
        for (i, &t) in list.iter().enumerate() {
            if t.contains(['!', '@', '*', '?', '#', ' ']) || t.starts_with(':') {
                out.push(Step::Say(self.numeric(
                    "432",
                    &[t],
                    "Erroneous nickname: MONITOR takes nicks, not masks",
                )));
                continue;
            }
            let key = fold(t);
            if !self.watch.monitored.contains_key(&key)
                && self.watch.monitored.len() >= MONITOR_LIMIT
            {
                let limit = MONITOR_LIMIT.to_string();
                let rest = list[i..].join(",");
                out.push(Step::Say(self.numeric(
                    "734",
                    &[&limit, &rest],
                    "Monitor list is full",
                )));
                break;
            }
            self.watch.monitored.insert(key, t.to_owned());
            asked.push(t.to_owned());
        }
        self.ask_presence(asked, out);
    }

    /// Asks the core who is online, to answer `730`/`731` about `nicks` when it replies.
    fn ask_presence(&mut self, nicks: Vec<String>, out: &mut Vec<Step>) {
        if nicks.is_empty() {
            return;
        }
        self.watch.queries.push_back(Query::Monitor(nicks));
        out.push(Step::Feed(b"whoelse".to_vec()));
    }

    /// `MONITOR L`: the list in `732` lines that fit, then `733`.
    fn monitor_list(&mut self, out: &mut Vec<Step>) {
        let mut lines = Vec::new();
        let mut chunk = String::new();
        for nick in self.watch.monitored.values() {
            if !chunk.is_empty() && chunk.len() + nick.len() + 1 > 400 {
                lines.extend(self.numeric("732", &[], &chunk));
                chunk.clear();
            }
            if !chunk.is_empty() {
                chunk.push(',');
            }
            chunk.push_str(nick);
        }
        if !chunk.is_empty() {
            lines.extend(self.numeric("732", &[], &chunk));
        }
        lines.extend(self.numeric("733", &[], "End of MONITOR list"));
        out.push(Step::Say(lines));
    }

    /// The core's presence lines, for `MONITOR`: `true` if `msg` was one of them (said or not).
    pub(super) fn presence_line(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        match msg {
            ServerMsg::WhoElse { users } if !self.watch.queries.is_empty() => {
                let asked = match self.watch.queries.pop_front() {
                    Some(Query::Monitor(asked)) => asked,
                    Some(Query::Userhost(asked)) => {
                        self.userhost_reply(&asked, users, out);
                        return true;
                    }
                    None => Vec::new(),
                };
                let online: Vec<String> = users.iter().map(|u| fold(u)).collect();
                let mut lines = Vec::new();
                for nick in asked {
                    match users.iter().zip(&online).find(|(_, f)| **f == fold(&nick)) {
                        Some((user, _)) => lines.extend(self.mon_line("730", &mask(user))),
                        None => lines.extend(self.mon_line("731", &nick)),
                    }
                }
                if !lines.is_empty() {
                    out.push(Step::Say(lines));
                }
                true
            }
            ServerMsg::Presence { user, online } => {
                if !*online {
                    self.watch.away.remove(&**user);
                }
                if self.watch.monitored.contains_key(&fold(user)) {
                    let said = if *online {
                        self.mon_line("730", &mask(user))
                    } else {
                        self.mon_line("731", user)
                    };
                    out.push(Step::Say(said));
                }
                true
            }
            _ => false,
        }
    }

    /// `730`/`731` about one target, addressed as IRC servers do.
    fn mon_line(&self, code: &str, target: &str) -> Vec<u8> {
        line(
            None,
            Some(self.server_name()),
            code,
            &[self.target(), target],
            true,
        )
    }
}
