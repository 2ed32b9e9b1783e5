//! IRC lines from the client, read by the front: registration (`PASS`, `NICK`, `USER`, `CAP`),
//! what the front answers itself (`PING`, capability negotiation, the numerics for what it cannot
//! do), and what becomes a natter line for the core (`PRIVMSG` and `NOTICE` to a user become
//! `message`, `QUIT` becomes `logout`; the nick and the password become the login's two lines).

use super::message::{Message, parse};
use super::session::{IrcSession, Phase, Step, line};

/// The most targets one `PRIVMSG` or `NOTICE` may name (`TARGMAX` in the welcome's `005`): each is
/// a message of its own for the core.
pub(super) const MAX_TARGETS: usize = 4;

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
            Err(super::message::ParseError::NotUtf8) => return self.not_utf8(raw, out),
            Err(e) => {
                self.start_label_raw(raw);
                if let Some((code, text)) = e.numeric() {
                    let command = if code == "421" { "*" } else { "" };
                    let params: &[&str] = if command.is_empty() { &[] } else { &[command] };
                    out.push(Step::Say(self.numeric(code, params, text)));
                }
                return;
            }
        };
        if super::relay::client_tags_too_long(raw) {
            out.push(Step::Say(self.numeric(
                "417",
                &[],
                "Input line was too long",
            )));
            return;
        }
        self.start_label(&msg);
        let command = msg.command.to_ascii_uppercase();
        match command.as_str() {
            "CAP" => self.cap(&msg, out),
            "PING" => match msg.param(0) {
                Some(token) if self.oper_pending.waiting > 0 => self.hold_pong(token),
                Some(token) => out.push(Step::Say(line(
                    None,
                    Some(self.server_name()),
                    "PONG",
                    &[self.server_name(), token],
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
            "TAGMSG" => self.tagmsg(&msg, out),
            "JOIN" => self.join(&msg, out),
            "PART" => self.part(&msg, out),
            "NAMES" => self.names(&msg, out),
            "TOPIC" => self.topic(&msg, out),
            "INVITE" => self.invite(&msg, out),
            "KICK" => self.kick(&msg, out),
            "LIST" => self.list(&msg, out),
            "MODE" => self.mode(&msg, out),
            "SILENCE" => self.silence(&msg, out),
            "HELP" | "HELPOP" => self.help(&msg, out),
            "MONITOR" => self.monitor(&msg, out),
            "AWAY" => self.away(&msg, out),
            "SETNAME" => self.setname(&msg, out),
            "USERHOST" => self.userhost(&msg, out),
            "WHO" => self.who(&msg, out),
            "WHOIS" => self.whois(&msg, out),
            "WHOWAS" => self.whowas(&msg, out),
            "LUSERS" => self.lusers(false, out),
            "OPER" => self.oper(&msg, out),
            "KILL" => self.kill(&msg, out),
            "WALLOPS" => self.wallops(&msg, out),
            _ if self.server_info(&command, out) => {}
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
            "NICK" if online => self.change_nick(msg.param(0), out),
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
                self.queries.user = Some((msg.params[0].to_owned(), msg.params[3].to_owned()));
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
                self.after_welcome(out);
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
        let server = self.settings.clone();
        let reply = |sub: &str, text: &str| {
            Step::Say(line(
                None,
                Some(&server.server_name),
                "CAP",
                &[&target, sub, text],
                true,
            ))
        };
        match sub.as_str() {
            "LS" => {
                self.negotiating |= before_welcome;
                self.cap_302 |= msg.param(1).and_then(|v| v.parse::<u32>().ok()) >= Some(302);
                // A client of `CAP LS 302` has cap-notify without asking (IRCv3).
                self.caps.cap_notify |= self.cap_302;
                out.push(reply("LS", &super::caps::listed(self.cap_302)));
            }
            "LIST" => {
                out.push(reply("LIST", &self.caps.enabled().join(" ")));
            }
            "REQ" => {
                self.negotiating |= before_welcome;
                let asked = msg.param(1).unwrap_or("");
                let known = asked
                    .split(' ')
                    .filter(|c| !c.is_empty())
                    .all(|c| super::session::Caps::offers(c.trim_start_matches('-')));
                if known && !asked.trim().is_empty() {
                    for c in asked.split(' ').filter(|c| !c.is_empty()) {
                        self.caps
                            .set(c.trim_start_matches('-'), !c.starts_with('-'));
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

    /// `PRIVMSG` and `NOTICE`: one natter `message` per target (`message group` for a channel),
    /// each carried as a [`Step::Relay`] so that its recipients here get its tags and command, and
    /// its sender the echo. A `NOTICE` is never answered with an error (RFC 2812).
    fn message(&mut self, command: &str, msg: &Message<'_>, out: &mut Vec<Step>) {
        let notice = command == "NOTICE";
        let Some(targets) = msg.param(0).filter(|t| !t.is_empty()) else {
            if !notice {
                out.push(Step::Say(self.numeric(
                    "411",
                    &[],
                    &format!("No recipient given ({command})"),
                )));
            }
            return;
        };
        let Some(text) = msg.param(1).filter(|t| !t.trim().is_empty()) else {
            if !notice {
                out.push(Step::Say(self.numeric("412", &[], "No text to send")));
            }
            return;
        };
        let text = &*super::ctcp::to_natter(text, notice);
        let mut client_tags = super::relay::client_tags(msg);
        if self.bot {
            // IRCv3 bot mode: a bot's messages carry the `bot` tag (to clients with message-tags).
            client_tags.insert_str(
                0,
                if client_tags.is_empty() {
                    "bot"
                } else {
                    "bot;"
                },
            );
        }
        for (i, target) in targets.split(',').filter(|t| !t.is_empty()).enumerate() {
            if i >= MAX_TARGETS {
                if !notice {
                    out.push(Step::Say(self.numeric(
                        "407",
                        &[target],
                        &format!("Too many targets: at most {MAX_TARGETS} in one {command}"),
                    )));
                }
                continue;
            }
            if super::service::is_service(target) {
                // A NOTICE gets no automatic reply (RFC 2812): only PRIVMSG speaks to the service.
                if !notice {
                    self.service(text, out);
                }
                continue;
            }
            let relaying = self.relaying(command, target, text, &client_tags);
            if target.starts_with(['#', '&']) {
                self.post(target, relaying, out);
            } else if target.contains(['\t', ' ']) {
                if !notice {
                    out.push(Step::Say(self.numeric(
                        "401",
                        &[target],
                        "No such nick/channel",
                    )));
                }
            } else {
                let line = format!("message {target} {}", relaying.text);
                out.push(Step::Relay(line.into_bytes(), relaying));
            }
        }
    }

    /// `MODE`: a user's own modes are none, and so are a channel's for now; anything else is not
    /// served.
    fn mode(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        match msg.param(0) {
            Some(t) if Some(t) == self.nick.as_deref() => self.user_mode(msg, out),
            Some(t) if t.starts_with('#') => self.channel_mode(t, msg, out),
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
