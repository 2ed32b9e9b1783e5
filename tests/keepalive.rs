//! End-to-end: a client whose host vanishes (no FIN, no RST: its link goes dead) is logged out by TCP
//! keepalive within the stated bound (the idle time and half as much again).
//!
//! The client runs in a network namespace this test creates, joined to the test's by a veth pair; the
//! link is then taken down inside the namespace, so nothing the server sends is answered. (Needs root,
//! as the test suite has: CI runs as root.)

mod kit;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kit::{Client, PEOPLE, Server};
use natter_core::protocol::ServerMsg;

/// A network namespace with a veth link to this one; removed when dropped.
struct Namespace {
    name: String,
    here: String,
    there: String,
    host_ip: String,
    ns_ip: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("running ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Namespace {
    /// `nth`: which of this test binary's namespaces (tests run in parallel, each needs its own).
    fn new(nth: u32) -> Namespace {
        let id = (std::process::id() * 2 + nth) % 60_000;
        let (hi, lo) = (id / 250, id % 250);
        let ns = Namespace {
            name: format!("natter-ka-{id}"),
            here: format!("nka{id}h"),
            there: format!("nka{id}n"),
            host_ip: format!("10.{}.{}.1", 100 + hi % 100, lo),
            ns_ip: format!("10.{}.{}.2", 100 + hi % 100, lo),
        };
        ip(&["netns", "add", &ns.name]);
        ip(&[
            "link", "add", &ns.here, "type", "veth", "peer", "name", &ns.there,
        ]);
        ip(&["link", "set", &ns.there, "netns", &ns.name]);
        ip(&[
            "addr",
            "add",
            &format!("{}/30", ns.host_ip),
            "dev",
            &ns.here,
        ]);
        ip(&["link", "set", &ns.here, "up"]);
        ns.exec(&[
            "ip",
            "addr",
            "add",
            &format!("{}/30", ns.ns_ip),
            "dev",
            &ns.there,
        ]);
        ns.exec(&["ip", "link", "set", &ns.there, "up"]);
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    fn exec(&self, args: &[&str]) {
        let mut all = vec!["netns", "exec", &self.name];
        all.extend_from_slice(args);
        ip(&all);
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.here])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// alice's host vanishes, after her client logged in (it runs in a namespace); bob watches from here.
/// `while_sent_to`: bob keeps messaging alice after her link went down, so the server always has
/// data in flight to her. Returns how long her departure took to be announced.
fn vanish(nth: u32, idle: u64, while_sent_to: bool) -> Duration {
    let ns = Namespace::new(nth);
    let server = Server::cmd()
        .accounts(PEOPLE)
        .raw(&[
            "0",
            "--bind",
            &ns.host_ip,
            "--plaintext",
            "--keepalive",
            &idle.to_string(),
        ])
        .start();
    // alice, inside the namespace: a real client, logged in.
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Command::new("ip")
        .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_natter")])
        .args([&ns.host_ip, &server.port().to_string(), "--plaintext"])
        .arg("--state-dir")
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let stdin = alice.stdin.as_mut().unwrap();
        writeln!(stdin, "alice\nwonderland").unwrap();
    }
    let mut bob = Client::connect(server.addr);
    bob.login("bob", "builder");
    let deadline = Instant::now() + kit::PATIENCE;
    loop {
        bob.say("whoelse");
        if let ServerMsg::WhoElse { users } =
            bob.expect("whoelse", |m| matches!(m, ServerMsg::WhoElse { .. }))
            && users.iter().any(|u| &**u == "alice")
        {
            break;
        }
        assert!(Instant::now() < deadline, "alice never logged in");
        std::thread::sleep(Duration::from_millis(50));
    }
    // alice's host vanishes: its link goes down, nothing is answered any more.
    ns.exec(&["ip", "link", "set", &ns.there, "down"]);
    let vanished = Instant::now();
    let _ = alice.kill();
    let _ = alice.wait();
    if while_sent_to {
        // A message every 200 ms, each waiting in flight for an acknowledgement that never comes.
        bob.stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(idle * 4 + 10);
        loop {
            bob.say("message alice are you there?");
            // Drain what came (STORED or nothing yet); stop at alice's departure.
            while let Ok(m) = bob.recv() {
                if matches!(&m, ServerMsg::Presence { user, online: false } if &**user == "alice") {
                    return vanished.elapsed();
                }
            }
            assert!(Instant::now() < deadline, "alice was never logged out");
        }
    } else {
        bob.expect(
            "alice's departure",
            |m| matches!(m, ServerMsg::Presence { user, online: false } if &**user == "alice"),
        );
    }
    vanished.elapsed()
}

#[test]
fn a_client_whose_host_vanished_is_logged_out_within_the_keepalive_bound() {
    let idle = 2;
    let took = vanish(0, idle, false);
    // The bound: idle 2 s, then 3 probes 1 s apart.
    let bound = Duration::from_secs(idle + 3);
    assert!(
        took <= bound + Duration::from_secs(3),
        "noticed after {took:?}, bound {bound:?}"
    );
    assert!(
        took >= Duration::from_secs(idle),
        "noticed after {took:?}: sooner than the keepalive could have"
    );
}

/// Keepalive probes only leave a connection with nothing in flight: a host that vanished while the
/// server was sending to it was retried for a quarter of an hour, its user "online" all that time.
#[test]
fn a_client_whose_host_vanished_while_being_sent_to_is_logged_out_within_the_same_bound() {
    let idle = 2;
    let took = vanish(1, idle, true);
    let bound = Duration::from_secs(idle + 3);
    assert!(
        took <= bound + Duration::from_secs(3),
        "noticed after {took:?}, bound {bound:?}"
    );
}
