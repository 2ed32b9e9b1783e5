//! What an attacker who runs the server brings to the tests besides the [`super::HostileRelay`]: keys
//! of its own, made by a real `natter` client (logged in under the victim's contact's name at a
//! server of the attacker's, so every signature over that name verifies), to hand out in place of the
//! contact's; and the checks that what it saw was never readable.

use std::path::Path;
use std::time::{Duration, Instant};

use natter_core::protocol::{ServerMsg, SignedKey};

use super::{Client, PATIENCE, Piped, Server};

/// A device identity and one of its keys, as a `KEYS` line carries them.
#[derive(Clone, Debug)]
pub struct Keys {
    pub curve25519: String,
    pub ed25519: String,
    pub key: SignedKey,
}

impl Keys {
    /// The `KEYS` line that answers a claim of `user`'s keys with these.
    pub fn claim_answer(&self, user: &str) -> String {
        format!(
            "KEYS {user} {} {} {} keys",
            self.curve25519, self.ed25519, self.key
        )
    }

    /// The `KEYS` line that answers `keys show <user>` with this identity.
    pub fn show_answer(&self, user: &str) -> String {
        format!("KEYS {user} {} {} - keys", self.curve25519, self.ed25519)
    }
}

/// Claims `user`'s keys at `addr` (as `claimer`), waiting for the owner's client to have published
/// them.
pub fn claim(addr: std::net::SocketAddr, claimer: (&str, &str), user: &str) -> Keys {
    let mut c = Client::log_in(addr, claimer.0, claimer.1).unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        c.say(&format!("keys claim {user}"));
        let got = c.expect("KEYS or NOKEYS", |m| {
            matches!(m, ServerMsg::Keys { .. } | ServerMsg::NoKeys { .. })
        });
        if let ServerMsg::Keys {
            curve25519,
            ed25519,
            key: Some(key),
            ..
        } = got
        {
            return Keys {
                curve25519,
                ed25519,
                key: *key,
            };
        }
        assert!(Instant::now() < deadline, "{user} never published keys");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Keys made by a real natter client logged in as `user` at a server of the attacker's (its own
/// accounts, its own directory): what a hostile server hands out as `user`'s.
pub fn forged_keys(user: &str, state_dir: &Path) -> Keys {
    const ACCOUNTS: &[(&str, &str)] = &[
        ("alice", "apw"),
        ("bob", "bpw"),
        ("carol", "cpw"),
        ("dave", "dpw"),
        ("eve", "epw"),
        ("mallory", "mpw"),
    ];
    let server = Server::cmd().accounts(ACCOUNTS).start();
    let password = ACCOUNTS.iter().find(|(u, _)| *u == user).unwrap().1;
    let mut device = Piped::login(user, password, server.port(), state_dir);
    let claimer = if user == "mallory" {
        ("eve", "epw")
    } else {
        ("mallory", "mpw")
    };
    let keys = claim(server.addr, claimer, user);
    device.send("logout");
    device.expect("Goodbye");
    keys
}

/// The safety-number line `c` shows for `with`, asked again while `with`'s client has not published
/// its keys yet (it does once the server said the account is its own, a moment after its login).
pub fn safety_line(c: &mut Piped, with: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        c.send(&format!("verify {with}"));
        let line = c.expect_any(&[
            &format!("Safety number with {with}: "),
            &format!("{with} has no encryption keys"),
        ]);
        if line.contains("Safety number") {
            return line;
        }
        assert!(Instant::now() < deadline, "{with} never published keys");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Panics if any of `secrets` crossed the relay readable, either way.
pub fn assert_unread(relay: &super::HostileRelay, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !relay.saw(s),
            "{s:?} crossed the hostile relay in clear: {:?}",
            relay
                .seen(super::Dir::Up)
                .iter()
                .chain(relay.seen(super::Dir::Down).iter())
                .filter(|l| l.contains(s))
                .collect::<Vec<_>>()
        );
    }
}

/// The five digits a safety-number or key-change line offers after `prefix` (`'/trust bob `).
pub fn digits_after(line: &str, prefix: &str) -> String {
    let rest = line
        .split(prefix)
        .nth(1)
        .unwrap_or_else(|| panic!("no {prefix:?} in {line}"));
    rest[..5].to_owned()
}
