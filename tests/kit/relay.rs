//! A TCP relay in front of a server that records every byte in both directions, so a test can prove
//! what did, and did not, pass through it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// A TCP relay in front of the server that records every byte in both directions, so a test can prove
/// what did — and did not — pass through the server.
pub struct Relay {
    pub port: u16,
    recorded: Arc<Mutex<Vec<u8>>>,
}

/// Rewrites what clients send before it goes on (`from` replaced by `to`).
type Rewrite = Arc<Mutex<Vec<(Vec<u8>, Vec<u8>)>>>;

impl Relay {
    pub fn start(server_port: u16) -> Relay {
        Relay::start_rewriting(server_port, Arc::default())
    }

    /// A relay that also replaces, in what clients send, each `from` with its `to` (as an attacker on
    /// the path could): used to steer a private chat through another relay.
    pub fn start_rewriting(server_port: u16, rewrite: Rewrite) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let rec = recorded.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    return;
                };
                let up = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (rec_up, rewrite) = (rec.clone(), rewrite.clone());
                thread::spawn(move || pump(up.0, up.1, rec_up, rewrite));
                let rec = rec.clone();
                thread::spawn(move || pump(server, client, rec, Arc::default()));
            }
        });
        Relay { port, recorded }
    }

    /// Everything that went through, both ways.
    pub fn recorded(&self) -> String {
        String::from_utf8_lossy(&self.recorded.lock().unwrap()).into_owned()
    }

    /// The same, as bytes.
    pub fn recorded_bytes(&self) -> Vec<u8> {
        self.recorded.lock().unwrap().clone()
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, rec: Arc<Mutex<Vec<u8>>>, rewrite: Rewrite) {
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                rec.lock().unwrap().extend_from_slice(&buf[..n]);
                // (A line the clients send is written at once, so it arrives in one piece here.)
                let mut bytes = buf[..n].to_vec();
                for (a, b) in rewrite.lock().unwrap().iter() {
                    if let Some(i) = bytes.windows(a.len()).position(|w| w == a.as_slice()) {
                        bytes.splice(i..i + a.len(), b.iter().copied());
                    }
                }
                if to.write_all(&bytes).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}
