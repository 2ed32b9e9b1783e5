//! The IRC codec alone (`codec.rs`), and IRC sessions through the composed server on the harness's
//! virtual clock (`front.rs`; guests, with no account: `guests.rs`), beside natter-protocol sessions
//! on the same core; the queries (`queries.rs`: WHO, WHOIS, WHOWAS, LUSERS) and what the front
//! says of the server (`server_info.rs`: its name, MOTD, TIME, VERSION, HELP…);
//! the service nick (`service.rs`), `SILENCE` (`silence.rs`) and CTCP (`ctcp.rs`).

mod account_tag;
mod caps;
mod channels;
mod codec;
mod ctcp;
mod front;
mod guests;
mod kit;
mod modes;
mod nick;
mod operators;
mod presence;
mod props;
mod queries;
mod server_info;
mod service;
mod silence;
mod tagmsg;
mod user_state;
