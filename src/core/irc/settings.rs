//! What the operator chose for the IRC listener that the fronts say: the server's name and its
//! message of the day. Fixed when the server starts, shared by every connection's front.

use std::sync::Arc;

/// The server's name unless the operator names it (`--irc-server-name`), and the host part of every
/// user's mask (`alice!alice@natter`: natter shows no one's address).
pub const SERVER_NAME: &str = "natter";

/// The IRC listener's settings (`--irc-server-name`, `--irc-motd`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrcSettings {
    /// The name the server gives itself in IRC: the source of its lines, `PONG`'s, `004`, `312`,
    /// `TIME`'s. One word, as IRC servers' names are (a host name, usually).
    pub server_name: String,
    /// The message of the day, its lines as the operator wrote them (`375`/`372`/`376` at the
    /// welcome and on `MOTD`); none: `422`.
    pub motd: Option<Vec<String>>,
}

impl Default for IrcSettings {
    fn default() -> Self {
        IrcSettings {
            server_name: SERVER_NAME.to_owned(),
            motd: None,
        }
    }
}

impl IrcSettings {
    /// The settings with `motd` read from an operator's text: its lines (a line ending in `\r\n`
    /// or `\n`), control characters dropped, each cut to fit an IRC line; an empty text is none.
    pub fn with_motd_text(mut self, text: &str) -> Self {
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                let clean: String = l.chars().filter(|c| !c.is_control()).collect();
                cut(&clean, MOTD_LINE).to_owned()
            })
            .collect();
        self.motd = (!lines.iter().all(|l| l.trim().is_empty())).then_some(lines);
        self
    }

    /// Whether `name` can be a server's name: one word of letters, digits, `.`, `-` and `_`, at
    /// most 63 bytes (what a host name's label-and-dots look like).
    pub fn valid_name(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    }

    /// Shared by every front.
    pub(super) fn shared(self) -> Arc<IrcSettings> {
        Arc::new(self)
    }
}

/// The longest MOTD line kept, in bytes (with `:server 372 nick :- ` it stays within 512).
const MOTD_LINE: usize = 350;

fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
