//! Losing the server and getting back to one, as it reaches beyond its rule (`client::moving`): the
//! private chats end (the server brokered them), and the full-screen client's status bar says so.

use super::super::event::Effect;
use super::super::screen::Link;
use super::ClientState;
use super::Step;
use crate::protocol::p2p::PeerBye;

impl ClientState {
    /// The server in use is gone: private chats end, and the next server (or the same, when it is
    /// the only one) is tried at once.
    pub(super) fn move_server(&mut self, out: &mut Vec<Effect>) {
        self.chats.end_all(PeerBye::Offline, out);
        self.moves().lost(out);
        self.set_link(Link::Reconnecting);
    }

    /// The attempt at the current server failed (`why`): the next is tried after a pause, until the
    /// bound.
    pub(super) fn retry_later(&mut self, why: &str, out: &mut Vec<Effect>) {
        let step = self.moves().retry_later(why, out);
        if step == Step::On {
            self.set_link(Link::Reconnecting);
        }
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

    /// The server in use, and whether the connection to it is up, for the status bar.
    pub(super) fn set_link(&mut self, link: Link) {
        if let Some(screen) = &mut self.screen {
            screen.set_link(self.reconnect.current(), link);
        }
    }
}
