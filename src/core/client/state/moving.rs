//! Losing the server and getting back to one, as it reaches beyond its rule (`client::moving`): the
//! private chats end (the server brokered them), and nobody is known to be online any more.

use super::super::event::Effect;
use super::ClientState;
use crate::protocol::p2p::PeerBye;

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
