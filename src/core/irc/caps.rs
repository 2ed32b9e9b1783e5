//! The IRCv3 capabilities by name: which a `CAP REQ` may enable or disable, and which `CAP LIST`
//! says are on. natter offers every capability in [`OFFERED`] at once and never changes them, so
//! `cap-notify` has nothing to tell (no `CAP NEW` or `CAP DEL`) and is honoured by saying nothing.

use super::session::{Caps, OFFERED};

impl Caps {
    /// The switch for the capability `name`, if natter offers it.
    fn switch(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "server-time" => &mut self.server_time,
            "sasl" => &mut self.sasl,
            "message-tags" => &mut self.message_tags,
            "echo-message" => &mut self.echo_message,
            "batch" => &mut self.batch,
            "labeled-response" => &mut self.labeled_response,
            "cap-notify" => &mut self.cap_notify,
            "multi-prefix" => &mut self.multi_prefix,
            "userhost-in-names" => &mut self.userhost_in_names,
            "away-notify" => &mut self.away_notify,
            "extended-monitor" => &mut self.extended_monitor,
            "setname" => &mut self.setname,
            "account-tag" => &mut self.account_tag,
            "extended-join" => &mut self.extended_join,
            _ => return None,
        })
    }

    /// Whether `name` is offered (and so may be asked for, or taken back with `-name`).
    pub(super) fn offers(name: &str) -> bool {
        Caps::default().switch(name).is_some()
    }

    /// Turns `name` on or off; `false` if natter does not offer it.
    pub(super) fn set(&mut self, name: &str, on: bool) -> bool {
        match self.switch(name) {
            Some(s) => {
                *s = on;
                true
            }
            None => false,
        }
    }

    /// The capabilities on, in the order `CAP LS` lists them.
    pub(super) fn enabled(&self) -> Vec<&'static str> {
        let mut me = *self;
        OFFERED
            .iter()
            .copied()
            .filter(|c| me.switch(c).is_some_and(|on| *on))
            .collect()
    }
}

/// What `CAP LS` lists: with `302`, the values of those that have one (`sasl=PLAIN`).
pub(super) fn listed(cap_302: bool) -> String {
    OFFERED
        .iter()
        .map(|c| match *c {
            "sasl" if cap_302 => "sasl=PLAIN",
            c => c,
        })
        .collect::<Vec<_>>()
        .join(" ")
}
