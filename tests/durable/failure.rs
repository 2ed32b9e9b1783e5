//! A store that fails while serving: nothing that needed the failed commit is acknowledged, the clients
//! are told the server is going down, and the server stops with the error.

use std::io;

use natter::protocol::{ByeReason, ServerMsg};
use natter::server::{Account, Config, Record, ServerState};
use natter::shell::persist::Persister;
use natter::shell::server::{ShellOptions, spawn};

use crate::support::Client;

/// Keeps everything but stored messages, as a disk that fills up at the wrong moment would.
struct FailsOnMessages;

impl Persister for FailsOnMessages {
    fn commit(&mut self, records: &[Record]) -> io::Result<()> {
        if records
            .iter()
            .any(|r| matches!(r, Record::MessageStored { .. }))
        {
            return Err(io::Error::other("no space left on device (simulated)"));
        }
        Ok(())
    }
}

#[test]
fn a_failed_commit_acknowledges_nothing_and_stops_the_server() {
    let accounts = ["alice", "bob", "carol"]
        .iter()
        .map(|u| Account {
            username: (*u).into(),
            password: "pw".into(),
        })
        .collect();
    let core = ServerState::new(Config::default(), accounts, [3; 32]);
    let listener = smol::block_on(async_net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let handle = spawn(
        listener,
        core,
        Box::new(FailsOnMessages),
        ShellOptions::default(),
    )
    .unwrap();
    let addr = handle.local_addr;

    let mut carol = Client::login(addr, "carol", "pw").unwrap();
    let mut alice = Client::login(addr, "alice", "pw").unwrap();
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
