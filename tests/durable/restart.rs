//! State written by one server process is all there after a restart: offline messages, block lists,
//! login history, lockouts, registered accounts, and message ids that keep growing.

use natter_core::protocol::{ErrorReply, Prompt, ServerMsg};

use crate::kit::{Client, LOAD_ACCOUNTS, Server, write_credentials};

fn is_whoelse(m: &ServerMsg) -> bool {
    matches!(m, ServerMsg::WhoElse { .. })
}

fn offline_messages(got: &[ServerMsg]) -> Vec<(u64, String, String)> {
    got.iter()
        .filter_map(|m| match m {
            ServerMsg::OfflineMessage { id, from, text, .. } => {
                Some((*id, from.to_string(), text.clone()))
            }
            _ => None,
        })
        .collect()
}

fn stored_id(got: &[ServerMsg]) -> u64 {
    match got.last() {
        Some(ServerMsg::Stored { id, .. }) => *id,
        other => panic!("expected STORED, got {other:?}"),
    }
}

fn is_stored(m: &ServerMsg) -> bool {
    matches!(m, ServerMsg::Stored { .. } | ServerMsg::Error(_))
}

#[test]
fn everything_durable_is_there_after_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), LOAD_ACCOUNTS);
    // Port 0, a 600 s lockout, and registration open; the data directory is the default one.
    let args = ["600", "--register"];

    let server = Server::cmd().in_dir(dir.path()).args(&args).start();
    assert!(dir.path().join("natter-data").is_dir(), "default data dir");
    let addr = server.addr;
    let mut zed = Client::try_connect(addr).unwrap();
    let got = zed.attempt_login("zed", "zed-secret").unwrap();
    assert!(
        got.iter()
            .any(|m| matches!(m, ServerMsg::Prompt(Prompt::NewPassword { .. }))),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|m| matches!(m, ServerMsg::Registered { .. })),
        "{got:?}"
    );
    zed.ask("logout", |m| matches!(m, ServerMsg::Bye(_)))
        .unwrap();

    let mut alice = Client::log_in(addr, "alice", "apw").unwrap();
    alice
        .ask("block carol", |m| matches!(m, ServerMsg::Blocked { .. }))
        .unwrap();
    let first = stored_id(
        &alice
            .ask("message bob before the restart", is_stored)
            .unwrap(),
    );
    let second = stored_id(&alice.ask("message bob and again", is_stored).unwrap());
    assert!(first < second);
    alice
        .ask("logout", |m| matches!(m, ServerMsg::Bye(_)))
        .unwrap();

    let mut dave = Client::try_connect(addr).unwrap();
    dave.send("dave").unwrap();
    for _ in 0..3 {
        dave.send("wrong").unwrap();
    }
    let got = dave.recv_until(|m| matches!(m, ServerMsg::Bye(_))).unwrap();
    assert!(
        got.iter()
            .any(|m| matches!(m, ServerMsg::Error(ErrorReply::LockedNow { .. }))),
        "{got:?}"
    );
    assert!(server.stop().success());

    // Second life: everything above is still true.
    let server = Server::cmd().in_dir(dir.path()).args(&args).start();
    let addr = server.addr;
    let mut dave = Client::try_connect(addr).unwrap();
    let got = dave.attempt_login("dave", "dpw").unwrap();
    assert!(
        got.iter().any(
            |m| matches!(m, ServerMsg::Error(ErrorReply::Locked { secs_left } ) if *secs_left > 500)
        ),
        "a restart must not lift a lockout: {got:?}"
    );

    Client::log_in(addr, "zed", "zed-secret").expect("registered account survives");
    // The new account is in the credentials file with its password hashed, and the file is its
    // owner's only.
    let creds_text = std::fs::read_to_string(&creds).unwrap();
    let zed = creds_text
        .lines()
        .find_map(|l| l.strip_prefix("zed "))
        .unwrap_or_else(|| panic!("no zed in {creds_text}"));
    assert!(
        natter_core::password::is_hash(zed) && natter_core::password::verify(zed, "zed-secret"),
        "{zed}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&creds).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "credentials are the owner's only: {mode:o}"
    );

    let mut bob = Client::log_in(addr, "bob", "bpw").unwrap();
    let got = bob.ask("whoelse", is_whoelse).unwrap();
    assert_eq!(
        offline_messages(&got),
        vec![
            (first, "alice".into(), "before the restart".into()),
            (second, "alice".into(), "and again".into()),
        ]
    );
    let got = bob
        .ask("whoelsesince 3600", |m| {
            matches!(m, ServerMsg::WhoElseSince { .. })
        })
        .unwrap();
    match got.last() {
        Some(ServerMsg::WhoElseSince { users, .. }) => {
            let users: Vec<&str> = users.iter().map(|u| &**u).collect();
            assert!(users.contains(&"alice"), "history survives: {users:?}");
        }
        other => panic!("{other:?}"),
    }

    let mut carol = Client::log_in(addr, "carol", "cpw").unwrap();
    let got = carol.ask("message alice hello?", is_stored).unwrap();
    assert!(
        matches!(
            got.last(),
            Some(ServerMsg::Error(ErrorReply::BlockedBy { .. }))
        ),
        "block lists survive: {got:?}"
    );
    bob.send(&format!("ack {second}")).unwrap();
    bob.ask("logout", |m| matches!(m, ServerMsg::Bye(_)))
        .unwrap();
    assert!(server.stop().success());

    // Third life: acknowledged messages are gone for good, and ids keep growing.
    let server = Server::cmd().in_dir(dir.path()).args(&args).start();
    let mut bob = Client::log_in(server.addr, "bob", "bpw").unwrap();
    let got = bob.ask("whoelse", is_whoelse).unwrap();
    assert_eq!(offline_messages(&got), vec![]);
    bob.ask("logout", |m| matches!(m, ServerMsg::Bye(_)))
        .unwrap();
    let mut alice = Client::log_in(server.addr, "alice", "apw").unwrap();
    let third = stored_id(&alice.ask("message bob third", is_stored).unwrap());
    assert!(third > second, "ids keep growing: {third} after {second}");
    assert!(server.stop().success());
}

#[test]
fn data_dir_flag_chooses_where_state_lives_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    write_credentials(dir.path(), LOAD_ACCOUNTS);
    let data = dir.path().join("elsewhere/state");
    let data_arg = data.to_str().unwrap();
    let args = ["--data-dir", data_arg];

    let server = Server::cmd().in_dir(dir.path()).args(&args).start();
    let mut alice = Client::log_in(server.addr, "alice", "apw").unwrap();
    let id = stored_id(&alice.ask("message bob kept", is_stored).unwrap());
    server.kill9();
    assert!(data.join(natter::store::DB_FILE).exists());
    assert!(!dir.path().join("natter-data").exists());

    let server = Server::cmd().in_dir(dir.path()).args(&args).start();
    let mut bob = Client::log_in(server.addr, "bob", "bpw").unwrap();
    let got = bob
        .ask("whoelsesince 60", |m| {
            matches!(m, ServerMsg::WhoElseSince { .. })
        })
        .unwrap();
    assert_eq!(
        offline_messages(&got),
        vec![(id, "alice".into(), "kept".into())]
    );
    // alice was online when the server died: she counts as having left at the restart.
    match got.last() {
        Some(ServerMsg::WhoElseSince { users, .. }) => {
            assert!(users.iter().any(|u| &**u == "alice"), "{users:?}")
        }
        other => panic!("{other:?}"),
    }
    assert!(server.stop().success());
}

/// Groups, their membership as it changed, and group messages stored for offline members, after a clean
/// stop and after `kill -9`.
#[test]
fn groups_and_stored_group_messages_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    write_credentials(dir.path(), LOAD_ACCOUNTS);
    let until = |tag: fn(&ServerMsg) -> bool| {
        move |m: &ServerMsg| tag(m) || matches!(m, ServerMsg::Error(_))
    };

    let server = Server::cmd().in_dir(dir.path()).start();
    let mut alice = Client::log_in(server.addr, "alice", "apw").unwrap();
    alice
        .ask(
            "create group team",
            until(|m| matches!(m, ServerMsg::GroupCreated { .. })),
        )
        .unwrap();
    // Members offline are added directly (the owner allows it), not invited.
    alice
        .ask(
            "group set team add direct",
            until(|m| matches!(m, ServerMsg::GroupMode { .. })),
        )
        .unwrap();
    for user in ["bob", "carol", "dave"] {
        alice
            .ask(
                &format!("group add team {user}"),
                until(|m| matches!(m, ServerMsg::GroupJoined { .. })),
            )
            .unwrap();
    }
    alice
        .ask(
            "group add team s0",
            until(|m| matches!(m, ServerMsg::GroupJoined { .. })),
        )
        .unwrap();
    let sent = alice
        .ask(
            "message group team while you were away",
            until(|m| matches!(m, ServerMsg::GroupSent { .. })),
        )
        .unwrap();
    assert!(
        matches!(
            sent.last(),
            Some(ServerMsg::GroupSent {
                delivered: 0,
                stored: 4,
                ..
            })
        ),
        "{sent:?}"
    );
    let mut dave = Client::log_in(server.addr, "dave", "dpw").unwrap();
    dave.ask(
        "group leave team",
        until(|m| matches!(m, ServerMsg::GroupLeft { .. })),
    )
    .unwrap();
    assert!(server.stop().success());

    let server = Server::cmd().in_dir(dir.path()).start();
    let mut bob = Client::log_in(server.addr, "bob", "bpw").unwrap();
    let got = bob
        .ask(
            "grouplist",
            until(|m| matches!(m, ServerMsg::GroupList { .. })),
        )
        .unwrap();
    let stored: Vec<_> = got
        .iter()
        .filter_map(|m| match m {
            ServerMsg::OfflineMessage {
                group, from, text, ..
            } => Some((
                group.as_ref().map(|g| g.to_string()),
                from.to_string(),
                text.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        stored,
        vec![(
            Some("team".into()),
            "alice".into(),
            "while you were away".into()
        )]
    );
    assert_eq!(
        got.last(),
        Some(&ServerMsg::GroupList {
            groups: vec![(
                "team".into(),
                vec!["alice".into(), "bob".into(), "carol".into(), "s0".into()]
            )]
        }),
        "dave's leaving was kept"
    );
    bob.ask(
        "message group team after the restart",
        until(|m| matches!(m, ServerMsg::GroupSent { .. })),
    )
    .unwrap();
    server.kill9();

    let server = Server::cmd().in_dir(dir.path()).start();
    let mut carol = Client::log_in(server.addr, "carol", "cpw").unwrap();
    let got = carol
        .ask(
            "group members team",
            until(|m| matches!(m, ServerMsg::GroupMembers { .. })),
        )
        .unwrap();
    let texts: Vec<&str> = got
        .iter()
        .filter_map(|m| match m {
            ServerMsg::OfflineMessage {
                group: Some(_),
                text,
                ..
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        vec!["while you were away", "after the restart"],
        "in order, after kill -9"
    );
    assert!(server.stop().success());
}
