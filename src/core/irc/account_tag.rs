//! IRCv3 `account-tag` and `extended-join`: whether the user a line is from is logged in to an
//! account. On natter every user is an account of the same name but a guest (`--irc-guests`), so
//! the answer is a yes or no the core knows: the composed server asks it (the server state's
//! `is_account`) for the user each of the core's lines is from ([`sender_of`]), and the front
//! writes `account=<nick>` on that user's messages (none for a guest) and, with `extended-join`,
//! `JOIN #team <nick> :<nick>` (`*` for a guest; the core's join line carries no real name, so
//! the nick stands for it).

use super::session::{IrcSession, line, mask};
use crate::protocol::{Name, ServerMsg};

/// The user a line of the core's is from (a message's sender, a joiner), if it is from one.
pub fn sender_of(msg: &ServerMsg) -> Option<&Name> {
    match msg {
        ServerMsg::Message { from, .. }
        | ServerMsg::GroupMessage { from, .. }
        | ServerMsg::OfflineMessage { from, .. }
        | ServerMsg::Broadcast { from, .. }
        | ServerMsg::Signal { from, .. }
        | ServerMsg::GroupSignal { from, .. } => Some(from),
        ServerMsg::GroupJoined { user, .. } => Some(user),
        _ => None,
    }
}

impl IrcSession {
    /// The `account=` tag for a message from `nick` (an account if `account`), if this client
    /// asked for `account-tag`.
    pub(super) fn account_tag(&self, nick: &str, account: bool) -> Option<String> {
        (self.caps.account_tag && account).then(|| format!("account={nick}"))
    }

    /// Whether this client's own user is an account (not a guest).
    pub(super) fn own_account(&self) -> bool {
        !self.guest
    }

    /// `:user JOIN #channel` (with `extended-join`: the account, `*` for a guest, and the nick as
    /// the real name), with `account=` for a client that asked for `account-tag`.
    pub(super) fn join_line(&self, user: &str, channel: &str, account: bool) -> Vec<u8> {
        let tags = self.account_tag(user, account);
        let source = mask(&Name::from(user));
        if self.caps.extended_join {
            let acct = if account { user } else { "*" };
            line(
                tags.as_deref(),
                Some(&source),
                "JOIN",
                &[channel, acct, user],
                true,
            )
        } else {
            line(tags.as_deref(), Some(&source), "JOIN", &[channel], false)
        }
    }
}
