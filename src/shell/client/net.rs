//! The client's sockets: connecting to the server, the private-chat listener, and the tasks that read
//! lines from and write bytes to a stream, each feeding the driver's inbox.

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, FutureExt};
use smol::channel::{Receiver, Sender};

use super::{CONNECT_TIMEOUT, Input, PeerInput, ServerInput, StartError};
use natter_core::client::LinkId;
use natter_core::protocol::p2p::{FrameDecoder, PeerFrame};
use natter_core::protocol::{Frame, LineDecoder};

pub(super) async fn connect(host: &str, port: u16) -> Result<TcpStream, StartError> {
    let addrs = async_net::resolve((host, port))
        .await
        .map_err(|source| StartError::Resolve {
            host: host.to_owned(),
            source,
        })?;
    let shown = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut last = None;
    for addr in addrs {
        let attempt = async { Some(TcpStream::connect(addr).await) }
            .or(async {
                smol::Timer::after(CONNECT_TIMEOUT).await;
                None
            })
            .await;
        match attempt {
            Some(Ok(s)) => return Ok(s),
            Some(Err(e)) => last = Some(e),
            None => {
                return Err(StartError::ConnectTimeout { addr: shown });
            }
        }
    }
    Err(StartError::Connect {
        addr: shown,
        source: last.unwrap_or_else(|| io::Error::other("no address")),
    })
}

/// The private-chat listener: every interface, IPv6 with IPv4 mapped where the system allows, else IPv4.
pub(super) async fn listen(port: u16) -> Result<TcpListener, StartError> {
    let mut last = None;
    for ip in [
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        IpAddr::from([0, 0, 0, 0]),
    ] {
        match TcpListener::bind(SocketAddr::new(ip, port)).await {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(StartError::Listen {
        port,
        source: last.unwrap_or_else(|| io::Error::other("no address")),
    })
}

/// Splits what `stream` sends into lines of at most `max` bytes and hands each to the driver as `wrap`
/// makes it (`None` for a line over the limit), then `wrap(Closed)` once the stream ends.
pub(super) async fn read_lines(
    mut stream: impl AsyncRead + Unpin,
    max: usize,
    tx: Sender<Input>,
    wrap: impl Fn(Read) -> Input,
) {
    let mut decoder = LineDecoder::new(max);
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut batch = Vec::new();
        decoder.feed(&buf[..n], |frame| {
            batch.push(match frame {
                Frame::Line(l) => Read::Line(l.to_vec()),
                Frame::TooLong => Read::TooLong,
            })
        });
        for item in batch {
            if tx.send(wrap(item)).await.is_err() {
                return;
            }
        }
    }
    let _ = tx.send(wrap(Read::Closed)).await;
}

/// One thing a reader found.
pub(super) enum Read {
    Line(Vec<u8>),
    TooLong,
    Closed,
}

/// What the reader of server connection number `generation` hands the driver.
pub(super) fn server_input(generation: u64) -> impl Fn(Read) -> Input {
    move |r| Input::Server {
        generation,
        input: match r {
            Read::Line(l) => ServerInput::Line(l),
            Read::TooLong => ServerInput::TooLong,
            Read::Closed => ServerInput::Closed,
        },
    }
}

/// Splits what a peer sends into frames (see [`natter_core::protocol::p2p`]) and hands each to the driver,
/// then `Closed` once the stream ends.
pub(super) async fn read_frames(
    mut stream: impl AsyncRead + Unpin,
    link: LinkId,
    tx: Sender<Input>,
) {
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut batch = Vec::new();
        decoder.feed(&buf[..n], |frame| {
            batch.push(match frame {
                PeerFrame::Frame(f) => PeerInput::Frame(f.to_vec()),
                PeerFrame::Broken => PeerInput::Broken,
            })
        });
        for event in batch {
            if tx.send(Input::Peer { link, event }).await.is_err() {
                return;
            }
        }
    }
    let _ = tx
        .send(Input::Peer {
            link,
            event: PeerInput::Closed,
        })
        .await;
}

/// Lines queued together are written together, up to about this many bytes at a time.
const COALESCE: usize = 64 * 1024;

/// Writes everything sent on `rx` until it closes, then flushes and shuts the stream down.
pub(super) async fn write_all_from(
    mut stream: impl AsyncWrite + Unpin,
    rx: Receiver<Vec<u8>>,
) -> bool {
    while let Ok(mut bytes) = rx.recv().await {
        // What else is queued already goes in the same write (a burst's lines: one system call,
        // one TLS record, rather than one per line).
        while bytes.len() < COALESCE {
            let Ok(more) = rx.try_recv() else { break };
            bytes.extend_from_slice(&more);
        }
        if stream.write_all(&bytes).await.is_err() {
            return false;
        }
    }
    let _ = stream.flush().await;
    // Ends the sending side (after TLS's close_notify, on a TLS stream).
    let _ = stream.close().await;
    true
}

pub(super) async fn accept_peers(listener: TcpListener, tx: Sender<Input>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if tx.send(Input::Incoming(stream)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!("private-chat listener: {e}");
                smol::Timer::after(Duration::from_millis(50)).await;
            }
        }
    }
}
