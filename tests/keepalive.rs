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
use natter::protocol::ServerMsg;

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
    fn new() -> Namespace {
        let id = std::process::id() % 60_000;
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

#[test]
fn a_client_whose_host_vanished_is_logged_out_within_the_keepalive_bound() {
    let ns = Namespace::new();
    let idle = 2u64;
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
    // bob watches from here.
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
    bob.expect(
        "alice's departure",
        |m| matches!(m, ServerMsg::Presence { user, online: false } if &**user == "alice"),
    );
    let took = vanished.elapsed();
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
