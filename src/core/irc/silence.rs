//! Blocks as IRC's `SILENCE`: `SILENCE +bob` is natter's `block bob`, `SILENCE -bob` its `unblock
//! bob`, and the core decides, as for a natter client: a block hides the blocked user's messages
//! *and* presence from the blocker, outlives the session (it is the account's, stored), and is
//! refused to a guest, who has no account to keep it (the core's `needs-account`, said here with
//! SILENCE's reason). A mask names a user by its nick (`bob!*@*` is `bob`); natter blocks users,
//! not hosts, so a mask with wildcards in the nick is refused with the reason.
//!
//! Each block or unblock the core confirms is echoed as IRC servers echo SILENCE
//! (`:alice!alice@natter SILENCE +bob!*@*`). `SILENCE` alone is natter's `blocks`, the account's
//! list, as `271` lines and `272`.

use super::message::Message;
use super::session::{IrcSession, SERVER_NAME, Step, line, mask};
use crate::protocol::{ErrorReply, Name, ServerMsg};

impl IrcSession {
    /// `SILENCE [+|-]nick[,…]`, or `SILENCE` alone (the list).
    pub(super) fn silence(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(list) = msg.param(0).filter(|l| !l.is_empty()) else {
            self.silences.listing += 1;
            out.push(Step::Feed(b"blocks".to_vec()));
            return;
        };
        for entry in list.split(',').filter(|e| !e.is_empty()) {
            let (add, rest) = match entry.as_bytes()[0] {
                b'+' => (true, &entry[1..]),
                b'-' => (false, &entry[1..]),
                _ => (true, entry),
            };
            let nick = rest.split('!').next().unwrap_or("");
            if nick.is_empty() || nick.contains(['*', '?']) {
                self.service_say(
                    &format!("SILENCE {entry}: natter blocks users by their nick (SILENCE +bob), not masks"),
                    out,
                );
                continue;
            }
            self.silences.asked += 1;
            let word = if add { "block" } else { "unblock" };
            out.push(Step::Feed(format!("{word} {nick}").into_bytes()));
        }
    }

    /// A line of the core's about blocks, as `SILENCE`: `true` if it was one.
    pub(super) fn silence_line(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        let (sign, user) = match msg {
            ServerMsg::Blocks { users } if self.silences.listing > 0 => {
                self.silences.listing -= 1;
                let me = self.target().to_owned();
                let mut lines = Vec::new();
                for user in users {
                    let entry = format!("{user}!*@*");
                    lines.extend(line(
                        None,
                        Some(SERVER_NAME),
                        "271",
                        &[&me, &me, &entry],
                        false,
                    ));
                }
                lines.extend(self.numeric("272", &[], "End of Silence List"));
                out.push(Step::Say(lines));
                return true;
            }
            ServerMsg::Blocked { user } => ('+', user),
            ServerMsg::Unblocked { user } => ('-', user),
            ServerMsg::Error(ErrorReply::NeedsAccount) if self.silences.asked > 0 => {
                self.silences.asked -= 1;
                self.service_say(
                    "SILENCE needs a natter account: a block is kept with the account, across logins, and hides the user's messages and presence; a guest has none",
                    out,
                );
                return true;
            }
            ServerMsg::Error(
                ErrorReply::AlreadyBlocked { .. }
                | ErrorReply::NotBlocked { .. }
                | ErrorReply::NoSuchUser { .. },
            ) => {
                self.silences.asked = self.silences.asked.saturating_sub(1);
                return false;
            }
            _ => return false,
        };
        self.silences.asked = self.silences.asked.saturating_sub(1);
        let me = Name::from(self.target());
        let entry = format!("{sign}{user}!*@*");
        out.push(Step::Say(line(
            None,
            Some(&mask(&me)),
            "SILENCE",
            &[&entry],
            false,
        )));
        true
    }
}
