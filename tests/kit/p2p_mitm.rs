//! A server that attacks its own users' private chats, as one could: it brokers them, so it knows
//! the token, and it tells each client where the other is, so it can put itself in between.
//!
//! It sits in front of the real server (clients connect to [`P2pMitm::port`]) and passes every line
//! on, except that `PRIVATE-ACCEPTED <peer> <ip:port> <token>` is rewritten to send the requester to
//! the attacker's own listener. There it completes the Noise handshake as the peer (it has the token),
//! connects to the real peer and completes another as the requester, and relays the lines of the two
//! sessions, reading them all ([`P2pMitm::read`]). What it does with the identity proofs (`ID`
//! lines) is the attack ([`ProofAttack`]). Plain text between clients and server (tests run the
//! clients with `--plaintext`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use natter_core::client::noise::{self, Secure};
use natter_core::protocol::Token;
use natter_core::protocol::p2p::{PeerMsg, frame, handshake_payload};

/// Makes an `ID` line as `user` over a session with this handshake hash.
pub type MakeProof = Arc<dyn Fn(&str, &[u8]) -> String + Send + Sync>;

/// A private chat the server brokered: (requester, peer, the peer's real address, token).
type Brokered = Arc<Mutex<Vec<(String, String, String, Token)>>>;

/// What the attacker does with the identity proofs.
#[derive(Clone)]
pub enum ProofAttack {
    /// Drops them: each side hears no proof at all (what fooled clients that took a missing proof
    /// for a client without keys).
    Drop,
    /// Passes each side's proof on as it is, to the other session (whose handshake hash it does not
    /// sign).
    Forward,
    /// Replaces each with a proof of its own, made with real keys it holds for both names (a device
    /// of each user's name it made itself): valid signatures over its sessions, by keys that are not
    /// the users' own. `line(user, handshake_hash)` makes the `ID` line.
    Substitute(MakeProof),
}

/// The attacking server: see the module documentation.
pub struct P2pMitm {
    /// Where clients connect, as to the server.
    pub port: u16,
    /// Every line the attacker could read inside the private chats it sat in, both ways.
    read: Arc<Mutex<Vec<String>>>,
    /// How many private chats it got itself into the middle of.
    hijacked: Arc<Mutex<u32>>,
}

impl P2pMitm {
    pub fn start(server_port: u16, attack: ProofAttack) -> P2pMitm {
        let p2p = TcpListener::bind("127.0.0.1:0").unwrap();
        let p2p_port = p2p.local_addr().unwrap().port();
        let read = Arc::new(Mutex::new(Vec::new()));
        let hijacked = Arc::new(Mutex::new(0));
        let brokered: Brokered = Arc::default();

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let b = brokered.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    return;
                };
                let user = Arc::new(Mutex::new(String::new()));
                let (c, s) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let u = user.clone();
                thread::spawn(move || client_to_server(c, s, u));
                let b = b.clone();
                thread::spawn(move || server_to_client(server, client, user, b, p2p_port));
            }
        });

        let (r, h) = (read.clone(), hijacked.clone());
        thread::spawn(move || {
            for requester in p2p.incoming() {
                let Ok(requester) = requester else { return };
                let (b, r, h, attack) = (brokered.clone(), r.clone(), h.clone(), attack.clone());
                thread::spawn(move || {
                    let _ = hijack(requester, &b, &r, &h, &attack);
                });
            }
        });
        P2pMitm {
            port,
            read,
            hijacked,
        }
    }

    /// Every line the attacker read inside the private chats.
    pub fn read(&self) -> Vec<String> {
        self.read.lock().unwrap().clone()
    }

    /// How many private chats it sat in the middle of (both handshakes completed).
    pub fn hijacked(&self) -> u32 {
        *self.hijacked.lock().unwrap()
    }
}

/// Client to server, unchanged; the first line (the username answering the server's prompt) says
/// whose connection it is.
fn client_to_server(from: TcpStream, mut to: TcpStream, user: Arc<Mutex<String>>) {
    let mut lines = BufReader::new(from);
    let mut line = String::new();
    while matches!(lines.read_line(&mut line), Ok(n) if n > 0) {
        {
            let mut u = user.lock().unwrap();
            if u.is_empty() {
                *u = line.trim().to_owned();
            }
        }
        if to.write_all(line.as_bytes()).is_err() {
            break;
        }
        line.clear();
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// Server to client, with the requester of each private chat sent to the attacker.
fn server_to_client(
    from: TcpStream,
    mut to: TcpStream,
    user: Arc<Mutex<String>>,
    brokered: Brokered,
    p2p_port: u16,
) {
    let mut lines = BufReader::new(from);
    let mut line = String::new();
    while matches!(lines.read_line(&mut line), Ok(n) if n > 0) {
        let words: Vec<&str> = line.trim_end().split(' ').collect();
        let out = match words[..] {
            // (A text for people follows the fields: kept as it is.)
            ["PRIVATE-ACCEPTED", peer, addr, token, ..] => {
                let t = Token(u128::from_str_radix(token, 16).unwrap());
                let requester = user.lock().unwrap().clone();
                brokered
                    .lock()
                    .unwrap()
                    .push((requester, peer.into(), addr.into(), t));
                line.replacen(addr, &format!("127.0.0.1:{p2p_port}"), 1)
            }
            _ => line.clone(),
        };
        if to.write_all(out.as_bytes()).is_err() {
            break;
        }
        line.clear();
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut body)?;
    Ok(body)
}

/// One requester connected to the attacker: a session with it as the peer, another with the peer as
/// the requester, and the lines relayed between them.
fn hijack(
    mut requester: TcpStream,
    brokered: &Brokered,
    read: &Arc<Mutex<Vec<String>>>,
    hijacked: &Mutex<u32>,
    attack: &ProofAttack,
) -> std::io::Result<()> {
    requester.set_read_timeout(Some(Duration::from_secs(60)))?;
    let first = read_frame(&mut requester)?;
    // Which brokered chat is this? The one whose token and names the handshake authenticates under.
    let chats = brokered.lock().unwrap().clone();
    let Some((a, b, addr, token, received)) = chats.into_iter().find_map(|(a, b, addr, t)| {
        let (received, _) = noise::receive(t, &a, &b, [7; 32], &first).ok()?;
        Some((a, b, addr, t, received))
    }) else {
        return Ok(());
    };
    let (with_a, answer) = received
        .answer(&handshake_payload(&PeerMsg::Ok { user: &b }))
        .map_err(std::io::Error::other)?;
    requester.write_all(&frame(&answer))?;

    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let addr = std::net::SocketAddr::new(addr.ip().to_canonical(), addr.port());
    let mut peer = TcpStream::connect(addr)?;
    peer.set_read_timeout(Some(Duration::from_secs(60)))?;
    let hello = handshake_payload(&PeerMsg::Hello { user: &a });
    let (initiated, first) =
        noise::initiate(token, &a, &b, [8; 32], &hello).map_err(std::io::Error::other)?;
    peer.write_all(&frame(&first))?;
    let (with_b, _) = initiated
        .finish(&read_frame(&mut peer)?)
        .map_err(std::io::Error::other)?;
    *hijacked.lock().unwrap() += 1;

    let with_a = Arc::new(Mutex::new(with_a));
    let with_b = Arc::new(Mutex::new(with_b));
    let hash_a = with_a.lock().unwrap().handshake_hash().to_vec();
    let hash_b = with_b.lock().unwrap().handshake_hash().to_vec();
    // Toward the peer, the attacker claims to be the requester; toward the requester, the peer.
    let up = Side {
        from: requester.try_clone()?,
        from_session: with_a.clone(),
        to: peer.try_clone()?,
        to_session: with_b.clone(),
        impersonate: a.clone(),
        hash: hash_b,
    };
    let down = Side {
        from: peer,
        from_session: with_b,
        to: requester,
        to_session: with_a,
        impersonate: b,
        hash: hash_a,
    };
    let (r, at) = (read.clone(), attack.clone());
    let t = thread::spawn(move || up.relay(&r, &at));
    down.relay(read, attack);
    let _ = t.join();
    Ok(())
}

/// One direction of the relay between the attacker's two sessions.
struct Side {
    from: TcpStream,
    from_session: Arc<Mutex<Secure>>,
    to: TcpStream,
    to_session: Arc<Mutex<Secure>>,
    /// Who the attacker claims to be on the receiving session.
    impersonate: String,
    /// That session's handshake hash (what a proof on it must sign).
    hash: Vec<u8>,
}

impl Side {
    fn relay(mut self, read: &Mutex<Vec<String>>, attack: &ProofAttack) {
        while let Ok(sealed) = read_frame(&mut self.from) {
            let Ok(plain) = self.from_session.lock().unwrap().open(&sealed) else {
                break;
            };
            let line = String::from_utf8_lossy(&plain).into_owned();
            read.lock().unwrap().push(line.clone());
            let pass = if line.starts_with("ID ") {
                match attack {
                    ProofAttack::Drop => None,
                    ProofAttack::Forward => Some(line),
                    ProofAttack::Substitute(make) => Some(make(&self.impersonate, &self.hash)),
                }
            } else {
                Some(line)
            };
            if let Some(line) = pass {
                let sealed = self.to_session.lock().unwrap().seal(line.as_bytes());
                if self.to.write_all(&frame(&sealed)).is_err() {
                    break;
                }
            }
        }
        let _ = self.to.shutdown(std::net::Shutdown::Both);
    }
}
