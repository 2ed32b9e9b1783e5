//! What the front answers about the server itself, with no question to the core: the message of
//! the day (`MOTD`, and at the welcome after `LUSERS`), `TIME`, `VERSION`, `INFO`, `ADMIN`, `LINKS`
//! and `HELP` (`HELPOP`), under the operator's settings (`settings.rs`).

use super::message::Message;
use super::session::{IrcSession, Step};
use crate::time::utc;

/// natter's version, as `VERSION` and the welcome tell it.
pub(super) const VERSION: &str = concat!("natter-", env!("CARGO_PKG_VERSION"));

/// `HELP`'s subjects: the IRC commands natter serves, each with what it does on natter.
const HELP: &[(&str, &str)] = &[
    (
        "PRIVMSG",
        "PRIVMSG <nick|#group> :<text>: a message; kept for an offline account",
    ),
    ("NOTICE", "NOTICE <nick|#group> :<text>: as PRIVMSG"),
    (
        "JOIN",
        "JOIN #group: join a natter group (creates it, open, if there is none)",
    ),
    ("PART", "PART #group: leave a group"),
    ("NAMES", "NAMES #group: a group's members"),
    (
        "TOPIC",
        "TOPIC #group [:<text>]: a group's topic, or set it",
    ),
    ("INVITE", "INVITE <nick> #group: invite to a group"),
    (
        "KICK",
        "KICK #group <nick> [:<reason>]: remove from a group (its owner)",
    ),
    ("LIST", "LIST: the groups you are in"),
    (
        "WHO",
        "WHO <nick|pattern|#group> [%fields]: who is online, or a group's members",
    ),
    (
        "WHOIS",
        "WHOIS <nick>: one user: idle, since when, the groups you share, away",
    ),
    (
        "WHOWAS",
        "WHOWAS <nick> [count]: the last sessions of a nick that ended",
    ),
    ("LUSERS", "LUSERS: how many users are online"),
    ("MOTD", "MOTD: the message of the day"),
    ("TIME", "TIME: the server's time"),
    ("VERSION", "VERSION: natter's version"),
    ("INFO", "INFO: about this server"),
    ("QUIT", "QUIT [:<reason>]: log out"),
    ("HELP", "HELP [<command>]: this help"),
];

impl IrcSession {
    /// The message of the day (`375`, `372`…, `376`), or `422` when the operator set none.
    pub(super) fn motd_lines(&self) -> Vec<u8> {
        let Some(motd) = &self.settings.motd else {
            return self.numeric("422", &[], "MOTD File is missing");
        };
        let server = self.server_name().to_owned();
        let mut lines = self.numeric("375", &[], &format!("- {server} Message of the day - "));
        for l in motd {
            lines.extend(self.numeric("372", &[], &format!("- {l}")));
        }
        lines.extend(self.numeric("376", &[], "End of /MOTD command."));
        lines
    }

    /// The commands about the server: `true` if `command` was one (answered into `out`).
    pub(super) fn server_info(
        &mut self,
        command: &str,
        msg: &Message<'_>,
        out: &mut Vec<Step>,
    ) -> bool {
        let server = self.server_name().to_owned();
        let said = match command {
            "MOTD" => self.motd_lines(),
            "TIME" => self.numeric("391", &[&server], &utc(self.now)),
            "VERSION" => {
                let mut lines = self.numeric(
                    "351",
                    &[VERSION, &server],
                    "natter: instant messaging that also speaks IRC",
                );
                lines.extend(self.isupport_lines());
                lines
            }
            "INFO" => {
                let mut lines = Vec::new();
                for l in [
                    format!("{VERSION}: an instant-messaging server that also speaks IRC"),
                    "Your nick is your natter account (or a guest's name, where the server admits guests).".to_owned(),
                    "Messages to an account that is offline are kept for its next login.".to_owned(),
                    "Channels are natter's groups; end-to-end encryption is for natter's own client.".to_owned(),
                ] {
                    lines.extend(self.numeric("371", &[], &l));
                }
                lines.extend(self.numeric("374", &[], "End of INFO list"));
                lines
            }
            "ADMIN" => {
                let mut lines = self.numeric("256", &[&server], "Administrative info");
                lines.extend(self.numeric("257", &[], "natter"));
                lines.extend(self.numeric("258", &[], "Ask the operator of this server"));
                lines.extend(self.numeric("259", &[], "-"));
                lines
            }
            // natter is one server, even as a cluster of nodes: no links to show.
            "LINKS" => self.numeric("365", &["*"], "End of /LINKS list"),
            "HELP" | "HELPOP" => self.help(msg.param(0)),
            _ => return false,
        };
        out.push(Step::Say(said));
        true
    }

    /// `HELP [subject]`: `704`, `705`…, `706`, or `524` for a subject natter has no help for.
    fn help(&self, subject: Option<&str>) -> Vec<u8> {
        match subject.filter(|s| !s.is_empty()) {
            None => {
                let subject = "*";
                let mut lines = self.numeric(
                    "704",
                    &[subject],
                    "natter speaks IRC; your nick is your natter account",
                );
                let names: Vec<&str> = HELP.iter().map(|(c, _)| *c).collect();
                lines.extend(self.numeric(
                    "705",
                    &[subject],
                    &format!("Commands: {}", names.join(" ")),
                ));
                lines.extend(self.numeric("705", &[subject], "HELP <command> says more about one"));
                lines.extend(self.numeric("706", &[subject], "End of /HELP"));
                lines
            }
            Some(s) => match HELP.iter().find(|(c, _)| c.eq_ignore_ascii_case(s)) {
                Some((c, text)) => {
                    let mut lines = self.numeric("704", &[c], &format!("** {c} **"));
                    lines.extend(self.numeric("705", &[c], text));
                    lines.extend(self.numeric("706", &[c], "End of /HELP"));
                    lines
                }
                None => self.numeric("524", &[s], "No help available on this topic"),
            },
        }
    }
}
