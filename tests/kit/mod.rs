//! The one kit every integration test shares: the server started in-process or as the real binary
//! (with a builder for its flags, its directory and its limits), a blocking line client that decodes
//! what the server says, the real `natter` client driven through pipes, a recording relay, a hostile
//! relay that plays a server taken over (and the keys of the attacker's own it hands out), a server
//! that puts itself in the middle of private chats, the
//! credentials the tests log in with, and a replayable random source.
//!
//! Each integration test is its own crate and uses part of the kit, hence `dead_code` is allowed here.
#![allow(dead_code, unused_imports)]

mod accounts;
mod attacker;
mod client;
mod hostile_relay;
mod in_process;
mod p2p_mitm;
mod piped;
mod process;
mod redis;
mod relay;
mod rng;

use std::time::Duration;

pub use accounts::*;
pub use attacker::{Keys, assert_unread, claim, digits_after, forged_keys, safety_line};
pub use client::Client;
pub use hostile_relay::{Dir, Fate, HostileRelay};
pub use in_process::{TestServer, config, init_logs};
pub use p2p_mitm::{P2pMitm, ProofAttack};
pub use piped::{Piped, natter, natter_tls};
pub use process::{Failed, Server, ServerCmd, run_server_expecting_exit, server_bin};
pub use redis::Redis;
pub use relay::Relay;
pub use rng::{Rng, seed};

/// A loopback port nothing listens on (bound, noted, freed): for "the server is not there" and for
/// choosing ports ahead.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How long any one wait may take before the test counts it as a hang.
pub const PATIENCE: Duration = Duration::from_secs(30);
