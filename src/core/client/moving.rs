//! Getting back to a server when the one in use is lost: to the next of a cluster's servers, or back
//! to a lone one (at a terminal), with backoff, saying so in the status window, until the bound; and
//! never to a server whose certificate changed without the user's word. Which server, and how long to
//! wait, is [`super::reconnect`]'s.

use super::display::{ClientError, Item};
use super::event::{Effect, Exit, InputMode, show_error};
use super::screen::Link;
use super::state::{ClientState, Phase, Timer};
use crate::protocol::p2p::PeerBye;

impl ClientState {
    /// News of the connection (lost, trying again, back): a full-screen client keeps it in its status
    /// window, where it does not get lost among messages.
    pub(super) fn connection_news(&mut self, out: &mut Vec<Effect>, text: String) {
        out.push(Effect::Show(Item::Connection(text)));
    }

    fn set_link(&mut self, link: Link) {
        if let Some(screen) = &mut self.screen {
            screen.set_link(self.reconnect.current(), link);
        }
    }

    /// The server in use is gone: private chats end (the server brokered them), and the next server
    /// (or the same, when it is the only one) is tried at once.
    pub(super) fn move_server(&mut self, out: &mut Vec<Effect>) {
        self.chats.end_all(PeerBye::Offline, out);
        let user = self.user().cloned();
        let lost = self.reconnect.lost(self.now);
        let user = user.map(|u| format!(" as {u}")).unwrap_or_default();
        let next = self.reconnect.current().to_owned();
        let text = if next == lost {
            format!(
                "Lost the connection to {lost}; reconnecting to log in again{user}... Windows and \
                 what they hold stay; nothing typed meanwhile is sent."
            )
        } else {
            format!("Lost the connection to {lost}; connecting to {next} to log in again{user}...")
        };
        self.connection_news(out, text);
        self.phase = Phase::Reconnecting { dialing: true };
        self.set_link(Link::Reconnecting);
        out.push(Effect::ConnectServer {
            index: self.reconnect.current_index(),
            accept_cert: None,
        });
    }

    /// The attempt at the current server failed (`why`): the next is tried after a pause, until the
    /// bound since the server was lost has passed.
    pub(super) fn retry_later(&mut self, why: &str, out: &mut Vec<Effect>) {
        out.push(Effect::DropServer);
        let failed = self.reconnect.current().to_owned();
        let Some(wait_ms) = self.reconnect.failed(self.now, self.give_up_ms()) else {
            return self.no_server_left(out);
        };
        let when = match wait_ms {
            0 => "now".to_owned(),
            ms => format!("in {} s", ms.div_ceil(1000)),
        };
        let next = self.reconnect.current().to_owned();
        let next = if next == failed {
            "again".to_owned()
        } else {
            next
        };
        // The reason once; after that, that it still holds.
        let said = (&failed, why);
        let text = if self
            .last_failure
            .as_ref()
            .is_some_and(|(f, w)| (f, w.as_str()) == said)
        {
            format!("Still cannot log in again at {failed}; trying {next} {when}.")
        } else {
            format!("Could not log in again at {failed} ({why}); trying {next} {when}.")
        };
        self.last_failure = Some((failed, why.to_owned()));
        self.connection_news(out, text);
        self.set_link(Link::Reconnecting);
        self.redial_in(wait_ms);
    }

    /// The current server answers, but the session on the lost one has not ended yet: asked again in
    /// a moment, saying so once.
    pub(super) fn retry_here(&mut self, out: &mut Vec<Effect>) {
        out.push(Effect::DropServer);
        let Some((wait_ms, first)) = self.reconnect.wait_here(self.now, self.give_up_ms()) else {
            return self.no_server_left(out);
        };
        if first {
            let server = self.reconnect.current().to_owned();
            self.connection_news(
                out,
                format!(
                    "{server} is up, but your session on the lost server has not ended yet (a \
                     cluster ends it within seconds); waiting for it..."
                ),
            );
        }
        self.redial_in(wait_ms);
    }

    /// How long after losing its server the client gives up finding one.
    fn give_up_ms(&self) -> u64 {
        self.config.reconnect_give_up_secs * 1000
    }

    /// No server could be used for the whole bound: said, and the client ends as a lost connection
    /// does.
    fn no_server_left(&mut self, out: &mut Vec<Effect>) {
        show_error(
            out,
            ClientError::NoServerLeft {
                secs: self.config.reconnect_give_up_secs,
            },
        );
        self.exit(Exit::ConnectionLost, out);
    }

    /// Dials the current server once `wait_ms` have passed.
    fn redial_in(&mut self, wait_ms: u64) {
        self.phase = Phase::Reconnecting { dialing: false };
        self.timers
            .set(Timer::Reconnect, self.now.plus_millis(wait_ms));
    }

    pub(super) fn on_redial(&mut self, out: &mut Vec<Effect>) {
        if self.phase == (Phase::Reconnecting { dialing: false }) {
            self.phase = Phase::Reconnecting { dialing: true };
            out.push(Effect::ConnectServer {
                index: self.reconnect.current_index(),
                accept_cert: None,
            });
        }
    }

    /// The server dialled presented a certificate other than the one trusted (`presented`), or one the
    /// CA does not vouch for: nothing was sent to it, and it is not tried again by itself. Another
    /// server is tried if there is one; otherwise the user is asked whether to trust the new
    /// certificate, which only its operator can confirm.
    pub(super) fn on_untrusted(
        &mut self,
        error: &str,
        presented: Option<&str>,
        out: &mut Vec<Effect>,
    ) {
        if self.phase != (Phase::Reconnecting { dialing: true }) {
            return;
        }
        out.push(Effect::DropServer);
        self.reconnect.distrust();
        let server = self.reconnect.current().to_owned();
        self.connection_news(out, format!("Not logging in again at {server}: {error}"));
        if let Some(wait_ms) = self.reconnect.failed(self.now, self.give_up_ms()) {
            let next = self.reconnect.current().to_owned();
            self.connection_news(
                out,
                format!("Trying {next} in {} s instead.", wait_ms.div_ceil(1000)),
            );
            return self.redial_in(wait_ms);
        }
        let Some(fingerprint) = presented.filter(|_| self.config.interactive) else {
            return self.no_server_left(out);
        };
        self.phase = Phase::Distrusted {
            fingerprint: fingerprint.to_owned(),
        };
        self.connection_news(
            out,
            format!(
                "Reconnecting has stopped. Type 'yes' only if {server}'s operator confirms its new \
                 certificate is {fingerprint}; anything else quits."
            ),
        );
        self.reading = None;
        self.ask(
            InputMode::TrustCertificate {
                server,
                fingerprint: fingerprint.to_owned(),
            },
            out,
        );
    }

    /// The user's answer to whether to trust the certificate `fingerprint`.
    pub(super) fn on_trust_answer(
        &mut self,
        answer: &str,
        fingerprint: String,
        out: &mut Vec<Effect>,
    ) {
        if !answer.trim().eq_ignore_ascii_case("yes") {
            let server = self.reconnect.current().to_owned();
            show_error(
                out,
                ClientError::NotTrusted {
                    server,
                    fingerprint,
                },
            );
            return self.exit(Exit::ConnectionLost, out);
        }
        self.reconnect.trust_again();
        let server = self.reconnect.current().to_owned();
        self.connection_news(
            out,
            format!("Trusting {fingerprint} for {server} from now on; connecting again..."),
        );
        self.phase = Phase::Reconnecting { dialing: true };
        out.push(Effect::ConnectServer {
            index: self.reconnect.current_index(),
            accept_cert: Some(fingerprint),
        });
    }
}
