//! A Redis server of the test's own: `redis-server` on a free loopback port, in a temporary directory,
//! with the append-only file synced on every write (as cluster mode needs), stopped when dropped.
//!
//! Without `redis-server` on the machine the tests that need it say so and pass without running, so
//! `cargo test` works on a fresh machine; CI installs Redis and sets `NATTER_REQUIRE_REDIS=1`, which
//! turns a missing `redis-server` into a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

pub struct Redis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    /// More of `redis-server`'s flags (passwords, ACL users).
    extra: Vec<String>,
    /// Speaking TLS only, with a certificate signed by the CA in `dir/ca.pem`.
    tls: bool,
}

impl Redis {
    /// Starts one, or returns `None` (after saying why) when `redis-server` is not installed and not
    /// required.
    pub fn start() -> Option<Redis> {
        Redis::start_with(&[], false)
    }

    /// Starts one with more flags (`--requirepass PW`, `--user "natter on >PW ..."`), speaking TLS
    /// only if `tls` (its certificate, for `127.0.0.1` and `localhost`, is signed by a CA of the
    /// test's: [`Self::ca`]).
    pub fn start_with(extra: &[&str], tls: bool) -> Option<Redis> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                std::env::var_os("NATTER_REQUIRE_REDIS").is_none(),
                "redis-server is not installed (apt-get install redis-server), and NATTER_REQUIRE_REDIS is set"
            );
            eprintln!("SKIPPED: redis-server is not installed (apt-get install redis-server)");
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        // As README asks of a real deployment: its append-only file holds every message.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut r = Redis {
            child: None,
            port: free_port(),
            dir,
            _tmp: Some(tmp),
            extra: extra.iter().map(|a| a.to_string()).collect(),
            tls,
        };
        if tls {
            r.make_certificates();
        }
        r.run();
        Some(r)
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The URL with a user (empty: the default user) and password.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        self.url()
            .replacen("://", &format!("://{user}:{password}@"), 1)
    }

    /// The CA that signed a TLS Redis's certificate (PEM).
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A CA and a certificate it signs for this Redis, in its directory.
    fn make_certificates(&self) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "natter test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        std::fs::write(self.ca(), ca.pem()).unwrap();
        std::fs::write(self.dir.join("redis.pem"), cert.pem()).unwrap();
        std::fs::write(self.dir.join("redis.key"), key.serialize_pem()).unwrap();
    }

    /// [`Self::url`], read as a node reads it.
    pub fn endpoint(&self) -> natter::shell::cluster::Endpoint {
        natter::shell::cluster::Endpoint::parse(&self.url(), None).unwrap()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts `redis-server` on this port and directory and waits until it answers.
    fn run(&mut self) {
        let mut cmd = Command::new("redis-server");
        if self.tls {
            let file = |name: &str| self.dir.join(name).to_str().unwrap().to_owned();
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string()])
                .args(["--tls-cert-file", &file("redis.pem")])
                .args(["--tls-key-file", &file("redis.key")])
                .args(["--tls-ca-cert-file", &file("ca.pem")])
                .args(["--tls-auth-clients", "no"]);
        } else {
            cmd.args(["--port", &self.port.to_string()]);
        }
        let child = cmd
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
            .args(["--appendfsync", "always", "--protected-mode", "yes"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + super::PATIENCE;
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                // Redis listens once it is ready; over TLS, that is all that can be seen here.
                if self.tls {
                    return;
                }
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 64];
                // An answer, +PONG or -NOAUTH (a password is asked for): it serves.
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read(&mut buf).is_ok_and(|n| {
                        buf[..n].starts_with(b"+PONG") || buf[..n].starts_with(b"-NOAUTH")
                    })
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not answer on port {}", self.port);
    }

    /// `kill -9`: whatever it acknowledged must be in its append-only file.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and directory (after [`Self::kill9`]).
    pub fn restart(&mut self) {
        self.kill9();
        self.run();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill9();
    }
}
