//! The IRC codec alone (`codec.rs`), and IRC sessions through the composed server on the harness's
//! virtual clock (`front.rs`; guests, with no account: `guests.rs`), beside natter-protocol sessions
//! on the same core; the service nick (`service.rs`), `SILENCE` (`silence.rs`) and CTCP
//! (`ctcp.rs`).

mod channels;
mod codec;
mod ctcp;
mod front;
mod guests;
mod props;
mod service;
mod silence;
