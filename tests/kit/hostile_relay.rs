//! A relay that plays a hostile server: a TCP proxy, line by line, between a real `natter` client and
//! a real `natter-server` (both `--plaintext` on loopback), that can do to the server's lines, and to
//! the client's, whatever whoever runs the server could: drop them, rewrite them, hold them back and
//! let them go later, or inject lines of its own. It keeps everything that crossed it in both
//! directions, so a test can show that nothing readable reached it.
//!
//! Each direction has one hook, a function of the line that says what becomes of it ([`Fate`]); by
//! default every line passes. Held lines wait until [`HostileRelay::release`]. Injected lines go to
//! the newest connection (a client that logs in again gets a new one; the hooks stay).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// Which way a line goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// From the client to the server.
    Up,
    /// From the server to the client.
    Down,
}

impl Dir {
    fn index(self) -> usize {
        match self {
            Dir::Up => 0,
            Dir::Down => 1,
        }
    }
}

/// What becomes of one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    Pass,
    Drop,
    /// Sent as these lines instead (none: dropped).
    Rewrite(Vec<String>),
    /// Kept back until [`HostileRelay::release`].
    Hold,
}

type Hook = Box<dyn FnMut(&str) -> Fate + Send>;

#[derive(Default)]
struct Shared {
    hooks: [Option<Hook>; 2],
    held: [Vec<String>; 2],
    /// Every line as it reached the relay, per direction (before any rewriting).
    seen: [Vec<String>; 2],
    /// The newest connection's two writers: to the server (up) and to the client (down).
    writers: Option<[Arc<Mutex<TcpStream>>; 2]>,
}

/// A hostile relay in front of a server (see the module documentation).
pub struct HostileRelay {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl HostileRelay {
    pub fn start(server_port: u16) -> HostileRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let s = shared.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    return;
                };
                let up = Arc::new(Mutex::new(server.try_clone().unwrap()));
                let down = Arc::new(Mutex::new(client.try_clone().unwrap()));
                s.lock().unwrap().writers = Some([up.clone(), down.clone()]);
                let s1 = s.clone();
                thread::spawn(move || pump(client, up, Dir::Up, s1));
                let s2 = s.clone();
                thread::spawn(move || pump(server, down, Dir::Down, s2));
            }
        });
        HostileRelay { port, shared }
    }

    /// From now on, each line going `dir` meets `hook`.
    pub fn on(&self, dir: Dir, hook: impl FnMut(&str) -> Fate + Send + 'static) {
        self.shared.lock().unwrap().hooks[dir.index()] = Some(Box::new(hook));
    }

    /// Every line passes again.
    pub fn honest(&self, dir: Dir) {
        self.shared.lock().unwrap().hooks[dir.index()] = None;
    }

    /// Sends the lines held back going `dir`, in the order they came.
    pub fn release(&self, dir: Dir) {
        let (lines, writer) = {
            let mut s = self.shared.lock().unwrap();
            let lines = std::mem::take(&mut s.held[dir.index()]);
            let writer = s.writers.as_ref().map(|w| w[dir.index()].clone());
            (lines, writer)
        };
        if let Some(w) = writer {
            for line in lines {
                write_line(&w, &line);
            }
        }
    }

    /// How many lines going `dir` are held back.
    pub fn held(&self, dir: Dir) -> usize {
        self.shared.lock().unwrap().held[dir.index()].len()
    }

    /// Sends a line of the relay's own, going `dir` on the newest connection.
    pub fn inject(&self, dir: Dir, line: &str) {
        let writer = self
            .shared
            .lock()
            .unwrap()
            .writers
            .as_ref()
            .map(|w| w[dir.index()].clone());
        write_line(&writer.expect("a connection to inject into"), line);
    }

    /// Every line that reached the relay going `dir`, as it came.
    pub fn seen(&self, dir: Dir) -> Vec<String> {
        self.shared.lock().unwrap().seen[dir.index()].clone()
    }

    /// Whether `text` crossed the relay, either way, anywhere in a line.
    pub fn saw(&self, text: &str) -> bool {
        let s = self.shared.lock().unwrap();
        s.seen.iter().flatten().any(|l| l.contains(text))
    }
}

fn write_line(writer: &Arc<Mutex<TcpStream>>, line: &str) {
    let mut w = writer.lock().unwrap();
    let _ = w.write_all(format!("{line}\n").as_bytes());
    let _ = w.flush();
}

fn pump(from: TcpStream, to: Arc<Mutex<TcpStream>>, dir: Dir, shared: Arc<Mutex<Shared>>) {
    let mut reader = BufReader::new(from);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf)
            .trim_end_matches(['\n', '\r'])
            .to_owned();
        let fate = {
            let mut s = shared.lock().unwrap();
            s.seen[dir.index()].push(line.clone());
            match &mut s.hooks[dir.index()] {
                Some(hook) => hook(&line),
                None => Fate::Pass,
            }
        };
        match fate {
            Fate::Pass => write_line(&to, &line),
            Fate::Drop => {}
            Fate::Rewrite(lines) => {
                for l in lines {
                    write_line(&to, &l);
                }
            }
            Fate::Hold => shared.lock().unwrap().held[dir.index()].push(line),
        }
    }
    let _ = to.lock().unwrap().shutdown(std::net::Shutdown::Write);
}
