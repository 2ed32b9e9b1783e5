//! The end-to-end state a client keeps, against a server that is the adversary, with the real
//! binaries: alice's client talks to the real server through a relay that drops, rewrites, holds
//! back or injects lines as whoever runs the server could, while her stored state is damaged, cannot
//! be written, or is read by someone holding her disk. In every test nothing alice wrote crosses the
//! relay readable, and nothing she wrote is lost without her being told.

#[path = "kit/mod.rs"]
mod kit;

use std::path::{Path, PathBuf};
use std::process::Command;

use kit::{Dir, Fate, HostileRelay, Piped, Server, assert_unread};
use natter_core::client::OpenHow;
use natter_core::client::e2e::store::device_dir_name;
use natter_core::client::e2e::{Part, Stored};
use natter_core::protocol::Name;

/// alice's password. The tests look for it in her encrypted files and in what the server saw, so it
/// is long enough that ciphertext cannot hold it by chance (three bytes, as `apw` was, turn up in a
/// few hundred KiB of random bytes now and then, and failed a run).
const ALICE_PW: &str = "apw-7f3c9e2d41b86a05";
const PEOPLE: &[(&str, &str)] = &[("alice", ALICE_PW), ("bob", "bpw")];

fn server() -> Server {
    Server::cmd().accounts(PEOPLE).args(&["60", "600"]).start()
}

/// The directory of `user`'s end-to-end state for the server at `port`, under `state`.
fn device_dir(state: &Path, port: u16, user: &str) -> PathBuf {
    state
        .join("e2e")
        .join(device_dir_name(&format!("127.0.0.1:{port}"), user))
}

/// What `user`'s store at `port` holds, read back with the password (the client must be gone).
fn stored(state: &Path, port: u16, user: &str, password: &str) -> Vec<(Part, Stored)> {
    natter::shell::e2e_store::open(
        state,
        &format!("127.0.0.1:{port}"),
        user,
        password,
        &OpenHow::Unlock,
    )
    .unwrap()
    .1
}

fn logout(c: &mut Piped) {
    c.send("logout");
    c.wait();
}

/// Flips one byte in the sealed content of every record of `part` in the journal at `journal` (its
/// records are `[length: u32][kind: u8][name length: u16][name][nonce: 24][ciphertext]`), as a bad
/// sector or someone with the disk would. Returns how many records it damaged.
fn damage(journal: &Path, part: &Part) -> usize {
    let name = part.file_name();
    let mut bytes = std::fs::read(journal).unwrap();
    let mut at = 0;
    let mut damaged = 0;
    while at + 4 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let record = at + 4;
        let name_len = u16::from_be_bytes(bytes[record + 1..record + 3].try_into().unwrap());
        let name_at = record + 3;
        if &bytes[name_at..name_at + usize::from(name_len)] == name.as_bytes() {
            let sealed = name_at + usize::from(name_len) + 24;
            bytes[sealed + (record + len - sealed) / 2] ^= 1;
            damaged += 1;
        }
        at = record + len;
    }
    std::fs::write(journal, &bytes).unwrap();
    damaged
}

/// Point 5 (fail closed): alice's stored sessions with bob are damaged, and the server lies that
/// bob has no keys, the moment a downgrade to clear text would pay. Nothing goes to bob, in clear or
/// not, until alice starts the conversation over; then the lie is not believed (bob's key is
/// pinned) and the message waits, said, until the server hands bob's keys out again, when it goes,
/// encrypted, to the bob alice knows. Before, one damaged file switched encryption off for
/// everything after a single notice.
#[test]
fn a_damaged_conversation_and_a_lying_server_get_nothing_in_clear_and_reset_is_the_way_out() {
    let server = server();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let mut bob = Piped::login("bob", "bpw", server.port(), &b);
    let mut alice = Piped::login("alice", ALICE_PW, relay.port, &a);
    alice.send("message bob hello before");
    bob.expect("[message] alice: hello before");
    logout(&mut alice);
    let journal = device_dir(&a, relay.port, "alice").join("journal");
    assert!(damage(&journal, &Part::Peer(Name::from("bob"))) > 0);

    relay.on(Dir::Down, |line| {
        if line.starts_with("KEYS bob ") {
            Fate::Rewrite(vec!["NOKEYS bob".into()])
        } else {
            Fate::Pass
        }
    });
    let mut alice = Piped::login("alice", ALICE_PW, relay.port, &a);
    assert!(
        alice.seen.iter().any(
            |l| l.contains("saved encryption state for bob could not be read")
                && l.contains("e2e-reset bob")
        ),
        "told at login, with the way out: {:?}",
        alice.seen
    );
    alice.send("message bob the eagle lands on tuesday");
    alice.expect("Not sent to bob");
    alice.send("e2e-reset bob");
    alice.expect("Started the encrypted conversation with bob over");
    alice.send("message bob the eagle lands on friday");
    alice.expect("yet bob's keys were pinned before: not believed");

    // The server tells the truth again; bob comes back, and what waited goes, to him.
    relay.honest(Dir::Down);
    logout(&mut bob);
    let mut bob = Piped::login("bob", "bpw", server.port(), &b);
    // (Stored for him, or sent as he comes online.)
    bob.saw_or_expect("[message] alice: the eagle lands on friday");
    assert!(!bob.saw("tuesday") && !bob.saw("CHANGED"), "{:?}", bob.seen);
    assert_unread(&relay, &["tuesday", "friday"]);
}

/// Point 10 (speed and storage): a burst of messages while the server holds back every line it
/// owes alice (its answers to them) is delivered whole and in order; it costs alice's client at
/// most one sync per message (each message cost each client two syncs and a rename), and each side
/// appends one record per message to its texts (the receiver rewrote its file of the last 1,024
/// texts at every message). The figures are the benchmark's (`just bench-e2e`); this holds the
/// mechanism to them.
#[test]
fn a_burst_through_a_server_holding_lines_back_shares_its_syncs_and_appends_its_texts() {
    const BURST: usize = 300;
    let server = server();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let mut bob = Piped::login("bob", "bpw", server.port(), &b);
    let mut cmd = kit::natter(relay.port, &a);
    cmd.env("RUST_LOG", "natter::shell::client=debug");
    let mut alice = Piped::spawn_cmd("alice", cmd, &a);
    alice.send("alice");
    alice.send(ALICE_PW);
    alice.expect("Welcome to natter, alice!");
    alice.send("message bob warm up");
    bob.expect("[message] alice: warm up");
    let commits = |c: &Piped| {
        c.seen
            .iter()
            .filter(|l| l.contains("end-to-end commit: one sync"))
            .count()
    };
    let before = commits(&alice);

    relay.on(Dir::Down, |_| Fate::Hold);
    for i in 0..BURST {
        alice.send(&format!("message bob m{i} of the burst"));
    }
    bob.expect(&format!("[message] alice: m{} of the burst", BURST - 1));
    let got: Vec<&String> = bob
        .seen
        .iter()
        .filter(|l| l.contains(" of the burst"))
        .collect();
    assert_eq!(got.len(), BURST, "every message, once");
    for (i, line) in got.iter().enumerate() {
        assert!(
            line.ends_with(&format!("alice: m{i} of the burst")),
            "in order: {line}"
        );
    }
    assert!(relay.held(Dir::Down) > 0, "the server's answers were held");
    relay.honest(Dir::Down);
    relay.release(Dir::Down);
    alice.send("whoelse");
    alice.expect("* Online now: bob");
    assert!(
        !alice.saw("not sent") && !alice.saw("NOT sent") && !alice.saw("Not sent"),
        "{:?}",
        alice.seen
    );
    let syncs = commits(&alice) - before;
    println!("{BURST} messages: {syncs} commits (one sync each) at alice's client");
    assert!(
        (1..=BURST).contains(&syncs),
        "{syncs} syncs for {BURST} messages"
    );
    assert_unread(&relay, &["of the burst"]);

    // One record appended per message, on both sides; nothing rewritten per message.
    logout(&mut alice);
    logout(&mut bob);
    // (Records: those of the part's last whole content, then one per record appended after it.)
    let records = |state: &Path, port: u16, user: &str, password: &str, part: Part| {
        let (mut whole, mut appended) = (0, 0);
        for (p, piece) in stored(state, port, user, password) {
            match piece {
                Stored::Whole(bytes) if p == part => {
                    let all: Vec<serde_json::Value> = serde_json::from_slice(&bytes).unwrap();
                    (whole, appended) = (all.len(), 0);
                }
                Stored::Appended(_) if p == part => appended += 1,
                _ => {}
            }
        }
        (whole, appended)
    };
    // alice keeps the last 256 texts she sent (to send one again if bob says it was for a device
    // he no longer has): appended to, and written whole (the last 256) once 256 were appended.
    // Her saves are made once per commit, so where the whole falls depends on how the burst was
    // cut into commits: after it, only the texts sent since.
    let (whole, appended) = records(
        &a,
        relay.port,
        "alice",
        ALICE_PW,
        Part::PeerSent(Name::from("bob")),
    );
    assert!(
        whole == 256 && appended <= BURST + 1 - 256,
        "alice's sent texts, with the warm-up: {whole} whole and {appended} appended"
    );
    // bob keeps the last 1,024 texts he read: each appended.
    let (whole, appended) = records(
        &b,
        server.port(),
        "bob",
        "bpw",
        Part::PeerTexts(Name::from("alice")),
    );
    assert_eq!(
        (whole, appended),
        (0, BURST + 1),
        "bob's texts, with the warm-up"
    );
}

/// Point 11 (at rest): a save that fails (a full disk) sends nothing that depended on it, so the
/// state alice's next run starts from, older than the one in memory, never reuses a message key
/// anyone saw: bob reads what comes next. And someone holding alice's disk and every line the server
/// saw, without her password, reads no key and no text.
#[test]
fn a_failed_save_sends_nothing_so_nothing_rolls_back_and_the_disk_and_the_wire_hold_no_text() {
    let server = server();
    let relay = HostileRelay::start(server.port());
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let mut bob = Piped::login("bob", "bpw", server.port(), &b);
    let mut alice = Piped::login("alice", ALICE_PW, relay.port, &a);
    alice.send("message bob the first secret");
    bob.expect("[message] alice: the first secret");
    logout(&mut alice);

    // alice's client may write no file bigger than her journal is now (a limit on file size, with
    // its signal ignored: to the client it looks as a full disk does, a write that fails).
    let journal = device_dir(&a, relay.port, "alice").join("journal");
    let limit = std::fs::metadata(&journal).unwrap().len() + 100;
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "trap '' XFSZ; exec prlimit --fsize={limit} \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_natter"))
        .arg(relay.port.to_string())
        .arg("--state-dir")
        .arg(&a)
        .arg("--plaintext")
        .env_remove("RUST_LOG");
    let mut full = Piped::spawn_cmd("alice", cmd, &a);
    full.send("alice");
    full.send(ALICE_PW);
    full.expect("Welcome to natter, alice!");
    full.send("message bob the second secret");
    full.expect("NOT sent (to bob)");
    logout(&mut full);

    let mut alice = Piped::login("alice", ALICE_PW, relay.port, &a);
    alice.send("message bob the third secret");
    bob.expect("[message] alice: the third secret");
    assert!(
        !bob.saw("second secret") && !bob.saw("could not be decrypted"),
        "{:?}",
        bob.seen
    );
    logout(&mut alice);

    let mut disk = Vec::new();
    for entry in walk(&a.join("e2e")) {
        disk.extend(std::fs::read(entry).unwrap());
    }
    for secret in [
        "first secret",
        "second secret",
        "third secret",
        ALICE_PW,
        "pickle",
        "\"sessions\"",
        "\"pinned\"",
    ] {
        assert!(
            !disk.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} readable on alice's disk"
        );
    }
    assert_unread(&relay, &["first secret", "second secret", "third secret"]);
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
