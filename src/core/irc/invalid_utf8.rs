//! A line that is not UTF-8 text: natter relays text only, and says so as IRCv3's standard reply
//! (`FAIL <command> INVALID_UTF8`, the form `UTF8ONLY` servers use), naming the command when the
//! rest of the line lets it be read, so the client knows which of its lines was refused.

use super::message::parse;
use super::session::{IrcSession, Step, line};

impl IrcSession {
    /// Refuses `raw`, which is not UTF-8.
    pub(super) fn not_utf8(&self, raw: &[u8], out: &mut Vec<Step>) {
        let text = String::from_utf8_lossy(raw);
        let command = parse(text.as_bytes())
            .ok()
            .map(|m| m.command.to_ascii_uppercase())
            .unwrap_or_else(|| "*".to_owned());
        out.push(Step::Say(line(
            None,
            Some(self.server_name()),
            "FAIL",
            &[
                &command,
                "INVALID_UTF8",
                "Message rejected: it is not UTF-8 text (natter relays text only)",
            ],
            true,
        )));
    }
}
