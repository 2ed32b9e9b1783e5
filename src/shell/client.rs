//! The client's runtime: the server connection, the private-chat listener and links, the terminal and
//! the clock on one side, [`ClientState`] on the other.
//!
//! Like the server's shell it moves bytes and deadlines and decides nothing. Every source (the server
//! reader, the listener, each peer link, the line editor, the signal watcher) pushes into one inbox; one
//! driver feeds the core and carries out its effects, keeping a single timer armed at the earliest
//! deadline the core asked for.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use smol::Task;
use smol::channel::{Receiver, Sender};

use super::state_file::StateFile;
use super::terminal::{Typed, Ui};
use crate::client::complete::Known;
use crate::client::display::render;
use crate::client::{
    ClientState, Config, Effect, Event, Exit, Item, LinkId, PeerEvent, ServerEvent, TimerId,
    UserEvent,
};
use crate::protocol::{Frame, LineDecoder};
use crate::time::ShellClock;
use crate::timers::Timers;

/// The longest server line the client accepts. Larger than the server's input limit, because a reply can
/// hold a whole message plus the sender's name (or a long list of users).
const MAX_SERVER_LINE: usize = 64 * 1024;

/// How long an exit waits for goodbyes to peers and the server to be written.
const FLUSH_GRACE: Duration = Duration::from_secs(1);

/// How long connecting to the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the command line decided.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub host: String,
    pub port: u16,
    /// Port for the private-chat listener; 0 lets the system choose.
    pub p2p_port: u16,
    /// Where the state file lives; `None` turns remembering off (with a warning).
    pub state_dir: Option<PathBuf>,
    /// stdin and stdout are terminals: use the line editor.
    pub interactive: bool,
    pub color: bool,
}

/// A failure before the session could start (no core yet to report it).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot find the server '{host}': {source}")]
    Resolve { host: String, source: io::Error },
    #[error("cannot connect to the server at {addr}: {source}. Is natter-server running there?")]
    Connect { addr: String, source: io::Error },
    #[error("no answer from the server at {addr} within {} s", CONNECT_TIMEOUT.as_secs())]
    ConnectTimeout { addr: String },
    #[error(
        "cannot listen for private chats on port {port}: {source}. Choose another with --p2p-port (0 picks a free one)."
    )]
    Listen { port: u16, source: io::Error },
}

/// What the tasks hand the driver.
enum Input {
    Server(ServerInput),
    Typed(Typed),
    Incoming(TcpStream),
    Peer { link: LinkId, event: PeerInput },
}

enum ServerInput {
    Line(Vec<u8>),
    TooLong,
    Closed,
}

enum PeerInput {
    Connected(TcpStream),
    ConnectFailed(String),
    Line(Vec<u8>),
    TooLong,
    Closed,
}

/// Runs the client to the end; returns the process exit status.
pub fn run(opts: ClientOptions) -> Result<i32, StartError> {
    smol::block_on(run_async(opts))
}

async fn connect(host: &str, port: u16) -> Result<TcpStream, StartError> {
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
async fn listen(port: u16) -> Result<TcpListener, StartError> {
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

async fn run_async(opts: ClientOptions) -> Result<i32, StartError> {
    let stream = connect(&opts.host, opts.port).await?;
    let _ = stream.set_nodelay(true);
    let server_key = stream
        .peer_addr()
        .map(|a| SocketAddr::new(a.ip().to_canonical(), a.port()).to_string())
        .unwrap_or_else(|_| format!("{}:{}", opts.host, opts.port));
    let listener = listen(opts.p2p_port).await?;
    let p2p_port = listener
        .local_addr()
        .map_err(|source| StartError::Listen {
            port: opts.p2p_port,
            source,
        })?
        .port();

    let (state_file, book, warnings) = StateFile::load(opts.state_dir.as_deref());
    let mut config = Config::new(p2p_port);
    config.seen = book.for_server(&server_key);

    let (tx, rx) = smol::channel::unbounded::<Input>();
    let typed_tx = tx.clone();
    let mut ui = Ui::start(
        opts.interactive,
        Box::new(move |t| {
            let _ = typed_tx.send_blocking(Input::Typed(t));
        }),
    );
    watch_signals(tx.clone());
    for w in warnings {
        ui.show(render(&Item::Warning(w), opts.color));
    }

    let (server_out, server_out_rx) = smol::channel::unbounded::<Vec<u8>>();
    let server_reader = smol::spawn(read_lines(
        stream.clone(),
        MAX_SERVER_LINE,
        tx.clone(),
        server_input,
    ));
    let server_writer = smol::spawn(write_all_from(stream, server_out_rx));
    let acceptor = smol::spawn(accept_peers(listener, tx.clone()));

    let clock = ShellClock::start();
    let mut driver = Driver {
        core: ClientState::new(config, clock.now()),
        clock,
        timers: Timers::new(),
        effects: Vec::new(),
        server_out,
        links: HashMap::new(),
        closing: Vec::new(),
        next_in: 1,
        tx,
        ui,
        color: opts.color,
        state_file,
        server_key,
        users_version: 0,
        exit: None,
        last_lines: Vec::new(),
    };
    driver.feed(Event::Server(ServerEvent::Connected));
    let exit = driver.serve(rx).await;
    drop(acceptor);
    drop(server_reader);
    driver.flush(server_writer).await;
    let Driver { ui, last_lines, .. } = driver;
    ui.finish(last_lines);
    Ok(exit.code())
}

/// SIGINT (when the terminal is not in the line editor's raw mode), SIGTERM and SIGHUP log out cleanly.
fn watch_signals(tx: Sender<Input>) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        tracing::debug!("no signal handlers; Ctrl-C will end the client abruptly");
        return;
    };
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                if tx.send_blocking(Input::Typed(Typed::Interrupt)).is_err() {
                    return;
                }
            }
        });
}

/// Splits what `stream` sends into lines of at most `max` bytes and hands each to the driver as `wrap`
/// makes it (`None` for a line over the limit), then `wrap(Closed)` once the stream ends.
async fn read_lines(
    mut stream: TcpStream,
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
enum Read {
    Line(Vec<u8>),
    TooLong,
    Closed,
}

fn server_input(r: Read) -> Input {
    Input::Server(match r {
        Read::Line(l) => ServerInput::Line(l),
        Read::TooLong => ServerInput::TooLong,
        Read::Closed => ServerInput::Closed,
    })
}

fn peer_input(link: LinkId) -> impl Fn(Read) -> Input {
    move |r| Input::Peer {
        link,
        event: match r {
            Read::Line(l) => PeerInput::Line(l),
            Read::TooLong => PeerInput::TooLong,
            Read::Closed => PeerInput::Closed,
        },
    }
}

/// Writes everything sent on `rx` until it closes, then flushes and shuts the stream down.
async fn write_all_from(mut stream: TcpStream, rx: Receiver<Vec<u8>>) -> bool {
    while let Ok(bytes) = rx.recv().await {
        if stream.write_all(&bytes).await.is_err() {
            return false;
        }
    }
    let _ = stream.flush().await;
    let _ = stream.shutdown(std::net::Shutdown::Both);
    true
}

async fn accept_peers(listener: TcpListener, tx: Sender<Input>) {
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

/// One peer link as the driver holds it.
struct LinkHandle {
    /// Lines to write; dropping the sender flushes and closes.
    out: Option<Sender<Vec<u8>>>,
    /// Connecting (outgoing, not yet connected), or writing.
    task: Option<Task<()>>,
    reader: Option<Task<()>>,
}

struct Driver {
    core: ClientState,
    clock: ShellClock,
    timers: Timers<TimerId>,
    effects: Vec<Effect>,
    server_out: Sender<Vec<u8>>,
    links: HashMap<LinkId, LinkHandle>,
    /// Writers of closed links still flushing their last lines.
    closing: Vec<Task<()>>,
    next_in: u64,
    tx: Sender<Input>,
    ui: Ui,
    color: bool,
    state_file: StateFile,
    server_key: String,
    users_version: u64,
    exit: Option<Exit>,
    /// Lines shown by the batch that decided to exit, printed after the line editor has stopped.
    last_lines: Vec<String>,
}

impl Driver {
    async fn serve(&mut self, rx: Receiver<Input>) -> Exit {
        loop {
            let deadline = self.timers.next_deadline();
            let next = async { rx.recv().await.ok() };
            let input = match deadline {
                Some(at) => {
                    let at = self.clock.instant_at(at);
                    next.or(async {
                        smol::Timer::at(at).await;
                        None
                    })
                    .await
                }
                None => next.await,
            };
            if let Some(input) = input {
                self.on_input(input);
            }
            let now = self.clock.now();
            while let Some(timer) = self.timers.pop_due(now) {
                self.feed(Event::TimerFired(timer));
            }
            if let Some(exit) = self.exit {
                return exit;
            }
        }
    }

    fn on_input(&mut self, input: Input) {
        match input {
            Input::Server(ServerInput::Line(line)) => {
                self.feed(Event::Server(ServerEvent::Line(&line)))
            }
            Input::Server(ServerInput::TooLong) => {
                self.feed(Event::Server(ServerEvent::LineTooLong))
            }
            Input::Server(ServerInput::Closed) => self.feed(Event::Server(ServerEvent::Closed)),
            Input::Typed(Typed::Line(line)) => self.feed(Event::User(UserEvent::Line(&line))),
            Input::Typed(Typed::Eof) => self.feed(Event::User(UserEvent::Eof)),
            Input::Typed(Typed::Interrupt) => self.feed(Event::User(UserEvent::Interrupt)),
            Input::Incoming(stream) => {
                let link = LinkId::In(self.next_in);
                self.next_in += 1;
                self.start_link(link, stream);
                self.feed(Event::Peer {
                    link,
                    event: PeerEvent::Incoming,
                });
            }
            Input::Peer { link, event } => {
                let event_ref = match &event {
                    PeerInput::Connected(stream) => {
                        self.start_link(link, stream.clone());
                        PeerEvent::Connected
                    }
                    PeerInput::ConnectFailed(e) => PeerEvent::ConnectFailed { error: e },
                    PeerInput::Line(l) => PeerEvent::Line(l),
                    PeerInput::TooLong => PeerEvent::LineTooLong,
                    PeerInput::Closed => {
                        // The link's tasks are done; the core decides what it means.
                        if let Some(h) = self.links.get_mut(&link) {
                            h.reader = None;
                        }
                        PeerEvent::Closed
                    }
                };
                self.feed(Event::Peer {
                    link,
                    event: event_ref,
                });
            }
        }
    }

    fn feed(&mut self, event: Event<'_>) {
        let mut effects = std::mem::take(&mut self.effects);
        self.core.handle(event, self.clock.now(), &mut effects);
        self.carry_out(&mut effects);
        self.effects = effects;
    }

    fn carry_out(&mut self, effects: &mut Vec<Effect>) {
        let exiting = effects.iter().any(|e| matches!(e, Effect::Exit(_)));
        for effect in effects.drain(..) {
            match effect {
                Effect::Send(line) => {
                    let mut bytes = line.into_bytes();
                    bytes.push(b'\n');
                    let _ = self.server_out.try_send(bytes);
                }
                Effect::Show(item) => {
                    let text = render(&item, self.color);
                    if exiting {
                        self.last_lines.push(text);
                    } else {
                        self.ui.show(text);
                    }
                }
                Effect::Read(mode) => self.ui.read(mode),
                Effect::Connect { link, addr } => self.dial(link, addr),
                Effect::PeerSend { link, line } => {
                    if let Some(out) = self.links.get(&link).and_then(|h| h.out.as_ref()) {
                        let mut bytes = line.into_bytes();
                        bytes.push(b'\n');
                        let _ = out.try_send(bytes);
                    }
                }
                Effect::PeerClose { link } => self.close_link(link),
                Effect::SetTimer { timer, at } => self.timers.set(timer, at),
                Effect::SaveSeen { user, seen } => {
                    if let Some(w) = self.state_file.save(&self.server_key, &user, seen) {
                        self.ui.show(render(&Item::Warning(w), self.color));
                    }
                }
                Effect::Exit(exit) => self.exit = Some(exit),
            }
        }
        if self.core.known_users_version() != self.users_version {
            self.users_version = self.core.known_users_version();
            let known = Known {
                users: self.core.known_users().map(|u| u.to_string()).collect(),
                groups: self.core.known_groups().map(|g| g.to_string()).collect(),
            };
            self.ui.set_completions(known);
        }
    }

    /// Starts the reader and writer of a connected link.
    fn start_link(&mut self, link: LinkId, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let (out, out_rx) = smol::channel::unbounded::<Vec<u8>>();
        let tx = self.tx.clone();
        let reader = smol::spawn(read_lines(
            stream.clone(),
            crate::protocol::p2p::MAX_LINE,
            tx.clone(),
            peer_input(link),
        ));
        let writer = smol::spawn(async move {
            if !write_all_from(stream, out_rx).await {
                let _ = tx
                    .send(Input::Peer {
                        link,
                        event: PeerInput::Closed,
                    })
                    .await;
            }
        });
        self.links.insert(
            link,
            LinkHandle {
                out: Some(out),
                task: Some(writer),
                reader: Some(reader),
            },
        );
    }

    fn dial(&mut self, link: LinkId, addr: SocketAddr) {
        let tx = self.tx.clone();
        let task = smol::spawn(async move {
            let event = match TcpStream::connect(addr).await {
                Ok(stream) => PeerInput::Connected(stream),
                Err(e) => PeerInput::ConnectFailed(format!("{addr}: {e}")),
            };
            let _ = tx.send(Input::Peer { link, event }).await;
        });
        self.links.insert(
            link,
            LinkHandle {
                out: None,
                task: Some(task),
                reader: None,
            },
        );
    }

    fn close_link(&mut self, link: LinkId) {
        let Some(mut h) = self.links.remove(&link) else {
            return;
        };
        match h.out.take() {
            // Connected: dropping the sender lets the writer flush and close; keep its task until then.
            Some(out) => {
                drop(out);
                if let Some(task) = h.task.take() {
                    self.closing.push(task);
                }
            }
            // Still connecting: dropping the task cancels the attempt.
            None => drop(h.task.take()),
        }
        drop(h.reader.take());
        self.closing.retain(|t| !t.is_finished());
    }

    /// At exit: closes every link and the server connection, waiting (boundedly) for what was queued to
    /// be written.
    async fn flush(&mut self, server_writer: Task<bool>) {
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        for link in links {
            self.close_link(link);
        }
        let (closed_tx, _) = smol::channel::unbounded();
        self.server_out = closed_tx;
        let mut writers = std::mem::take(&mut self.closing);
        let all = async {
            let _ = server_writer.await;
            for w in writers.drain(..) {
                w.await;
            }
        };
        all.or(async {
            smol::Timer::after(FLUSH_GRACE).await;
        })
        .await;
    }
}
