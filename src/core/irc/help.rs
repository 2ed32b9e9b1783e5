//! `HELP [subject]` (and `HELPOP`, its other name): IRC's own help, as numerics (`704` to start, a
//! `705` per line, `706` to end; `524` for a subject natter has no help on). Without a subject it is
//! the service nick's help (what `/msg natter help` says: natter's commands reachable on IRC, and
//! which have IRC forms); with one, the IRC command's (`HELP PRIVMSG`) or natter's command's
//! (`HELP whoelse`).

use super::message::Message;
use super::service::{command_help, service_help_text};
use super::session::{IrcSession, Step};

/// What each IRC command natter serves does here, for `HELP <command>`.
const IRC_COMMANDS: &[(&str, &str)] = &[
    (
        "PRIVMSG",
        "PRIVMSG <nick|#group>[,…] :<text>: a message (kept for a user who is offline); to natter: the service (/msg natter help)",
    ),
    (
        "NOTICE",
        "NOTICE <nick|#group> :<text>: a message, as PRIVMSG, that gets no automatic reply",
    ),
    (
        "JOIN",
        "JOIN #group[,…]: join natter's group (an open one, or one you are invited to); creates it, open, if there is none",
    ),
    ("PART", "PART #group [:reason]: leave the group"),
    (
        "NAMES",
        "NAMES #group: its members, operators as @, voiced as +",
    ),
    (
        "TOPIC",
        "TOPIC #group [:text]: the group's topic, or set it (empty: clear)",
    ),
    (
        "INVITE",
        "INVITE <nick> #group: invite a user, who accepts by joining",
    ),
    (
        "KICK",
        "KICK #group <nick> [:reason]: remove a member (an operator)",
    ),
    (
        "LIST",
        "LIST [#mask|!#mask|>n|<n]: the groups you may see (yours, and open ones unless secret)",
    ),
    (
        "SILENCE",
        "SILENCE [+|-]<nick>: block or unblock a user (their messages and presence); alone: whom you block",
    ),
    (
        "MODE",
        "MODE <nick|#group> [modes]: your modes (+B), a group's rules (+i/t/n/m/k/l/o/v/b/I)",
    ),
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
    (
        "MONITOR",
        "MONITOR +|-<nick>[,…] | C | L | S: be told when users log in and out",
    ),
    ("AWAY", "AWAY [:<reason>]: say you are away, or back"),
    ("USERHOST", "USERHOST <nick>…: who is online, and away"),
    ("SETNAME", "SETNAME :<real name>: change your real name"),
    (
        "NICK",
        "NICK <nick>: a guest's new name (an account's name is its own)",
    ),
    (
        "TAGMSG",
        "TAGMSG <nick|#group>: typing and other signals (needs message-tags)",
    ),
    ("MOTD", "MOTD: the message of the day"),
    ("TIME", "TIME: the server's time"),
    ("VERSION", "VERSION: natter's version"),
    ("INFO", "INFO: about this server"),
    ("PING", "PING <token>: answered PONG"),
    ("QUIT", "QUIT [:reason]: log out"),
    (
        "CAP",
        "CAP LS|REQ|LIST|END: IRCv3 capabilities (CAP LS lists them)",
    ),
    ("AUTHENTICATE", "AUTHENTICATE PLAIN: log in with SASL PLAIN"),
    (
        "HELP",
        "HELP [subject]: this help; HELP <natter command> for natter's commands",
    ),
];

impl IrcSession {
    /// `HELP [subject]` and `HELPOP [subject]`.
    pub(super) fn help(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let (subject, text) = match msg.param(0).filter(|s| !s.is_empty()) {
            None => ("*".to_owned(), service_help_text()),
            Some(subject) => {
                let irc = IRC_COMMANDS
                    .iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(subject))
                    .map(|(_, t)| vec![(*t).to_owned()]);
                match irc.or_else(|| command_help(subject)) {
                    Some(text) => (subject.to_owned(), text),
                    None => {
                        out.push(Step::Say(self.numeric(
                            "524",
                            &[subject],
                            "No help available on this topic (HELP alone lists what there is)",
                        )));
                        return;
                    }
                }
            }
        };
        let mut lines = self.numeric("704", &[&subject], "natter's help");
        for t in &text {
            // A line of the help is within 512 bytes: the longest summary is far shorter.
            lines.extend(self.numeric("705", &[&subject], t));
        }
        lines.extend(self.numeric("706", &[&subject], "End of /HELP"));
        out.push(Step::Say(lines));
    }
}
