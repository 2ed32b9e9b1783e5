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

impl Relay {
    pub fn start(server_port: u16) -> Relay {
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
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let rec = rec.clone();
                    thread::spawn(move || pump(from, to, rec));
                }
            }
        });
        Relay { port, recorded }
    }

    /// Everything that went through, both ways.
    pub fn recorded(&self) -> String {
        String::from_utf8_lossy(&self.recorded.lock().unwrap()).into_owned()
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, rec: Arc<Mutex<Vec<u8>>>) {
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                rec.lock().unwrap().extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}
