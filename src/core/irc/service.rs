//! The service nick, `natter`: what natter has with no IRC form of its own is reachable as
//! `/msg natter <command>`, as NickServ is on other networks (`/msg natter whoelse`,
//! `/msg natter wholasthr`, `/msg natter ping bob`, `/msg natter group decline team`).
//!
//! The service is a part of the front, not a user: a `PRIVMSG natter :<command>` becomes the natter
//! line `<command>` for the core, which decides as it does for a natter client (the user's rules,
//! flood budget and idle deadline unchanged), and the core's answers, which have no IRC form, come
//! back as notices from `natter!natter@…`, in the order the core said them, with the text the natter
//! client shows. What makes no sense on IRC is refused here with the reason: end-to-end encryption and
//! private chats are natter-client features (an IRC client has no keys, no direct link), and the
//! acknowledgements are the front's own. `passwd` takes both passwords at once
//! (`/msg natter passwd OLD NEW`): IRC has no prompt to answer.
//!
//! No account and no guest may be called `natter` (any letter case: [`SERVICE_USERNAME`]), so what is
//! written to it always reaches the service, and nobody can pose as it.

use super::session::{IrcSession, Step, line, mask};
use crate::protocol::name::SERVICE_USERNAME;
use crate::protocol::{CommandName, Name, Prompt, ServerMsg};

/// The service's nick.
pub(super) const SERVICE_NICK: &str = SERVICE_USERNAME;

/// How the service serves a natter command.
enum Serve {
    /// Fed to the core as typed.
    Core,
    /// `passwd`: both passwords given at once.
    Passwd,
    /// The service's own help.
    Help,
    /// Refused, with why and what to do instead.
    Refuse(&'static str),
}

fn serve(name: CommandName) -> Serve {
    use CommandName as C;
    match name {
        C::Help => Serve::Help,
        C::Passwd => Serve::Passwd,
        C::KeysIdentity | C::KeysAdd | C::KeysFallback | C::KeysClaim | C::KeysShow => {
            Serve::Refuse(
                "End-to-end encryption is a natter-client feature: an IRC client has no keys, so it can neither publish nor claim any. A natter client asks its user before sending you clear text, as it does for anyone without keys.",
            )
        }
        C::StartPrivate | C::Accept | C::Decline | C::StopPrivate | C::P2pPort | C::Active => {
            Serve::Refuse(
                "Private chats go directly between two natter clients, end-to-end encrypted; an IRC client cannot take part in one.",
            )
        }
        C::Ack | C::Acks | C::Receipts => Serve::Refuse(
            "On IRC, natter acknowledges your messages for you once they are written to your connection; receipts are a natter-client feature.",
        ),
        _ => Serve::Core,
    }
}

/// What each IRC form stands for, for the help's last lines.
const IRC_FORMS: &[&str] = &[
    "With IRC forms of their own: message (/msg user), message group (/msg #group), create group and group join (/join #group), group leave (/part), group add (/invite), group remove (/kick), group topic (/topic), group members (/names), grouplist (/list), block, unblock and blocks (/silence +user, /silence -user, /silence), logout (/quit), /me (CTCP ACTION).",
    "natter-client features, not on IRC: keys (end-to-end encryption), startprivate, accept, decline, stopprivate (private chats).",
];

impl IrcSession {
    /// `PRIVMSG natter :<text>`: a command for the service.
    pub(super) fn service(&mut self, text: &str, out: &mut Vec<Step>) {
        let text = text.trim();
        let mut words = text.split_whitespace();
        let first = words.next().unwrap_or("");
        let second = words.next();
        if self.service.awaits_new && !first.eq_ignore_ascii_case("passwd") {
            self.service_say(
                "natter waits for your new password: /msg natter passwd NEW (it was refused: see above)",
                out,
            );
            return;
        }
        // A family's word with a second word it does not have is the family's (the core says the
        // usage, or the service why not).
        let found =
            CommandName::from_words(first, second).or_else(|| CommandName::from_word(first));
        let Some(name) = found else {
            let known: Vec<String> = CommandName::listed()
                .filter(|n| !matches!(serve(*n), Serve::Refuse(_)))
                .map(CommandName::words)
                .collect();
            self.service_say(
                &format!(
                    "Unknown command '{first}'. natter's service knows: {}. /msg natter help says more.",
                    known.join(", ")
                ),
                out,
            );
            return;
        };
        match serve(name) {
            Serve::Core => out.push(Step::Feed(text.as_bytes().to_vec())),
            Serve::Help => self.service_help(second, out),
            Serve::Refuse(why) => self.service_say(why, out),
            Serve::Passwd => self.service_passwd(text, out),
        }
    }

    /// `passwd OLD NEW` (or, once the core refused a new password, `passwd NEW`).
    fn service_passwd(&mut self, text: &str, out: &mut Vec<Step>) {
        let args: Vec<&str> = text.split_whitespace().skip(1).collect();
        if self.service.awaits_new {
            let [new] = args[..] else {
                self.service_say("Give the new password alone: /msg natter passwd NEW", out);
                return;
            };
            self.service.awaits_new = false;
            out.push(Step::Feed(new.as_bytes().to_vec()));
            return;
        }
        let [old, new] = args[..] else {
            self.service_say(
                "Usage: /msg natter passwd CURRENT NEW (IRC has no prompt: give both passwords at once)",
                out,
            );
            return;
        };
        if self.guest {
            // The core says so too (needs-account), but the passwords must not wait for prompts
            // that never come.
            self.service_say("Guests cannot do that: it needs an account.", out);
            return;
        }
        self.service.passwd = Some((old.to_owned(), new.to_owned()));
        out.push(Step::Feed(b"passwd".to_vec()));
    }

    /// The service's help: its commands, with natter's usage and summary; `help <command>` for one.
    fn service_help(&mut self, about: Option<&str>, out: &mut Vec<Step>) {
        let text = match about {
            Some(word) => command_help(word).unwrap_or_else(|| {
                vec![format!("No command '{word}'. /msg natter help lists them.")]
            }),
            None => service_help_text(),
        };
        for t in text {
            self.service_say(&t, out);
        }
    }

    /// A line of the core's about a `passwd` under way: `true` if it was taken (a prompt answered).
    pub(super) fn service_line(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        match msg {
            ServerMsg::Prompt(Prompt::CurrentPassword) => {
                if let Some((old, _)) = self.service.passwd.as_mut() {
                    let old = std::mem::take(old);
                    out.push(Step::Feed(old.into_bytes()));
                }
                true
            }
            ServerMsg::Prompt(Prompt::ChosenPassword) => {
                match self.service.passwd.take() {
                    Some((_, new)) => out.push(Step::Feed(new.into_bytes())),
                    None => {
                        // The new password was refused (the reason came just before): the core
                        // takes the next line as the password.
                        self.service.awaits_new = true;
                        self.service_say("Give another new password: /msg natter passwd NEW", out);
                    }
                }
                true
            }
            ServerMsg::PasswordChanged { .. } | ServerMsg::Error(_) => {
                // The `passwd` is over: done, or refused (a wrong current password).
                self.service.passwd = None;
                false
            }
            _ => false,
        }
    }

    /// While the core waits for a new password, a line that would reach it is held back (it would
    /// be taken for the password); `QUIT` closes the connection instead.
    pub(super) fn service_guard(&mut self, step: Step, out: &mut Vec<Step>) {
        if !self.service.awaits_new {
            out.push(step);
            return;
        }
        match step {
            Step::Feed(line) if line == b"logout" => self.close("Quit".to_owned(), out),
            Step::Feed(_) | Step::Relay(..) => self.service_say(
                "natter waits for your new password: /msg natter passwd NEW (it was refused: see above)",
                out,
            ),
            other => out.push(other),
        }
    }

    /// A notice from the service to this client, in as many lines as it takes.
    pub(super) fn service_say(&self, text: &str, out: &mut Vec<Step>) {
        out.push(Step::Say(self.service_notices(text)));
    }

    /// `text` (one line or several) as notices from the service, each line within 512 bytes.
    pub(super) fn service_notices(&self, text: &str) -> Vec<u8> {
        let source = mask(&Name::from(SERVICE_NICK));
        let target = self.target().to_owned();
        let mut bytes = Vec::new();
        for piece in text.lines().filter(|l| !l.trim().is_empty()) {
            bytes.extend(super::outgoing::split_into(
                piece,
                &source,
                "NOTICE",
                &target,
                0,
                |source, chunk| line(None, Some(source), "NOTICE", &[&target, chunk], true),
            ));
        }
        bytes
    }

    /// Whether the core waits for a new password (a refused one): lines are held back meanwhile.
    pub(super) fn awaits_new_password(&self) -> bool {
        self.service.awaits_new
    }
}

/// The help for the natter command `word` (its family's usage and summary, or why it is not on
/// IRC), if natter has one by that name.
pub(super) fn command_help(word: &str) -> Option<Vec<String>> {
    let name = CommandName::from_word(word)?;
    let mut text = Vec::new();
    for n in name.family() {
        let spec = n.spec();
        let usage = match serve(n) {
            Serve::Passwd => "passwd CURRENT NEW",
            _ => spec.usage,
        };
        text.push(format!("{usage}: {}", spec.summary));
        if let Serve::Refuse(why) = serve(n) {
            text.push(why.to_owned());
        }
    }
    Some(text)
}

/// The service's help: every command it serves, then which have IRC forms and which are
/// natter-client features.
pub(super) fn service_help_text() -> Vec<String> {
    let mut text = vec![
        "natter's service: /msg natter <command> [arguments]; the answers come as notices from natter.".to_owned(),
    ];
    for n in CommandName::listed() {
        let spec = n.spec();
        match serve(n) {
            Serve::Refuse(_) => {}
            Serve::Passwd => text.push(format!("  passwd CURRENT NEW: {}", spec.summary)),
            _ => text.push(format!("  {}: {}", spec.usage, spec.summary)),
        }
    }
    text.extend(IRC_FORMS.iter().map(|s| (*s).to_owned()));
    text
}

/// Whether `target` names the service (any letter case, as IRC clients may write it).
pub(super) fn is_service(target: &str) -> bool {
    target.eq_ignore_ascii_case(SERVICE_NICK)
}
