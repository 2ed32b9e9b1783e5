//! Getting back to a server when the one in use is lost: to the next of a cluster's servers, or back
//! to a lone one (at a terminal), with backoff, saying so with the connection's news, until the bound;
//! and never to a server whose certificate changed without the user's word. Which server, and how
//! long to wait, is [`super::reconnect`]'s; this rule is handed only that, the session and the
//! deadlines. What the loss does to the rest (the private chats end, what was shown is saved) is the
//! state's (`state/moving.rs`).

use super::error::ClientError;
use super::event::{Effect, Exit, InputMode, news, show_error};
use super::reconnect::Reconnect;
use super::session::{Session, Step};
use super::timer::Timer;
use crate::time::Timestamp;
use crate::timers::Timers;

/// The moving rule, with the parts it touches.
pub(super) struct Moving<'a> {
    /// Where the client is.
    pub(super) session: &'a mut Session,
    /// The servers, and the progress of the reconnection.
    pub(super) reconnect: &'a mut Reconnect,
    /// The session's deadlines (the next attempt's).
    pub(super) timers: &'a mut Timers<Timer>,
    /// The time now.
    pub(super) now: Timestamp,
}

impl Moving<'_> {
    /// The server in use is gone: the next server (or the same, when it is the only one) is tried
    /// at once.
    pub(super) fn lost(&mut self, out: &mut Vec<Effect>) {
        let user = self.session.user().cloned();
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
        news(out, text);
        self.session.reconnecting(true);
        out.push(Effect::ConnectServer {
            index: self.reconnect.current_index(),
            accept_cert: None,
        });
    }

    /// The attempt at the current server failed (`why`): the next is tried after a pause, until the
    /// bound since the server was lost has passed.
    pub(super) fn retry_later(&mut self, why: &str, out: &mut Vec<Effect>) -> Step {
        out.push(Effect::DropServer);
        let failed = self.reconnect.current().to_owned();
        let Some(wait_ms) = self.reconnect.failed(self.now) else {
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
        let text = if self.reconnect.failure_said(&failed, why) {
            format!("Still cannot log in again at {failed}; trying {next} {when}.")
        } else {
            format!("Could not log in again at {failed} ({why}); trying {next} {when}.")
        };
        news(out, text);
        self.redial_in(wait_ms);
        Step::On
    }

    /// The current server answers, but the session on the lost one has not ended yet: asked again in
    /// a moment, saying so once.
    pub(super) fn retry_here(&mut self, out: &mut Vec<Effect>) -> Step {
        out.push(Effect::DropServer);
        let Some((wait_ms, first)) = self.reconnect.wait_here(self.now) else {
            return self.no_server_left(out);
        };
        if first {
            let server = self.reconnect.current().to_owned();
            news(
                out,
                format!(
                    "{server} is up, but your session on the lost server has not ended yet (a \
                     cluster ends it within seconds); waiting for it..."
                ),
            );
        }
        self.redial_in(wait_ms);
        Step::On
    }

    /// No server could be used for the whole bound: said, and the client ends as a lost connection
    /// does.
    fn no_server_left(&self, out: &mut Vec<Effect>) -> Step {
        show_error(
            out,
            ClientError::NoServerLeft {
                secs: self.reconnect.give_up_secs(),
            },
        );
        Step::End(Exit::ConnectionLost)
    }

    /// Dials the current server once `wait_ms` have passed.
    fn redial_in(&mut self, wait_ms: u64) {
        self.session.reconnecting(false);
        self.timers
            .set(Timer::Reconnect, self.now.plus_millis(wait_ms));
    }

    /// The reconnection timer: the current server is dialled, if the client still waits for it.
    pub(super) fn redial(&mut self, out: &mut Vec<Effect>) {
        if self.session.waiting_to_dial() {
            self.session.reconnecting(true);
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
    pub(super) fn untrusted(
        &mut self,
        error: &str,
        presented: Option<&str>,
        out: &mut Vec<Effect>,
    ) -> Step {
        if !self.session.dialing() {
            return Step::On;
        }
        out.push(Effect::DropServer);
        self.reconnect.distrust();
        let server = self.reconnect.current().to_owned();
        news(out, format!("Not logging in again at {server}: {error}"));
        if let Some(wait_ms) = self.reconnect.failed(self.now) {
            let next = self.reconnect.current().to_owned();
            news(
                out,
                format!("Trying {next} in {} s instead.", wait_ms.div_ceil(1000)),
            );
            self.redial_in(wait_ms);
            return Step::On;
        }
        let Some(fingerprint) = presented.filter(|_| self.reconnect.interactive()) else {
            return self.no_server_left(out);
        };
        self.session.distrusted(fingerprint.to_owned());
        news(
            out,
            format!(
                "Reconnecting has stopped. Type 'yes' only if {server}'s operator confirms its new \
                 certificate is {fingerprint}; anything else quits."
            ),
        );
        self.session.forget_asked();
        self.session.ask(
            InputMode::TrustCertificate {
                server,
                fingerprint: fingerprint.to_owned(),
            },
            out,
        );
        Step::On
    }

    /// The user's answer to whether to trust the certificate `fingerprint`: anything but "yes"
    /// ends the client.
    pub(super) fn trust_answer(
        &mut self,
        answer: &str,
        fingerprint: String,
        out: &mut Vec<Effect>,
    ) -> Step {
        if !answer.trim().eq_ignore_ascii_case("yes") {
            let server = self.reconnect.current().to_owned();
            show_error(
                out,
                ClientError::NotTrusted {
                    server,
                    fingerprint,
                },
            );
            return Step::End(Exit::ConnectionLost);
        }
        self.reconnect.trust_again();
        let server = self.reconnect.current().to_owned();
        news(
            out,
            format!("Trusting {fingerprint} for {server} from now on; connecting again..."),
        );
        self.session.reconnecting(true);
        out.push(Effect::ConnectServer {
            index: self.reconnect.current_index(),
            accept_cert: Some(fingerprint),
        });
        Step::On
    }
}
