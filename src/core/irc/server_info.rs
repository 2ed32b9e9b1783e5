//! What the front answers about the server itself, with no question to the core: the message of
//! the day (`MOTD`, and at the welcome after `LUSERS`), `TIME`, `VERSION`, `INFO`, `ADMIN` and
//! `LINKS`, under the operator's settings (`settings.rs`); `HELP` is `help.rs`'s.

use super::session::{IrcSession, Step};
use crate::time::utc;

/// natter's version, as `VERSION` and the welcome tell it.
pub(super) const VERSION: &str = concat!("natter-", env!("CARGO_PKG_VERSION"));

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
    pub(super) fn server_info(&mut self, command: &str, out: &mut Vec<Step>) -> bool {
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
            _ => return false,
        };
        out.push(Step::Say(said));
        true
    }
}
