//! `MODE <own nick> [changes]`: IRC's user modes. natter has one to set, the IRCv3 bot mode (`+B`,
//! advertised as `BOT=B`): a client says it is a bot, shown in its own modes and told to the core
//! (`bot on|off`), which keeps it with the session, so that `WHO` shows it (`B`) and `WHOIS` (`335`);
//! the front tags its messages `bot`. `+o` is the operator's (`OPER`), shown, never set here.
//! `+i` (invisible) and `+w` (wallops), which IRC clients set at every connection (irssi asks `+i`),
//! are accepted and shown but change nothing: who sees whom is natter's presence rule (everyone
//! online, except where a block stands between), and `WALLOPS` reach every operator. Every other
//! mode letter is `501`.

use super::message::Message;
use super::session::{IrcSession, Step, line, mask};
use crate::protocol::Name;

/// The bot mode's letter (`BOT=B` in ISUPPORT).
pub(super) const BOT_MODE: char = 'B';

impl IrcSession {
    /// `MODE <own nick>`: `221` with the modes set; with changes, each applied or refused.
    pub(super) fn user_mode(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(changes) = msg.param(1) else {
            let mut modes = String::from("+");
            if self.bot {
                modes.push(BOT_MODE);
            }
            let mut quiet: Vec<char> = self.quiet_modes.chars().collect();
            quiet.sort_unstable();
            modes.extend(quiet.iter().filter(|c| **c == 'i'));
            if self.oper {
                modes.push('o');
            }
            modes.extend(quiet.iter().filter(|c| **c == 'w'));
            out.push(Step::Say(line(
                None,
                Some(self.server_name()),
                "221",
                &[self.target(), &modes],
                false,
            )));
            return;
        };
        let mut on = true;
        let mut applied = String::new();
        let mut unknown = false;
        for c in changes.chars() {
            match c {
                '+' => on = true,
                '-' => on = false,
                BOT_MODE => {
                    if self.bot != on {
                        self.bot = on;
                        applied.push(if on { '+' } else { '-' });
                        applied.push(BOT_MODE);
                        let word = if on { "on" } else { "off" };
                        out.push(Step::Feed(format!("bot {word}").into_bytes()));
                    }
                }
                'i' | 'w' => {
                    if self.quiet_modes.contains(c) != on {
                        if on {
                            self.quiet_modes.push(c);
                        } else {
                            self.quiet_modes.retain(|m| m != c);
                        }
                        applied.push(if on { '+' } else { '-' });
                        applied.push(c);
                    }
                }
                _ => unknown = true,
            }
        }
        if unknown {
            out.push(Step::Say(self.numeric(
                "501",
                &[],
                "Unknown MODE flag: natter's user modes are +B (bot), and +i and +w (accepted, with no effect)",
            )));
        }
        if !applied.is_empty() {
            let me = Name::from(self.target());
            out.push(Step::Say(line(
                None,
                Some(&mask(&me)),
                "MODE",
                &[&me, &applied],
                false,
            )));
        }
    }
}
