//! A store that fails while serving: nothing that needed the failed commit is acknowledged, the clients
//! are told the server is going down, and the server stops with the error.

use std::io;

use natter::shell::persist::Persister;
use natter::shell::server::{ShellOptions, spawn};
use natter_core::protocol::{ByeReason, ServerMsg};
use natter_core::server::{Account, Config, Record, ServerState};

use crate::kit::Client;

/// Keeps every record but those `fails` picks, as a disk that fills up at the wrong moment would.
struct FailsOn(fn(&Record) -> bool);

impl Persister for FailsOn {
    fn commit(&mut self, records: &[Record]) -> io::Result<()> {
        if records.iter().any(self.0) {
            return Err(io::Error::other("no space left on device (simulated)"));
        }
        Ok(())
    }
}

fn start(persister: FailsOn) -> natter::shell::server::ServerHandle {
    let accounts = ["alice", "bob", "carol"]
        .iter()
        .map(|u| Account {
            username: (*u).into(),
            password: "pw".into(),
        })
        .collect();
    let core = ServerState::new(Config::default(), accounts, [3; 32]);
    let listener = smol::block_on(async_net::TcpListener::bind("127.0.0.1:0")).unwrap();
    spawn(listener, core, Box::new(persister), ShellOptions::default()).unwrap()
}

#[test]
fn a_failed_commit_acknowledges_nothing_and_stops_the_server() {
    let handle = start(FailsOn(|r| matches!(r, Record::MessageStored { .. })));
    let addr = handle.local_addr;

    let mut carol = Client::log_in(addr, "carol", "pw").unwrap();
    let mut alice = Client::log_in(addr, "alice", "pw").unwrap();
    alice.send("message bob are you there").unwrap();
    alice.send("whoelse").unwrap();
    let got = alice
        .recv_until(|m| matches!(m, ServerMsg::Bye(_)))
        .unwrap();
    assert!(
        !got.iter()
            .any(|m| matches!(m, ServerMsg::Stored { .. } | ServerMsg::WhoElse { .. })),
        "nothing after the failed commit may be sent: {got:?}"
    );
    assert_eq!(got.last(), Some(&ServerMsg::Bye(ByeReason::Shutdown)));
    // Everyone else is told too.
    let got = carol
        .recv_until(|m| matches!(m, ServerMsg::Bye(_)))
        .unwrap();
    assert_eq!(got.last(), Some(&ServerMsg::Bye(ByeReason::Shutdown)));

    let result = smol::block_on(handle.join());
    let err = result.expect_err("the server stops with the store's error");
    assert!(err.to_string().contains("no space left"), "{err}");
}

#[test]
fn a_failed_commit_while_stopping_is_an_error_not_a_clean_stop() {
    let handle = start(FailsOn(|r| matches!(r, Record::LoggedOut { .. })));
    let mut alice = Client::log_in(handle.local_addr, "alice", "pw").unwrap();
    let result = smol::block_on(handle.shutdown());
    assert!(result.is_err(), "the session ends could not be kept");
    let got = alice
        .recv_until(|m| matches!(m, ServerMsg::Bye(_)))
        .unwrap();
    assert_eq!(got.last(), Some(&ServerMsg::Bye(ByeReason::Shutdown)));
}
