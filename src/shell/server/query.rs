//! What the operator may ask of the core's state through the control socket (who is online, the
//! bans), and how the answer reads: asked through the inbox like any input, answered by the driver,
//! which holds the core.

use natter_core::server::ServerState;
use natter_core::time::Timestamp;

/// A question about the core's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    /// Who is online, with address, idle time and connection age.
    Online,
    /// The bans that hold.
    Bans,
}

impl Query {
    /// The answer's lines, from the core's state at `now`.
    pub(super) fn answer(self, core: &ServerState, now: Timestamp) -> Vec<String> {
        match self {
            Query::Online => core
                .online_view(now)
                .into_iter()
                .map(|o| {
                    format!(
                        "{} {} idle={}s connected={}s",
                        o.user, o.peer, o.idle_secs, o.connected_secs
                    )
                })
                .collect(),
            Query::Bans => core
                .bans_view(now)
                .into_iter()
                .map(|(target, ban)| {
                    let until = match ban.until {
                        Some(t) => natter_core::time::utc(t),
                        None => "forever".into(),
                    };
                    format!("{target} until={until} {}", ban.reason)
                        .trim_end()
                        .to_owned()
                })
                .collect(),
        }
    }
}
