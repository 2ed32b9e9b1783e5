//! A blocking client speaking the wire protocol, for tests that talk to the server line by line.
//!
//! Two styles over one connection: methods that return `io::Result` (`send`, `recv`, `ask`,
//! [`Client::log_in`]...), for tests that expect the server to vanish under them (crashes, failures),
//! and methods that panic with what was seen (`say`, `next`, `expect`, `login`...), for tests where any
//! failure to talk is the test failing.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use natter_core::protocol::{Prompt, ServerMsg, decode_line};

use super::PATIENCE;

pub struct Client {
    /// The connection (for tests that set its options or shut it down).
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn try_connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
        stream.set_read_timeout(Some(PATIENCE))?;
        stream.set_write_timeout(Some(PATIENCE))?;
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            stream,
        })
    }

    pub fn connect(addr: SocketAddr) -> Client {
        Client::try_connect(addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"))
    }

    /// Connects and logs in; fails unless the login ends in a welcome.
    pub fn log_in(addr: SocketAddr, user: &str, password: &str) -> io::Result<Client> {
        let mut c = Client::try_connect(addr)?;
        let got = c.attempt_login(user, password)?;
        if got.iter().any(|m| matches!(m, ServerMsg::Welcome { .. })) {
            Ok(c)
        } else {
            Err(io::Error::other(format!("login of {user} failed: {got:?}")))
        }
    }

    /// Sends a username and password and reads until a welcome, or until the server says goodbye.
    pub fn attempt_login(&mut self, user: &str, password: &str) -> io::Result<Vec<ServerMsg>> {
        self.send(user)?;
        self.send(password)?;
        let mut got = Vec::new();
        loop {
            let m = match self.recv() {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !got.is_empty() => {
                    return Ok(got);
                }
                Err(e) => return Err(e),
            };
            let done = matches!(m, ServerMsg::Welcome { .. } | ServerMsg::Bye(_));
            got.push(m);
            if done {
                return Ok(got);
            }
        }
    }

    /// A second handle on the same connection, for reading replies on another thread. Lines already
    /// buffered by this one stay here.
    pub fn try_clone_reader(&self) -> io::Result<Client> {
        Ok(Client {
            reader: BufReader::new(self.stream.try_clone()?),
            stream: self.stream.try_clone()?,
        })
    }

    pub fn send(&mut self, line: &str) -> io::Result<()> {
        self.stream.write_all(format!("{line}\n").as_bytes())
    }

    /// The next line from the server, decoded. End of stream is `UnexpectedEof`.
    pub fn recv(&mut self) -> io::Result<ServerMsg> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\n', '\r']);
        decode_line(line).map_err(|e| io::Error::other(format!("{e}: {line:?}")))
    }

    /// Reads lines until one matches `last` (included).
    pub fn recv_until(
        &mut self,
        mut last: impl FnMut(&ServerMsg) -> bool,
    ) -> io::Result<Vec<ServerMsg>> {
        let mut got = Vec::new();
        loop {
            let m = self.recv()?;
            let done = last(&m);
            got.push(m);
            if done {
                return Ok(got);
            }
        }
    }

    /// Sends `line` and reads up to the reply that `last` recognises.
    pub fn ask(
        &mut self,
        line: &str,
        last: impl FnMut(&ServerMsg) -> bool,
    ) -> io::Result<Vec<ServerMsg>> {
        self.send(line)?;
        self.recv_until(last)
    }

    // --- the panicking style ---

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends one line; panics if the connection is gone.
    pub fn say(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    /// The next raw line, without its newline; `None` at end of stream.
    pub fn next_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line.trim_end_matches('\n').to_owned()),
            Err(e) => panic!("no line from the server within {PATIENCE:?}: {e}"),
        }
    }

    /// The next line, decoded. Panics at end of stream.
    pub fn next(&mut self) -> ServerMsg {
        let line = self.next_line().expect("server closed the connection");
        decode_line(&line).unwrap_or_else(|e| panic!("undecodable line {line:?}: {e}"))
    }

    /// Reads lines until one satisfies `want`, returning it; panics (listing what came) otherwise.
    pub fn expect(&mut self, what: &str, want: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            let Some(line) = self.next_line() else {
                panic!("closed while waiting for {what}; saw {seen:#?}");
            };
            let msg = decode_line(&line).unwrap_or_else(|e| panic!("undecodable {line:?}: {e}"));
            if want(&msg) {
                return msg;
            }
            seen.push(msg);
        }
        panic!("no {what} within {PATIENCE:?}; saw {seen:#?}");
    }

    /// Reads until the server closes the connection, returning what came.
    pub fn until_closed(&mut self) -> Vec<ServerMsg> {
        let mut v = Vec::new();
        while let Some(line) = self.next_line() {
            v.push(decode_line(&line).unwrap());
        }
        v
    }

    /// Answers the prompts and waits for the welcome; panics otherwise.
    pub fn login(&mut self, user: &str, password: &str) {
        self.expect("username prompt", |m| {
            matches!(m, ServerMsg::Prompt(Prompt::Username))
        });
        self.say(user);
        self.expect("password prompt", |m| {
            matches!(m, ServerMsg::Prompt(Prompt::Password))
        });
        self.say(password);
        self.expect("welcome", |m| matches!(m, ServerMsg::Welcome { .. }));
    }
}
