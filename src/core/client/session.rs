//! The session: where the client is in its life (connecting, logging in, online, logging out, between
//! servers, done), what the user is being asked, and the passwords typed on the way (a new account's,
//! and `passwd`'s, each asked twice), with the deadlines that bound the server's greeting and its
//! goodbye, the idle logout the server warned of, and, once logged out while the client stays open
//! (an idle logout, `/disconnect`), the lines typed to log in again, sent once it has.
//!
//! It keeps one promise above all: the user interface is asked to read a line only when the core
//! wants one, and once per question ([`Session::ask`]), so a script's next line is never read as the
//! answer to something else (a password as a command, a command before "Logged out").

use super::error::ClientError;
use super::event::{Effect, Exit, InputMode, show_error};
use super::input::Typed;
use super::timer::Timer;
use crate::protocol::{Name, Prompt, ServerMsg};
use crate::time::Timestamp;
use crate::timers::Timers;

/// Where the client is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Connected, waiting for the server's first prompt.
    Connecting,
    /// Answering the server's prompts; `asked` is the prompt being answered, if any.
    Login {
        /// The prompt the next line typed answers.
        asked: Option<InputMode>,
    },
    /// Logged in as `user`.
    Online {
        /// Who the server welcomed.
        user: Name,
    },
    /// `logout` was sent; waiting for the server's goodbye. `stay`: the client stays open after it
    /// (`/disconnect`), rather than ending.
    LoggingOut {
        /// The client stays open, without a server, once logged out.
        stay: bool,
    },
    /// Logged out, and the client stays open with its windows, connected to no server: after the
    /// server's idle logout (`wake_on_typing`: anything typed logs in again), or `/disconnect` (only
    /// `/reconnect` does).
    Offline {
        /// Anything typed logs in again.
        wake_on_typing: bool,
    },
    /// The server was lost and no other is connected yet: `dialing` while an attempt is under way,
    /// otherwise waiting for the reconnection timer.
    Reconnecting {
        /// An attempt is under way (its answer is awaited), rather than a pause before the next.
        dialing: bool,
    },
    /// Reconnecting stopped at a server whose certificate changed: waiting for the user to say
    /// whether to trust the one it presents (`fingerprint`).
    Distrusted {
        /// The certificate the server presented, as the user is asked to confirm it.
        fingerprint: String,
    },
    /// An exit was requested; nothing more happens.
    Done,
}

/// What a rule's step leaves the client to do: go on, or end. Ending reaches every part (what was
/// shown is saved, what waits is said, the peers are closed), so a rule that decides it says so,
/// and the state carries it out.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Nothing more to do.
    On,
    /// The client ends, with this status.
    End(Exit),
}

/// A line typed at a login prompt that is to go to the server as the answer: what it answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Answered {
    /// The username.
    Username,
    /// The password (an existing account's, or a new one's typed twice alike).
    Password,
}

/// `passwd` under way: which of its prompts the next line answers, and what the server has not
/// answered yet.
#[derive(Debug, Default)]
struct Passwd {
    /// The prompt `passwd` asked: the next line typed is a password, never a command.
    asked: Option<InputMode>,
    /// The new password typed (twice), until the server says it is the account's.
    chosen: Option<String>,
    /// A line was sent and the server's answer is awaited before the next line is read.
    waiting: bool,
}

/// A line typed while logged out, kept to be taken once logged in again: where it was typed decides
/// what it means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Held {
    /// At the prompt (line mode).
    Prompt(String),
    /// In a window of the full-screen client.
    Window(Typed),
}

/// At most this many lines typed while logging in again are kept for after it; more are refused.
pub(super) const MAX_HELD: usize = 20;

/// The session part. See the [module documentation](self).
#[derive(Debug)]
pub(super) struct Session {
    phase: Phase,
    /// What the user interface was last asked to read and has not answered yet: asked once, so a
    /// line is never read before the core wants it (no prompt is drawn before "Logged out").
    reading: Option<InputMode>,
    /// Whether the server connected to proved it is the one trusted (see `ServerEvent`): the
    /// remembered password goes by itself only to such a server.
    verified: bool,
    /// A new password, typed once, waiting to be typed again (a new account's, or `passwd`'s).
    new_password: Option<String>,
    passwd: Passwd,
    /// Seconds the server has to send its first prompt.
    greeting_secs: u64,
    /// Seconds to wait for the server's goodbye after `logout`.
    logout_grace_secs: u64,
    /// The port of this client's private-chat listener, told to the server at each login.
    p2p_port: u16,
    /// When the server will log the user out for being idle, once it has warned of it; a command
    /// that counts as activity puts it off (the server starts counting again).
    idle_at: Option<Timestamp>,
    /// Changes whenever `idle_at` does, or whether the client is offline.
    idle_version: u64,
    /// Logging in again because the user typed after an idle logout: what they typed is kept
    /// (`held`) and taken once logged in.
    waking: bool,
    /// The lines typed to log in again, oldest first.
    held: Vec<Held>,
}

impl Session {
    /// A session just connected (the shell connects before the core starts).
    pub(super) fn new(greeting_secs: u64, logout_grace_secs: u64, p2p_port: u16) -> Self {
        Session {
            phase: Phase::Connecting,
            reading: None,
            verified: false,
            new_password: None,
            passwd: Passwd::default(),
            greeting_secs,
            logout_grace_secs,
            p2p_port,
            idle_at: None,
            idle_version: 0,
            waking: false,
            held: Vec::new(),
        }
    }

    /// What the session learns from a line of the server, shown or not: an idle logout coming (its
    /// warning), or none any more (the goodbye).
    pub(super) fn learn_from(&mut self, msg: &ServerMsg, now: Timestamp) {
        match msg {
            ServerMsg::IdleWarning { secs_left } => self.set_idle(Some(now.plus_secs(*secs_left))),
            ServerMsg::Bye(_) => self.set_idle(None),
            _ => {}
        }
    }

    /// A command that counts as activity was sent: the server's idle countdown starts again.
    pub(super) fn active_again(&mut self) {
        self.set_idle(None);
    }

    fn set_idle(&mut self, at: Option<Timestamp>) {
        if self.idle_at != at {
            self.idle_at = at;
            self.idle_version += 1;
        }
    }

    /// When the idle logout the server warned of comes, if it did.
    pub(super) fn idle_deadline(&self) -> Option<Timestamp> {
        self.idle_at
    }

    /// Changes whenever [`Self::idle_deadline`] does.
    pub(super) fn idle_version(&self) -> u64 {
        self.idle_version
    }

    /// The logged-in user, if any.
    pub(super) fn user(&self) -> Option<&Name> {
        match &self.phase {
            Phase::Online { user } => Some(user),
            _ => None,
        }
    }

    /// Whether a user is logged in.
    pub(super) fn online(&self) -> bool {
        matches!(self.phase, Phase::Online { .. })
    }

    /// Connected and not logged in yet.
    pub(super) fn logging_in(&self) -> bool {
        matches!(self.phase, Phase::Connecting | Phase::Login { .. })
    }

    /// Whether the client has asked to exit.
    pub(super) fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Whether the server connected to proved it is the one trusted.
    pub(super) fn verified(&self) -> bool {
        self.verified
    }

    /// The private-chat listener's port, for the server.
    pub(super) fn p2p_port(&self) -> u16 {
        self.p2p_port
    }

    /// Seconds the server has to greet.
    pub(super) fn greeting_secs(&self) -> u64 {
        self.greeting_secs
    }

    /// Asks the user interface to read in `mode`, unless that is what it is doing already.
    pub(super) fn ask(&mut self, mode: InputMode, out: &mut Vec<Effect>) {
        if self.reading.as_ref() != Some(&mode) {
            self.reading = Some(mode.clone());
            out.push(Effect::Read(mode));
        }
    }

    /// Whether the user interface is asked for a line, and has not answered yet.
    pub(super) fn asking(&self) -> bool {
        self.reading.is_some()
    }

    /// The user interface answered (or stopped reading, or is to be asked anew whatever it read
    /// last): the next [`Self::ask`] asks.
    pub(super) fn forget_asked(&mut self) {
        self.reading = None;
    }

    /// Asks again for what the user was answering, after a line that did not answer it. Between
    /// servers (`between_servers_as`: the user being logged in again) the user goes on typing
    /// commands, and is told nothing is sent.
    pub(super) fn ask_again(&mut self, between_servers_as: Option<Name>, out: &mut Vec<Effect>) {
        let mode = match &self.phase {
            // `passwd` is waiting for the server's prompt: the next line is read as what it asks
            // for, never as a command (a script's password line would go out as one).
            Phase::Online { .. } if self.passwd.waiting => return,
            Phase::Online { user } => InputMode::Command { user: user.clone() },
            Phase::Login { asked: Some(mode) } => mode.clone(),
            // Logged out, the client stays open: lines are read still (one logs in again).
            _ => match between_servers_as {
                Some(user) => InputMode::Command { user },
                None => return,
            },
        };
        self.ask(mode, out);
    }

    /// A connection is up (the first, or one asked for); `verified`: the server proved it is the one
    /// trusted. The server has [`Self::greeting_secs`] to ask for a username.
    pub(super) fn connected(&mut self, verified: bool, now: Timestamp, timers: &mut Timers<Timer>) {
        if matches!(self.phase, Phase::Reconnecting { .. }) {
            self.phase = Phase::Connecting;
        }
        self.verified = verified;
        timers.set(Timer::ServerGreeting, now.plus_secs(self.greeting_secs));
    }

    /// Whether the greeting's deadline, when it passes, finds the server still silent.
    pub(super) fn greeting_due(&self) -> bool {
        self.phase == Phase::Connecting
    }

    /// A prompt came: the first one ends the wait for the greeting. Returns what the prompt asks
    /// the user, when it is one of the login's; `passwd`'s prompts are asked here and now (the
    /// next line is a password, not shown and not read as a command), and any other prompt once
    /// logged in is not in the protocol, which is said.
    pub(super) fn prompted(
        &mut self,
        prompt: Prompt,
        timers: &mut Timers<Timer>,
        out: &mut Vec<Effect>,
    ) -> Option<InputMode> {
        if self.phase == Phase::Connecting {
            self.phase = Phase::Login { asked: None };
            timers.cancel(Timer::ServerGreeting);
        }
        if self.online()
            && matches!(
                prompt,
                Prompt::CurrentPassword | Prompt::ChosenPassword | Prompt::OperatorPassword
            )
        {
            let mode = match prompt {
                Prompt::CurrentPassword => InputMode::CurrentPassword,
                Prompt::OperatorPassword => InputMode::OperatorPassword,
                _ => InputMode::ChosenPassword { again: false },
            };
            self.passwd.asked = Some(mode.clone());
            self.passwd.waiting = false;
            self.reading = None;
            self.ask(mode, out);
            return None;
        }
        if !matches!(self.phase, Phase::Login { .. }) {
            // Nothing sensible to answer.
            show_error(out, ClientError::BadServerLine("unexpected prompt".into()));
            return None;
        }
        Some(match prompt {
            Prompt::Username => InputMode::Username,
            Prompt::Password => InputMode::Password,
            Prompt::NewPassword { user } => InputMode::NewPassword { user },
            // `passwd`'s and `oper`'s prompts come once logged in (above), never here.
            Prompt::CurrentPassword | Prompt::ChosenPassword | Prompt::OperatorPassword => {
                InputMode::Password
            }
        })
    }

    /// Asks the user the login's prompt `mode`; the next line typed answers it.
    pub(super) fn ask_login(&mut self, mode: InputMode, out: &mut Vec<Effect>) {
        if let Phase::Login { asked } = &mut self.phase {
            *asked = Some(mode.clone());
        }
        self.reading = None;
        self.ask(mode, out);
    }

    /// A line typed at a login prompt. A new password is asked twice first (a typing mistake nobody
    /// saw must not lock the user out of the account just made): the first time, and when the two
    /// differ, it is asked again here. Otherwise returns what the line answers, to be sent as it
    /// is (the server trims and checks it, and asks again if it is wrong); `None`: nothing to send.
    pub(super) fn answer_prompt(&mut self, line: &str, out: &mut Vec<Effect>) -> Option<Answered> {
        let Phase::Login { asked } = &mut self.phase else {
            return None;
        };
        match asked.take() {
            Some(InputMode::Username) => Some(Answered::Username),
            Some(InputMode::Password) => Some(Answered::Password),
            Some(InputMode::NewPassword { user }) => {
                self.new_password = Some(line.to_owned());
                let again = InputMode::ConfirmPassword { user };
                *asked = Some(again.clone());
                self.ask(again, out);
                None
            }
            Some(InputMode::ConfirmPassword { user }) => {
                if self.new_password.take().as_deref() != Some(line) {
                    show_error(out, ClientError::PasswordsDiffer);
                    let first = InputMode::NewPassword { user };
                    *asked = Some(first.clone());
                    self.ask(first, out);
                    return None;
                }
                Some(Answered::Password)
            }
            Some(
                InputMode::Command { .. }
                | InputMode::TrustCertificate { .. }
                | InputMode::CurrentPassword
                | InputMode::OperatorPassword
                | InputMode::ChosenPassword { .. },
            )
            | None => None,
        }
    }

    /// `passwd` was sent: the next line is read once the server has answered.
    pub(super) fn passwd_started(&mut self) {
        self.passwd.waiting = true;
    }

    /// A line typed while `passwd` may have asked for one: if it did (and the user is still logged
    /// in), it is the answer. The current password goes to the server as typed; a new one is asked
    /// twice, then sent. Returns whether the line was taken. The next line is read once the server
    /// has answered (its next prompt, `PASSWORD-CHANGED` or an error that ends it), so a script's
    /// next line is never taken for a command too early.
    pub(super) fn answer_passwd(&mut self, line: &str, out: &mut Vec<Effect>) -> bool {
        let Some(asked) = self.passwd.asked.take() else {
            return false;
        };
        if !self.online() {
            return false;
        }
        match asked {
            InputMode::ChosenPassword { again: false } => {
                self.new_password = Some(line.to_owned());
                let again = InputMode::ChosenPassword { again: true };
                self.passwd.asked = Some(again.clone());
                self.ask(again, out);
                return true;
            }
            InputMode::ChosenPassword { again: true }
                if self.new_password.take().as_deref() != Some(line) =>
            {
                show_error(out, ClientError::PasswordsDiffer);
                let first = InputMode::ChosenPassword { again: false };
                self.passwd.asked = Some(first.clone());
                self.ask(first, out);
                return true;
            }
            InputMode::ChosenPassword { again: true } => {
                // Kept until the server says it is the account's (`PASSWORD-CHANGED`).
                self.passwd.chosen = Some(line.to_owned());
            }
            _ => {}
        }
        out.push(Effect::Send(line.to_owned()));
        self.passwd.waiting = true;
        true
    }

    /// `passwd` is over (done, or refused for good): commands are read again.
    pub(super) fn passwd_over(&mut self, out: &mut Vec<Effect>) {
        if !std::mem::take(&mut self.passwd.waiting) {
            return;
        }
        if let Phase::Online { user } = &self.phase {
            let user = user.clone();
            self.ask(InputMode::Command { user }, out);
        }
    }

    /// `PASSWORD-CHANGED`: `passwd` is over, and the password chosen with it (returned) is the
    /// account's now.
    pub(super) fn password_changed(&mut self, out: &mut Vec<Effect>) -> Option<String> {
        self.passwd_over(out);
        self.passwd.chosen.take()
    }

    /// The server welcomed `user`: logged in, with nothing of the login's or of an earlier
    /// `passwd` left over.
    pub(super) fn welcomed(&mut self, user: Name) {
        if self.is_offline().is_some() {
            self.idle_version += 1;
        }
        self.phase = Phase::Online { user };
        self.new_password = None;
        self.passwd = Passwd::default();
    }

    /// `logout` was sent: the server's goodbye is awaited until the grace period ends. `stay`: the
    /// client stays open once logged out (`/disconnect`).
    pub(super) fn logging_out(&mut self, stay: bool, now: Timestamp, timers: &mut Timers<Timer>) {
        self.phase = Phase::LoggingOut { stay };
        timers.set(Timer::Logout, now.plus_secs(self.logout_grace_secs));
    }

    /// A line came from the server while its goodbye is awaited: it is still working through what
    /// was sent before `logout` (a script's last commands, paced by flood control), so the grace
    /// period starts again, and those answers are shown rather than cut off.
    pub(super) fn logout_progress(&self, now: Timestamp, timers: &mut Timers<Timer>) {
        if self.logging_out_now() {
            timers.set(Timer::Logout, now.plus_secs(self.logout_grace_secs));
        }
    }

    /// Whether the client waits for the server's goodbye.
    pub(super) fn logging_out_now(&self) -> bool {
        matches!(self.phase, Phase::LoggingOut { .. })
    }

    /// Whether the client waits for the server's goodbye and stays open after it (`/disconnect`).
    pub(super) fn logging_out_to_stay(&self) -> bool {
        self.phase == (Phase::LoggingOut { stay: true })
    }

    /// Logged out, the client stays open connected to no server; `wake_on_typing`: anything typed
    /// logs in again (after an idle logout), else only `/reconnect` does. Nothing is held any more
    /// for a login again, and no idle logout is coming.
    pub(super) fn offline(&mut self, wake_on_typing: bool) {
        self.phase = Phase::Offline { wake_on_typing };
        self.waking = false;
        self.held.clear();
        self.set_idle(None);
        self.idle_version += 1;
    }

    /// Whether the client is logged out and stays open: `Some(wake_on_typing)`.
    pub(super) fn is_offline(&self) -> Option<bool> {
        match self.phase {
            Phase::Offline { wake_on_typing } => Some(wake_on_typing),
            _ => None,
        }
    }

    /// The user typed after an idle logout: the client logs in again, and what is typed until it has
    /// is kept for after.
    pub(super) fn wake(&mut self) {
        self.waking = true;
    }

    /// Whether what is typed now is kept for after the login again under way.
    pub(super) fn waking(&self) -> bool {
        self.waking
    }

    /// Keeps `line` for after the login again; false (not kept) once [`MAX_HELD`] are.
    pub(super) fn hold(&mut self, line: Held) -> bool {
        if self.held.len() >= MAX_HELD {
            return false;
        }
        self.held.push(line);
        true
    }

    /// The lines kept for after the login again, oldest first, given up.
    pub(super) fn take_held(&mut self) -> Vec<Held> {
        self.waking = false;
        std::mem::take(&mut self.held)
    }

    /// Between servers: `dialing` while an attempt is under way, else waiting to try again. The
    /// session is gone, and no idle logout is coming.
    pub(super) fn reconnecting(&mut self, dialing: bool) {
        if self.is_offline().is_some() {
            self.idle_version += 1;
        }
        self.phase = Phase::Reconnecting { dialing };
        self.set_idle(None);
    }

    /// Whether an attempt to reach a server is under way (its answer is awaited).
    pub(super) fn dialing(&self) -> bool {
        self.phase == (Phase::Reconnecting { dialing: true })
    }

    /// Whether the client waits for the reconnection timer.
    pub(super) fn waiting_to_dial(&self) -> bool {
        self.phase == (Phase::Reconnecting { dialing: false })
    }

    /// Whether the client is between servers: trying to reach one, or asking the user whether to
    /// trust one whose certificate changed.
    pub(super) fn between_servers(&self) -> bool {
        matches!(
            self.phase,
            Phase::Reconnecting { .. } | Phase::Distrusted { .. }
        )
    }

    /// Reconnecting stopped at a server whose certificate changed to `fingerprint`; the user is to
    /// say whether to trust it.
    pub(super) fn distrusted(&mut self, fingerprint: String) {
        self.phase = Phase::Distrusted { fingerprint };
    }

    /// The changed certificate the user is being asked about, if any.
    pub(super) fn distrusted_fingerprint(&self) -> Option<&str> {
        match &self.phase {
            Phase::Distrusted { fingerprint } => Some(fingerprint),
            _ => None,
        }
    }

    /// The client ends: nothing more happens.
    pub(super) fn done(&mut self) {
        self.phase = Phase::Done;
    }
}
