//! `/me`: an action (`* alice waves`), as irssi shows one.
//!
//! An action travels as an ordinary message whose text starts with [`ACTION_PREFIX`] (`/me `): the
//! server relays it as any text, end-to-end encryption encrypts it whole, and the receiving natter
//! client, once it has the text (decrypted), shows it as an action. A client that knows nothing of
//! actions (a script, `nc`) shows `/me waves`, which still reads as meant. The one cost: a message
//! that is meant to start with the characters `/me ` is shown as an action too.

use super::marks::MARKS;

/// What starts the text of a message that is an action.
pub const ACTION_PREFIX: &str = "/me ";

/// The text of an action, as sent: `/me ` and the action.
pub fn action_text(action: &str) -> String {
    format!("{ACTION_PREFIX}{action}")
}

/// If `text` (as shown, with the client's marks before it) is an action: the marks (each with the
/// space after it) and the action.
pub fn split(text: &str) -> Option<(&str, &str)> {
    let mut rest = text;
    'marks: loop {
        for mark in MARKS {
            if let Some(after) = rest.strip_prefix(mark).and_then(|r| r.strip_prefix(' ')) {
                rest = after;
                continue 'marks;
            }
        }
        break;
    }
    let action = rest.strip_prefix(ACTION_PREFIX)?;
    Some((&text[..text.len() - rest.len()], action))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_is_found_after_the_marks() {
        assert_eq!(split("/me waves"), Some(("", "waves")));
        assert_eq!(
            split("(not encrypted) /me waves"),
            Some(("(not encrypted) ", "waves"))
        );
        assert_eq!(split("✓ /me waves"), Some(("✓ ", "waves")));
        assert_eq!(split("/mean it"), None);
        assert_eq!(split("I said /me waves"), None);
        assert_eq!(split("(hi) /me waves"), None);
        assert_eq!(action_text("waves"), "/me waves");
    }
}
