//! SASL PLAIN (IRCv3 `sasl`): the account and password come in `AUTHENTICATE` before the
//! registration ends, and the core logs the account in then; the welcome (001…) waits for `NICK`,
//! `USER` and `CAP END`, and what the core sends meanwhile (messages kept while the user was away)
//! waits with it.

use base64::Engine as _;

use super::message::Message;
use super::session::{IrcSession, Phase, SERVER_NAME, Sasl, Step, line};

/// The most bytes of one `AUTHENTICATE` payload line: a line of exactly this many means more follow.
const CHUNK: usize = 400;

/// The most bytes a whole payload may take (an account name, a password and two NULs, base64).
const MAX_PAYLOAD: usize = 4 * CHUNK;

impl IrcSession {
    /// `AUTHENTICATE`.
    pub(super) fn authenticate(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(arg) = msg.param(0) else {
            out.push(Step::Say(self.not_enough_params("AUTHENTICATE")));
            return;
        };
        if !self.caps.sasl || self.phase != Phase::Registering {
            let why = if self.caps.sasl {
                "You have already authenticated"
            } else {
                "Request the sasl capability first"
            };
            let code = if self.caps.sasl { "907" } else { "904" };
            out.push(Step::Say(self.numeric(code, &[], why)));
            return;
        }
        if arg == "*" {
            self.sasl = Sasl::Idle;
            out.push(Step::Say(self.numeric(
                "906",
                &[],
                "SASL authentication aborted",
            )));
            return;
        }
        match std::mem::take(&mut self.sasl) {
            Sasl::Idle | Sasl::Done | Sasl::Failed => {
                if arg.eq_ignore_ascii_case("PLAIN") {
                    self.sasl = Sasl::Plain {
                        so_far: String::new(),
                    };
                    out.push(Step::Say(line(None, None, "AUTHENTICATE", &["+"], false)));
                } else {
                    out.push(Step::Say(self.numeric(
                        "908",
                        &["PLAIN"],
                        "are available SASL mechanisms",
                    )));
                    out.push(Step::Say(self.numeric(
                        "904",
                        &[],
                        "SASL authentication failed",
                    )));
                }
            }
            Sasl::Plain { mut so_far } => {
                if arg != "+" {
                    so_far.push_str(arg);
                }
                if so_far.len() > MAX_PAYLOAD {
                    out.push(Step::Say(self.numeric("905", &[], "SASL message too long")));
                } else if arg.len() == CHUNK {
                    self.sasl = Sasl::Plain { so_far };
                } else {
                    self.plain(&so_far, out);
                }
            }
            Sasl::Pending => {
                self.sasl = Sasl::Pending;
                out.push(Step::Say(self.numeric(
                    "904",
                    &[],
                    "SASL authentication already under way",
                )));
            }
        }
    }

    /// The PLAIN payload, `authzid NUL authcid NUL password` in base64: the account is logged in.
    fn plain(&mut self, payload: &str, out: &mut Vec<Step>) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let parts: Option<(String, String, String)> = decoded.and_then(|d| {
            let mut it = d.splitn(3, '\0');
            Some((
                it.next()?.to_owned(),
                it.next()?.to_owned(),
                it.next()?.to_owned(),
            ))
        });
        match parts {
            Some((authz, account, pass))
                if !account.is_empty() && (authz.is_empty() || authz == account) =>
            {
                self.sasl = Sasl::Pending;
                self.account = Some(account.clone());
                self.pass = Some(pass);
                self.phase = Phase::LoggingIn { pass_fed: false };
                out.push(Step::Feed(account.into_bytes()));
            }
            _ => out.push(Step::Say(self.numeric(
                "904",
                &[],
                "SASL authentication failed",
            ))),
        }
    }

    /// The core welcomed the account SASL named: 900 and 903 now, the welcome once registered.
    pub(super) fn sasl_welcomed(&mut self, account: &str, out: &mut Vec<Step>) {
        self.sasl = Sasl::Done;
        self.phase = Phase::Authenticated;
        let mask = format!("{account}!{account}@{SERVER_NAME}");
        let nick = self.asked_nick().to_owned();
        let mut said = line(
            None,
            Some(self.server_name()),
            "900",
            &[
                &nick,
                &mask,
                account,
                &format!("You are now logged in as {account}"),
            ],
            true,
        );
        said.extend(line(
            None,
            Some(self.server_name()),
            "903",
            &[&nick, "SASL authentication successful"],
            true,
        ));
        out.push(Step::Say(said));
        self.finish_registration(out);
    }

    /// The core refused the account SASL named: 904 (and, for a user already online, the
    /// registration may go on with another attempt).
    pub(super) fn sasl_refused(&mut self, text: &str, out: &mut Vec<Step>) {
        let nick = self.asked_nick().to_owned();
        out.push(Step::Say(line(
            None,
            Some(self.server_name()),
            "904",
            &[&nick, &format!("SASL authentication failed: {text}")],
            true,
        )));
        self.sasl = Sasl::Idle;
        self.account = None;
    }

    /// Whether a SASL login was tried and refused.
    pub(super) fn sasl_tried(&self) -> bool {
        self.sasl == Sasl::Failed
    }
}
