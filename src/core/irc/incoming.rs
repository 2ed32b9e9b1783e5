//! IRC lines from the client, read by the front: registration (`PASS`, `NICK`, `USER`, `CAP`),
//! what the front answers itself (`PING`, capability negotiation, the numerics for what it cannot
//! do), and what becomes a natter line for the core (`PRIVMSG` and `NOTICE` to a user become
//! `message`, `QUIT` becomes `logout`; the nick and the password become the login's two lines).

use super::message::{Message, parse};
use super::session::{IrcSession, OFFERED, Phase, SERVER_NAME, Step, line};

impl IrcSession {
    /// One line from the client (without its line ending): what to do, appended to `out` in order.
    pub fn from_client(&mut self, raw: &[u8], out: &mut Vec<Step>) {
        if self.awaits_new_password() {
            // The core takes the next line for a new password: only the service's may reach it.
            let mut steps = Vec::new();
            self.read_line(raw, &mut steps);
            for step in steps {
                self.service_guard(step, out);
            }
            return;
        }
        self.read_line(raw, out);
    }

    /// One line from the client, read.
    fn read_line(&mut self, raw: &[u8], out: &mut Vec<Step>) {
        let msg = match parse(raw) {
            Ok(msg) => msg,
            Err(e) => {
                if let Some((code, text)) = e.numeric() {
                    let command = if code == "421" { "*" } else { "" };
                    let params: &[&str] = if command.is_empty() { &[] } else { &[command] };
                    out.push(Step::Say(self.numeric(code, params, text)));
                }
                return;
            }
        };
        let command = msg.command.to_ascii_uppercase();
        match command.as_str() {
            "CAP" => self.cap(&msg, out),
            "PING" => match msg.param(0) {
                Some(token) => out.push(Step::Say(line(
                    None,
                    Some(SERVER_NAME),
                    "PONG",
                    &[SERVER_NAME, token],
                    true,
                ))),
                None => out.push(Step::Say(self.numeric("409", &[], "No origin specified"))),
            },
            "PONG" => {}
            "QUIT" => self.quit(&msg, out),
            "PASS" | "NICK" | "USER" => self.register(&command, &msg, out),
            "AUTHENTICATE" => self.authenticate(&msg, out),
            _ if self.phase != Phase::Online => {
                out.push(Step::Say(self.numeric(
                    "451",
                    &[],
                    "You have not registered",
                )));
            }
            "PRIVMSG" | "NOTICE" => self.message(&command, &msg, out),
            "JOIN" => self.join(&msg, out),
            "PART" => self.part(&msg, out),
            "NAMES" => self.names(&msg, out),
            "TOPIC" => self.topic(&msg, out),
            "INVITE" => self.invite(&msg, out),
            "KICK" => self.kick(&msg, out),
            "LIST" => self.list(out),
            "MODE" => self.mode(&msg, out),
            "SILENCE" => self.silence(&msg, out),
            "HELP" | "HELPOP" => self.help(&msg, out),
            _ => out.push(Step::Say(self.numeric(
                "421",
                &[msg.command],
                "Unknown command",
            ))),
        }
    }

    /// `PASS`, `NICK` and `USER`.
    fn register(&mut self, command: &str, msg: &Message<'_>, out: &mut Vec<Step>) {
        let online = self.phase == Phase::Online;
        let sent = matches!(self.phase, Phase::LoggingIn { .. })
            && self.sasl != super::session::Sasl::Pending;
        match command {
            "PASS" | "USER" if online || sent => {
                out.push(Step::Say(self.numeric(
                    "462",
                    &[],
                    "You may not reregister",
                )));
            }
            "NICK" if online => {
                if msg.param(0) != self.nick.as_deref() {
                    out.push(Step::Say(self.numeric(
                        "447",
                        &[],
                        "Cannot change nickname: on natter your nick is your account",
                    )));
                }
            }
            "NICK" if sent => {}
            "PASS" => match msg.param(0) {
                Some(pass) => self.pass = Some(pass.to_owned()),
                None => out.push(Step::Say(self.not_enough_params("PASS"))),
            },
            "NICK" => match msg.param(0).filter(|n| !n.is_empty()) {
                Some(nick) => {
                    self.nick = Some(nick.to_owned());
                    self.finish_registration(out);
                }
                None => out.push(Step::Say(self.numeric("431", &[], "No nickname given"))),
            },
            _ => {
                if msg.params.len() < 4 || msg.params[3].is_empty() {
                    out.push(Step::Say(self.not_enough_params("USER")));
                    return;
                }
                self.user_given = true;
                self.finish_registration(out);
            }
        }
    }

    /// With a nick, a user and the negotiation over, the login starts: the nick goes to the core as
    /// the username (the password follows when the core asks for it), or, without `PASS`, as a
    /// guest's nick (`guest <nick>`). After a SASL login, the
    /// welcome is said instead.
    pub(super) fn finish_registration(&mut self, out: &mut Vec<Step>) {
        if self.negotiating || !self.user_given || self.nick.is_none() {
            return;
        }
        match self.phase {
            Phase::Registering => {}
            Phase::Authenticated => {
                let account = self.account.clone().unwrap_or_default();
                self.welcome_lines(&account, out);
                out.append(&mut self.held);
                out.push(Step::Feed(b"acks off".to_vec()));
                return;
            }
            Phase::LoggingIn { .. } | Phase::Online => return,
        }
        let Some(nick) = self.nick.clone() else {
            return;
        };
        self.retry_nick = false;
        if self.pass.is_none() {
            // No password: a guest, if the server admits guests (the core says; if it does not,
            // its `guests-off` is answered 464).
            self.phase = Phase::LoggingIn { pass_fed: true };
            self.guest = true;
            out.push(Step::Feed(format!("guest {nick}").into_bytes()));
            return;
        }
        self.guest = false;
        self.phase = Phase::LoggingIn { pass_fed: false };
        out.push(Step::Feed(nick.into_bytes()));
    }

    /// `CAP LS`, `LIST`, `REQ` and `END` (IRCv3 capability negotiation).
    fn cap(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let sub = msg.param(0).unwrap_or("").to_ascii_uppercase();
        let before_welcome = self.phase != Phase::Online;
        let target = self.target().to_owned();
        let reply = |sub: &str, text: &str| {
            Step::Say(line(
                None,
                Some(SERVER_NAME),
                "CAP",
                &[&target, sub, text],
                true,
            ))
        };
        match sub.as_str() {
            "LS" => {
                self.negotiating |= before_welcome;
                self.cap_302 |= msg.param(1).and_then(|v| v.parse::<u32>().ok()) >= Some(302);
                let offered = if self.cap_302 {
                    "sasl=PLAIN server-time"
                } else {
                    "sasl server-time"
                };
                out.push(reply("LS", offered));
            }
            "LIST" => {
                let caps = self.caps;
                let on: Vec<&str> = OFFERED
                    .iter()
                    .copied()
                    .filter(|c| match *c {
                        "server-time" => caps.server_time,
                        "sasl" => caps.sasl,
                        _ => false,
                    })
                    .collect();
                out.push(reply("LIST", &on.join(" ")));
            }
            "REQ" => {
                self.negotiating |= before_welcome;
                let asked = msg.param(1).unwrap_or("");
                let known = asked
                    .split(' ')
                    .filter(|c| !c.is_empty())
                    .all(|c| OFFERED.contains(&c.trim_start_matches('-')));
                if known && !asked.trim().is_empty() {
                    for c in asked.split(' ').filter(|c| !c.is_empty()) {
                        let on = !c.starts_with('-');
                        match c.trim_start_matches('-') {
                            "server-time" => self.caps.server_time = on,
                            "sasl" => self.caps.sasl = on,
                            _ => {}
                        }
                    }
                    out.push(reply("ACK", asked));
                } else {
                    out.push(reply("NAK", asked));
                }
            }
            "END" => {
                self.negotiating = false;
                self.finish_registration(out);
            }
            _ => out.push(Step::Say(self.numeric(
                "410",
                &[msg.param(0).unwrap_or("")],
                "Invalid CAP command",
            ))),
        }
    }

    /// `QUIT`: a session logs out (the core says goodbye and closes); a connection not logged in
    /// just ends.
    fn quit(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let reason = msg.param(0).unwrap_or("Client quit").to_owned();
        match self.phase {
            Phase::Online => {
                self.quit = Some(reason);
                out.push(Step::Feed(b"logout".to_vec()));
            }
            _ => self.close(format!("Quit: {reason}"), out),
        }
    }

    /// `PRIVMSG` and `NOTICE` to users: one natter `message` per target.
    fn message(&mut self, command: &str, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(targets) = msg.param(0).filter(|t| !t.is_empty()) else {
            out.push(Step::Say(self.numeric(
                "411",
                &[],
                &format!("No recipient given ({command})"),
            )));
            return;
        };
        let Some(text) = msg.param(1).filter(|t| !t.trim().is_empty()) else {
            out.push(Step::Say(self.numeric("412", &[], "No text to send")));
            return;
        };
        let text = &*super::ctcp::to_natter(text, command == "NOTICE");
        for target in targets.split(',').filter(|t| !t.is_empty()) {
            if super::service::is_service(target) {
                // A NOTICE gets no automatic reply (RFC 2812): only PRIVMSG speaks to the service.
                if command == "PRIVMSG" {
                    self.service(text, out);
                }
            } else if target.starts_with(['#', '&']) {
                self.post(target, text, out);
            } else if target.contains(['\t', ' ']) {
                out.push(Step::Say(self.numeric(
                    "401",
                    &[target],
                    "No such nick/channel",
                )));
            } else {
                out.push(Step::Feed(format!("message {target} {text}").into_bytes()));
            }
        }
    }

    /// `MODE`: a user's own modes are none, and so are a channel's for now; anything else is not
    /// served.
    fn mode(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        match msg.param(0) {
            Some(t) if Some(t) == self.nick.as_deref() => {
                if msg.params.len() == 1 {
                    out.push(Step::Say(line(
                        None,
                        Some(SERVER_NAME),
                        "221",
                        &[self.target(), "+"],
                        false,
                    )));
                }
            }
            Some(t) if t.starts_with('#') && msg.params.len() == 1 => {
                // A group's settings are not channel modes yet: none are shown.
                out.push(Step::Say(line(
                    None,
                    Some(SERVER_NAME),
                    "324",
                    &[self.target(), t, "+"],
                    false,
                )));
            }
            Some(t) if t.starts_with('#') => out.push(Step::Say(self.numeric(
                "472",
                &[msg.param(1).unwrap_or("")],
                "natter's channel modes are its group settings, not set with MODE yet",
            ))),
            Some(t) if t.starts_with('&') => {
                out.push(Step::Say(self.no_such_channel(t)));
            }
            Some(t) => out.push(Step::Say(self.numeric(
                "502",
                &[t],
                "Cannot change mode for other users",
            ))),
            None => out.push(Step::Say(self.not_enough_params("MODE"))),
        }
    }

    /// Ends the connection from the front: the reason as IRC's closing `ERROR`, then the close.
    pub(super) fn close(&mut self, reason: String, out: &mut Vec<Step>) {
        let text = format!("Closing link: {} ({reason})", self.asked_nick());
        out.push(Step::Say(line(None, None, "ERROR", &[&text], true)));
        out.push(Step::Close);
    }
}
