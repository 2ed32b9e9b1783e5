//! Losing the server and getting back to one, as it reaches beyond its rule (`client::moving`): the
//! private chats end (the server brokered them), and nobody is known to be online any more. And
//! staying open without a session: after an idle logout, and after `/disconnect`.

use super::super::display::Item;
use super::super::event::{Effect, news, show};
use super::super::session::Held;
use super::ClientState;
use crate::protocol::p2p::PeerBye;
use crate::protocol::{ByeReason, ServerMsg};

impl ClientState {
    /// The server in use is gone: private chats end, and the next server (or the same, when it is
    /// the only one) is tried at once.
    pub(super) fn move_server(&mut self, out: &mut Vec<Effect>) {
        self.chats.end_all(PeerBye::Offline, out);
        self.conversations.lost();
        self.moves().lost(out);
    }

    /// The attempt at the current server failed (`why`): the next is tried after a pause, until the
    /// bound.
    pub(super) fn retry_later(&mut self, why: &str, out: &mut Vec<Effect>) {
        let step = self.moves().retry_later(why, out);
        self.step(step, out);
    }

    /// The current server answers, but the session on the lost one has not ended yet.
    pub(super) fn retry_here(&mut self, out: &mut Vec<Effect>) {
        let step = self.moves().retry_here(out);
        self.step(step, out);
    }

    /// The reconnection timer.
    pub(super) fn on_redial(&mut self, out: &mut Vec<Effect>) {
        self.moves().redial(out);
    }

    /// The server dialled presented a certificate other than the one trusted.
    pub(super) fn on_untrusted(
        &mut self,
        error: &str,
        presented: Option<&str>,
        out: &mut Vec<Effect>,
    ) {
        let step = self.moves().untrusted(error, presented, out);
        self.step(step, out);
    }

    /// The user's answer to whether to trust a changed certificate.
    pub(super) fn on_trust_answer(
        &mut self,
        answer: &str,
        fingerprint: String,
        out: &mut Vec<Effect>,
    ) {
        let step = self.moves().trust_answer(answer, fingerprint, out);
        self.step(step, out);
    }
}

/// Staying open without a session: after the server's idle logout (anything typed logs in again),
/// and `/disconnect` (until `/reconnect`).
impl ClientState {
    /// Whether the server's goodbye `reason` is an idle logout the client stays open through: a
    /// person at a terminal, with the login kept to repeat it. (A script ends, as the exit status
    /// tells it; so does a client that could not log in again by itself.)
    pub(super) fn stays_after(&self, reason: &ByeReason) -> bool {
        let idle = matches!(reason, ByeReason::Timeout { .. }) && self.session.online();
        // A login again left unfinished (a password nobody typed, at a server not verified) is
        // the same: the user was away.
        let away_at_login = matches!(reason, ByeReason::LoginTimeout { .. })
            && self.session.logging_in()
            && self.reconnect.was_lost();
        (idle || away_at_login)
            && self.reconnect.interactive()
            && self.reconnect.credentials().is_some()
    }

    /// The server logged the user out for being idle (`reason`, shown in every window): the client
    /// stays open with its windows, and logs in again as soon as the user types.
    pub(super) fn fall_asleep(&mut self, reason: ByeReason, out: &mut Vec<Effect>) {
        self.inbox.connection_lost(&mut self.timers, out);
        self.typing.clear(&mut self.timers);
        self.chats.end_all(PeerBye::Offline, out);
        self.conversations.lost();
        show(out, ServerMsg::Bye(reason));
        let user = self
            .reconnect
            .credentials()
            .map(|c| c.user.to_string())
            .unwrap_or_default();
        let text = if self.screen.is_some() {
            format!(
                "Type anything to log in again as {user}; what you type is sent once you are. \
                 Your windows stay."
            )
        } else {
            format!(
                "Press Enter, or type a command, to log in again as {user}; the command is run \
                 once you are."
            )
        };
        show(out, Item::Warning(text));
        out.push(Effect::DropServer);
        self.session.offline(true);
        self.ask_again(out);
    }

    /// The user typed after an idle logout: logging in again, keeping what they type until then.
    pub(super) fn wake(&mut self, out: &mut Vec<Effect>) {
        self.session.wake();
        self.moves().log_in_again(out);
    }

    /// `/reconnect`: try now, or log in again.
    pub(super) fn on_reconnect_word(&mut self, out: &mut Vec<Effect>) {
        if self.session.is_offline().is_some() {
            self.session.wake();
        }
        self.moves().reconnect_now(out);
    }

    /// `/disconnect`: logged in, the session ends as `logout` ends it, and the client stays open;
    /// between servers or logged out, trying stops. Nothing is tried again until `/reconnect`.
    pub(super) fn on_disconnect_word(&mut self, out: &mut Vec<Effect>) {
        if self.session.is_offline() == Some(false) {
            let server = self.reconnect.current().to_owned();
            return news(
                out,
                format!("Not connected to {server}; /reconnect to log in again."),
            );
        }
        if self.session.online() {
            return self.begin_logout_to(true, out);
        }
        if self.session.logging_out_now() {
            return;
        }
        self.chats.end_all(PeerBye::Offline, out);
        self.conversations.lost();
        let windows = self.screen.is_some();
        self.moves().stay_disconnected(windows, out);
    }

    /// The goodbye to `/disconnect` came (or did not in time, or the connection closed): the client
    /// stays open without a server.
    pub(super) fn disconnected(&mut self, out: &mut Vec<Effect>) {
        self.timers.cancel(super::super::timer::Timer::Logout);
        self.inbox.connection_lost(&mut self.timers, out);
        self.typing.clear(&mut self.timers);
        self.conversations.lost();
        let windows = self.screen.is_some();
        self.moves().stay_disconnected(windows, out);
        // Lines are read still: `reconnect` is one of them.
        self.session.forget_asked();
        self.ask_again(out);
    }

    /// The lines typed to log in again, now that it has: each taken as if typed now.
    pub(super) fn replay_held(&mut self, out: &mut Vec<Effect>) {
        for held in self.session.take_held() {
            match held {
                Held::Prompt(line) => self.on_user_line(line.as_bytes(), out),
                Held::Window(typed) => self.on_typed(&typed, out),
            }
        }
    }
}
