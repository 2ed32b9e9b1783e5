//! When the full-screen client's windows are kept and brought back ([`super::saved`] says what):
//! read once, at the first login of a run (the windows are the account's, at this server); saved a
//! few seconds after a change, so a burst of lines costs one write, and at exit; never saved before
//! what an earlier run kept was read, so a restart never overwrites it unread.

use super::super::display::Item;
use super::super::event::Effect;
use super::super::timer::Timer;
use super::{Keep, SavedWindows, Screen};
use crate::protocol::Name;
use crate::time::Timestamp;
use crate::timers::Timers;

/// Seconds from a change of the windows to their saving: one write for a burst of lines, and at
/// most this much lost to a crash (an orderly exit saves at once).
pub const SAVE_AFTER_SECS: u64 = 5;

/// Keeping the windows across restarts: whether, whose, and what is saved already.
#[derive(Debug)]
pub(in crate::client) struct Keeper {
    /// What is kept; `None`: nothing (line mode, no state directory).
    keep: Option<Keep>,
    /// Whose windows the screen holds, once what an earlier run kept was read: only then are they
    /// saved, and only as theirs.
    owner: Option<Name>,
    /// The earlier run's windows were asked for (once a run).
    asked: bool,
    /// The screen's [`Screen::kept_version`] last saved.
    saved: u64,
    /// The save is due ([`Timer::SaveWindows`] is armed).
    armed: bool,
}

impl Keeper {
    /// Keeping `keep` (`None`: nothing).
    pub(in crate::client) fn new(keep: Option<Keep>) -> Self {
        Keeper {
            keep,
            owner: None,
            asked: false,
            saved: 0,
            armed: false,
        }
    }

    /// `user` is logged in: at the first login of the run, ask for what an earlier run kept.
    pub(in crate::client) fn welcomed(&mut self, user: &Name, out: &mut Vec<Effect>) {
        if self.keep.is_none() || self.asked {
            return;
        }
        self.asked = true;
        out.push(Effect::LoadWindows { user: user.clone() });
    }

    /// What an earlier run kept of `user`'s windows, read: brought back into `screen`, or, if it
    /// cannot be, said, set aside, and the windows start fresh. From now on they are saved as
    /// `user`'s.
    pub(in crate::client) fn loaded(
        &mut self,
        user: Name,
        bytes: Result<Option<Vec<u8>>, String>,
        screen: &mut Screen,
        out: &mut Vec<Effect>,
    ) {
        if !self.asked || self.owner.is_some() {
            return;
        }
        let fresh = "starting with fresh windows";
        match bytes {
            Ok(None) => {}
            Ok(Some(bytes)) => match SavedWindows::decode(&bytes) {
                Ok(saved) => screen.restore(saved),
                Err(why) => {
                    out.push(Effect::Show(Item::Warning(format!(
                        "Your windows from the last run could not be restored: the file that \
                         keeps them {why}. It is set aside (renamed, with '.unreadable') and \
                         {fresh}."
                    ))));
                    out.push(Effect::SetAsideWindows { user: user.clone() });
                }
            },
            Err(why) => out.push(Effect::Show(Item::Warning(format!(
                "Your windows from the last run could not be read ({why}); {fresh}, which \
                 will be kept in their place."
            )))),
        }
        // Saved once, now, with what was restored: what this run shows is added from here on.
        self.saved = screen.kept_version().wrapping_sub(1);
        self.owner = Some(user);
    }

    /// After an input: the windows changed since they were last saved, so a save is due in
    /// [`SAVE_AFTER_SECS`] (one already due stays as it is).
    pub(in crate::client) fn changed(
        &mut self,
        screen: &Screen,
        now: Timestamp,
        timers: &mut Timers<Timer>,
    ) {
        if self.owner.is_some() && !self.armed && screen.kept_version() != self.saved {
            self.armed = true;
            timers.set(Timer::SaveWindows, now.plus_secs(SAVE_AFTER_SECS));
        }
    }

    /// Saves the windows as they are, if they changed since last saved (at the deadline, and at
    /// exit).
    pub(in crate::client) fn save(
        &mut self,
        screen: &Screen,
        now: Timestamp,
        timers: &mut Timers<Timer>,
        out: &mut Vec<Effect>,
    ) {
        self.armed = false;
        timers.cancel(Timer::SaveWindows);
        let (Some(keep), Some(user)) = (self.keep, &self.owner) else {
            return;
        };
        if screen.kept_version() == self.saved {
            return;
        }
        self.saved = screen.kept_version();
        out.push(Effect::SaveWindows {
            user: user.clone(),
            windows: screen.saved(keep, now),
        });
    }
}
