//! CTCP (`\x01COMMAND args\x01` inside a message's text) across natter, whose texts hold no control
//! characters. An action is natter's `/me`: IRC's `\x01ACTION waves\x01` is the text `/me waves`,
//! which the natter client shows as `* alice waves` (`client/action.rs`), and a natter client's
//! `/me waves` reaches an IRC user as `\x01ACTION waves\x01`. Any other CTCP passes between IRC users
//! untouched, carried as `/ctcp VERSION` (a request, in a `PRIVMSG`) or `/ctcp-reply VERSION irssi`
//! (a reply, in a `NOTICE`, so that a reply is never taken for a request and answered again); a
//! natter client shows those words as they are.

use std::borrow::Cow;

use crate::client::action::ACTION_PREFIX;

/// What starts the natter text of a CTCP request other than an action.
const REQUEST_PREFIX: &str = crate::protocol::group_change::CTCP_REQUEST_PREFIX;
/// What starts the natter text of a CTCP reply.
const REPLY_PREFIX: &str = "/ctcp-reply ";
/// CTCP's delimiter.
const DELIM: char = '\x01';

/// An IRC message's text as natter text: a CTCP becomes its natter form, anything else is unchanged.
/// `notice`: it came in a `NOTICE` (a CTCP there is a reply).
pub(super) fn to_natter(text: &str, notice: bool) -> Cow<'_, str> {
    let Some(inner) = text.strip_prefix(DELIM) else {
        return Cow::Borrowed(text);
    };
    let inner = inner.strip_suffix(DELIM).unwrap_or(inner);
    let (command, args) = inner.split_once(' ').unwrap_or((inner, ""));
    if command.eq_ignore_ascii_case("ACTION") {
        return Cow::Owned(format!("{ACTION_PREFIX}{args}"));
    }
    let prefix = if notice { REPLY_PREFIX } else { REQUEST_PREFIX };
    Cow::Owned(format!("{prefix}{inner}"))
}

/// A natter text for an IRC client: the IRC command that carries it (`PRIVMSG`, or `NOTICE` for a
/// CTCP reply), what opens each line's text (`\x01ACTION ` for an action, nothing for plain text),
/// and the text to cut into lines between them (each line closed with `\x01` when it was opened).
pub(super) fn to_irc(text: &str) -> (&'static str, String, &str) {
    if let Some(action) = text.strip_prefix(ACTION_PREFIX) {
        return ("PRIVMSG", format!("{DELIM}ACTION "), action);
    }
    if let Some(reply) = text.strip_prefix(REPLY_PREFIX) {
        return ("NOTICE", DELIM.to_string(), reply);
    }
    if let Some(request) = text.strip_prefix(REQUEST_PREFIX) {
        return ("PRIVMSG", DELIM.to_string(), request);
    }
    ("PRIVMSG", String::new(), text)
}

/// The closing of a line `open` opened.
pub(super) fn close(open: &str) -> &'static str {
    if open.is_empty() { "" } else { "\x01" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_other_ctcp_go_both_ways() {
        assert_eq!(to_natter("\x01ACTION waves\x01", false), "/me waves");
        assert_eq!(to_natter("\x01ACTION waves", false), "/me waves");
        assert_eq!(to_natter("\x01VERSION\x01", false), "/ctcp VERSION");
        assert_eq!(
            to_natter("\x01VERSION irssi\x01", true),
            "/ctcp-reply VERSION irssi"
        );
        assert_eq!(to_natter("hello", false), "hello");
        assert_eq!(
            to_irc("/me waves"),
            ("PRIVMSG", "\x01ACTION ".to_owned(), "waves")
        );
        assert_eq!(
            to_irc("/ctcp PING 12"),
            ("PRIVMSG", "\x01".to_owned(), "PING 12")
        );
        assert_eq!(
            to_irc("/ctcp-reply PING 12"),
            ("NOTICE", "\x01".to_owned(), "PING 12")
        );
        assert_eq!(to_irc("hi"), ("PRIVMSG", String::new(), "hi"));
    }
}
