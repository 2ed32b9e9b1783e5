//! Getting back to a server when the one in use is lost: to the next of a cluster's servers, or back
//! to a lone one (at a terminal), with backoff, saying so with the connection's news and for how long
//! it has been trying, for ever at a terminal (until the bound, for a script); and never to a server
//! whose certificate changed without the user's word. The user may say to try now (`/reconnect`), to
//! stop (`/disconnect`), or log in again after being logged out (typing after an idle logout). Which server, and how
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
        let trying = self.trying_for();
        let next = self.reconnect.current().to_owned();
        let next = if next == failed {
            "again".to_owned()
        } else {
            next
        };
        // The reason once; after that, now and then, that it still holds (the status bar says
        // the rest).
        match self.reconnect.failure_said(&failed, why, self.now) {
            Some(true) => news(
                out,
                format!("Still cannot log in again at {failed}; trying {next} {when}{trying}."),
            ),
            Some(false) => news(
                out,
                format!(
                    "Could not log in again at {failed} ({why}); trying {next} {when}{trying}."
                ),
            ),
            None => {}
        }
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

    /// `" (reconnecting for 4m 10s)"`, once that is a minute or more: how long the client has been
    /// without a server.
    fn trying_for(&self) -> String {
        let Some(since) = self.reconnect.lost_since() else {
            return String::new();
        };
        let secs = self.now.millis_since(since) / 1000;
        if secs < 60 {
            return String::new();
        }
        format!(" (reconnecting for {})", span(secs))
    }

    /// No server could be used for the whole bound (or none is left that may be tried): said, and
    /// the client ends as a lost connection does.
    fn no_server_left(&self, out: &mut Vec<Effect>) -> Step {
        show_error(
            out,
            ClientError::NoServerLeft {
                secs: self.reconnect.give_up_secs().unwrap_or(0),
            },
        );
        Step::End(Exit::ConnectionLost)
    }

    /// Dials the current server once `wait_ms` have passed.
    fn redial_in(&mut self, wait_ms: u64) {
        self.session.reconnecting(false);
        let at = self.now.plus_millis(wait_ms);
        self.timers.set(Timer::Reconnect, at);
        self.reconnect.set_next_try(Some(at));
    }

    /// The reconnection timer: the current server is dialled, if the client still waits for it.
    pub(super) fn redial(&mut self, out: &mut Vec<Effect>) {
        if self.session.waiting_to_dial() {
            self.dial(out);
        }
    }

    /// Dials the current server now.
    fn dial(&mut self, out: &mut Vec<Effect>) {
        self.timers.cancel(Timer::Reconnect);
        self.reconnect.set_next_try(None);
        self.session.reconnecting(true);
        out.push(Effect::ConnectServer {
            index: self.reconnect.current_index(),
            accept_cert: None,
        });
    }

    /// Logged out while the client stays open (an idle logout, `/disconnect`), the user wants the
    /// session back: the same server is dialled at once, and the login repeated as after a loss
    /// (the password by itself only to a server that proves it is the one trusted).
    pub(super) fn log_in_again(&mut self, out: &mut Vec<Effect>) {
        self.reconnect.again(self.now);
        let server = self.reconnect.current().to_owned();
        let user = self
            .reconnect
            .credentials()
            .map(|c| format!(" as {}", c.user))
            .unwrap_or_default();
        news(out, format!("Logging in again at {server}{user}..."));
        self.dial(out);
    }

    /// `/reconnect`: between servers, the next attempt is made now rather than after its wait;
    /// logged out, the session is taken up again. Says what it did, or why there was nothing to do.
    pub(super) fn reconnect_now(&mut self, out: &mut Vec<Effect>) {
        let server = self.reconnect.current().to_owned();
        if self.session.is_offline().is_some() {
            return self.log_in_again(out);
        }
        if self.session.waiting_to_dial() {
            news(out, format!("Trying {server} now."));
            return self.dial(out);
        }
        let text = if self.session.between_servers() || self.session.logging_in() {
            format!("Already trying to log in at {server}: wait a moment, or /disconnect to stop.")
        } else {
            format!("Connected to {server} already; /disconnect first to start over.")
        };
        news(out, text);
    }

    /// `/disconnect` while no session is up (between servers, or logged out): trying stops, and the
    /// client stays open without a server until `/reconnect`. What was kept to send after a login
    /// again is said not sent.
    /// `windows`: the full-screen client, whose windows stay (said so).
    pub(super) fn stay_disconnected(&mut self, windows: bool, out: &mut Vec<Effect>) {
        let held = self.session.take_held().len();
        self.timers.cancel(Timer::Reconnect);
        self.timers.cancel(Timer::ServerGreeting);
        self.reconnect.stop();
        out.push(Effect::DropServer);
        self.session.offline(false);
        if held > 0 {
            show_error(
                out,
                ClientError::NotConnected(format!(
                    "{held} line{} typed to log in again",
                    if held == 1 { "" } else { "s" }
                )),
            );
        }
        let server = self.reconnect.current().to_owned();
        let stay = if windows { " Your windows stay." } else { "" };
        news(
            out,
            format!(
                "Disconnected from {server}; not trying again until you type /reconnect.{stay}"
            ),
        );
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

/// `secs` as a person reads a span of time: `42s`, `4m 10s`, `2h 5m`, `3d 4h`.
pub(super) fn span(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3_599 => format!("{}m {}s", secs / 60, secs % 60),
        3_600..=86_399 => format!("{}h {}m", secs / 3_600, secs % 3_600 / 60),
        _ => format!("{}d {}h", secs / 86_400, secs % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_span_reads_as_a_person_says_it() {
        use super::span;
        assert_eq!(span(0), "0s");
        assert_eq!(span(59), "59s");
        assert_eq!(span(250), "4m 10s");
        assert_eq!(span(3_600 * 2 + 300), "2h 5m");
        assert_eq!(span(86_400 * 3 + 3_600 * 4 + 59), "3d 4h");
    }
}
