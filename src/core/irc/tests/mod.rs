//! The IRC codec alone (`codec.rs`), and IRC sessions through the composed server on the harness's
//! virtual clock (`front.rs`; guests, with no account: `guests.rs`), beside natter-protocol sessions
//! on the same core.

mod account_tag;
mod caps;
mod channels;
mod codec;
mod front;
mod guests;
mod props;
mod tagmsg;
