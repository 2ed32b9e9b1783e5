//! Command arguments that name a user, resolved the same way for every command that takes one.

use super::event::{ConnId, Effect, UserId, send};
use super::login::accounts::Accounts;
use crate::protocol::{CommandName, ErrorReply};

/// Resolves a username argument of `command`, typed by `me` on `conn`, answering the error if it names
/// nobody or the caller.
pub(crate) fn named_user(
    accounts: &Accounts,
    conn: ConnId,
    me: UserId,
    name: &str,
    command: CommandName,
    out: &mut Vec<Effect>,
) -> Option<UserId> {
    let Some(id) = accounts.find(name) else {
        send(
            out,
            conn,
            ErrorReply::NoSuchUser {
                user: name.to_owned(),
            },
        );
        return None;
    };
    if id == me {
        send(out, conn, ErrorReply::NotYourself { command });
        return None;
    }
    Some(id)
}
