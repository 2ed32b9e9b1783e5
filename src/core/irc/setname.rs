//! IRCv3 `setname`: `SETNAME :real name` is the core's `realname`, which tells the user and those
//! who see their presence (`REALNAME`); a client that asked for the `setname` capability gets it as
//! `:nick!nick@natter SETNAME :real name` (natter tells everyone who sees the user, not only those
//! sharing a channel, as for away), and one that did not gets nothing.

use super::message::Message;
use super::session::{IrcSession, Step, line, mask};
use crate::protocol::ServerMsg;

/// The longest real name taken (as ergo's default): longer is `FAIL SETNAME INVALID_REALNAME`.
const MAX_REAL_NAME: usize = 150;

impl IrcSession {
    /// `SETNAME :real name`.
    pub(super) fn setname(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let text = msg.param(0).map(str::trim).unwrap_or("");
        if text.is_empty() || text.len() > MAX_REAL_NAME {
            out.push(Step::Say(line(
                None,
                Some(self.server_name()),
                "FAIL",
                &[
                    "SETNAME",
                    "INVALID_REALNAME",
                    "A real name is 1 to 150 bytes of text",
                ],
                true,
            )));
            return;
        }
        out.push(Step::Feed(format!("realname {text}").into_bytes()));
    }

    /// The core's `REALNAME` lines: `true` if `msg` was one (said to a client with `setname`).
    pub(super) fn real_name_line(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        let ServerMsg::RealName { user, text } = msg else {
            return false;
        };
        if self.caps.setname {
            out.push(Step::Say(line(
                None,
                Some(&mask(user)),
                "SETNAME",
                &[text],
                true,
            )));
        }
        true
    }
}
