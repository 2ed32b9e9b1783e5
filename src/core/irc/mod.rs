//! IRC, spoken by natter's core: any IRC client, bot or bridge can use a natter account.
//!
//! IRC is a dialect in front of the core, not a second core: each IRC connection has a front
//! ([`IrcSession`]) that turns its IRC lines into natter lines for the core, and the core's lines
//! for it into IRC lines. The core never knows: its rules (login, lockout, a second login refused,
//! idle logout, flood limits, delivery, storage, the cluster) apply to IRC users unchanged, with one
//! set of accounts. The composed server ([`crate::server::composed`]) holds the fronts
//! ([`IrcFront`]): it knows which connections speak IRC, feeds their lines through the front into
//! the core's events, and turns the core's output for them into IRC lines, so the shell moves bytes
//! and decides nothing, and the harness and the simulators drive IRC sessions through the same code.
//!
//! - `message.rs`: the codec (tags, source, command, parameters), with IRC's limits.
//! - `session.rs`: one connection's front and what it asks the composed server to do ([`Step`]).
//! - `incoming.rs`: IRC lines from the client; `outgoing.rs`: the core's lines, as IRC lines;
//!   `sasl.rs`: SASL PLAIN; `channels.rs`: natter's groups as channels, both ways, with what a
//!   connection keeps about them in `channel_book.rs`; `modes.rs`: channel modes as the groups' rules.
//! - `caps.rs`: the IRCv3 capabilities by name; `relay.rs`: an IRC message on its way through the
//!   core (client tags, msgid, echo, no reply to a `NOTICE`); `labels.rs`: labeled responses;
//!   `tagmsg.rs`: `TAGMSG` as natter's signals (typing), both ways; `account_tag.rs`: which
//!   senders and joiners are accounts (`account-tag`, `extended-join`).
//! - `monitor.rs`, `away.rs`: others' presence as `MONITOR`, away as `AWAY` and `away-notify`,
//!   with what a connection keeps about them in `presence_book.rs`.
//! - `queries.rs`: `WHO` (and WHOX), `WHOIS`, `WHOWAS` and `LUSERS`, asked of the core, with
//!   what a connection keeps of them in `query_book.rs`; `server_info.rs`: what the front answers
//!   about the server itself (`MOTD`, `TIME`, `VERSION`, `INFO`, `ADMIN`, `LINKS`, `HELP`), under
//!   the operator's `settings.rs`.
//! - `service.rs`: the service nick (`/msg natter whoelse`): natter's commands with no IRC form;
//!   `silence.rs`: blocks as `SILENCE`; `ctcp.rs`: CTCP, and actions as natter's `/me`.
//! - `front.rs`: every IRC connection's front, by connection.
//!
//! docs/IRC.md maps every natter command to its IRC form and lists the numerics used.

mod account_tag;
mod away;
mod caps;
mod channel_book;
mod channels;
mod ctcp;
mod front;
mod help;
mod incoming;
mod invalid_utf8;
mod label_book;
mod labels;
mod list;
mod list_filter;
pub mod message;
mod modes;
mod monitor;
mod nick;
mod oper;
mod oper_book;
mod outgoing;
mod presence_book;
mod queries;
mod query_book;
mod relay;
mod relay_book;
mod sasl;
mod server_info;
mod service;
mod service_book;
mod session;
mod setname;
mod settings;
mod silence;
mod silence_book;
mod steps;
mod tagmsg;
#[cfg(test)]
mod tests;
mod user_modes;
mod userhost;

pub use account_tag::sender_of;
pub use front::IrcFront;
pub use message::{Message, ParseError, Tag, parse};
pub use relay::MAX_CLIENT_TAGS;
pub use relay_book::Relaying;
pub use session::{IrcSession, SERVER_NAME, Step};
pub use settings::IrcSettings;
