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
}

impl Redis {
    /// Starts one, or returns `None` (after saying why) when `redis-server` is not installed and not
    /// required.
    pub fn start() -> Option<Redis> {
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
        };
        r.run();
        Some(r)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
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
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
            .args(["--appendfsync", "always", "--protected-mode", "yes"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + super::PATIENCE;
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 64];
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read(&mut buf)
                        .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
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
