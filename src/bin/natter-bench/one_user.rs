//! Blocking connections for the flood and mailbox runs: one per user, each from a loopback address of
//! its own, and logged in.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::proto::{password, user_name};

/// Connects `user` to `addr`: from an address of its own when the server is on IPv4 loopback (all of
/// 127/8 is this host), so that the users are several hosts to the server, as they would be, and the
/// limits per address (a few users' worth) hold the flooder alone, not everyone with it.
pub(crate) fn connect(addr: SocketAddr, user: u32) -> Result<TcpStream> {
    let stream = match addr.ip() {
        std::net::IpAddr::V4(v4) if v4.is_loopback() => {
            let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
            let [a, b] = u16::try_from(2 + user % 60_000).unwrap_or(2).to_be_bytes();
            let source = std::net::Ipv4Addr::new(127, 1, a, b);
            socket.bind(&SocketAddr::new(source.into(), 0).into())?;
            socket.connect(&addr.into())?;
            TcpStream::from(socket)
        }
        _ => TcpStream::connect(addr)?,
    };
    Ok(stream)
}

/// Connects and logs `user` in, returning the stream once the welcome line arrived.
pub(crate) fn login(addr: SocketAddr, user: u32) -> Result<(TcpStream, BufReader<TcpStream>)> {
    let stream = connect(addr, user).with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut w = stream.try_clone()?;
    // The victim reads and never acknowledges: it says so, so the server does not keep its messages.
    write!(w, "{}\n{}\nacks off\n", user_name(user), password(user))?;
    let mut r = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            bail!("{} was not logged in: connection closed", user_name(user));
        }
        if line.starts_with("WELCOME") {
            return Ok((stream, r));
        }
        if line.starts_with("ERROR") || line.starts_with("BYE") {
            bail!("{} was not logged in: {}", user_name(user), line.trim_end());
        }
    }
}
