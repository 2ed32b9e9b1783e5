//! The client's driver: feeds every input to [`ClientState`] and carries out its effects: lines to the
//! server and to peers, items to the user interface, timers, the state file, peer links opened and
//! closed.

use std::collections::HashMap;
use std::net::SocketAddr;

use async_net::TcpStream;
use futures_lite::FutureExt;
use smol::Task;
use smol::channel::{Receiver, Sender};

use super::net::{read_frames, read_lines, server_input, write_all_from};
use super::transport::{self, Connected, Security};
use super::windows_file::WindowsFiles;
use super::{
    Dialled, FLUSH_GRACE, Input, MAX_SERVER_LINE, PeerInput, ServerAddr, ServerInput, StartError,
};
use crate::shell::clock::ShellClock;
use crate::shell::state_file::StateFile;
use crate::shell::ui::{Typed, Ui};
use natter_core::client::complete::Known;
use natter_core::client::screen::SavedWindows;
use natter_core::client::{
    ClientState, Effect, Event, Exit, Item, LinkId, PeerEvent, ServerEvent, UserEvent,
};
use natter_core::time::Timestamp;

/// At most this many inputs already waiting are handled before the end-to-end saves they caused are
/// committed (one sync for all of them).
const BURST: usize = 1024;

/// How long an exit waits for the last save of the windows.
const WINDOWS_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// What was kept of a user's windows (`None`: nothing), or why it could not be read.
pub(super) type WindowsRead = Result<Option<Vec<u8>>, String>;

/// One peer link as the driver holds it.
pub(super) struct LinkHandle {
    /// Lines to write; dropping the sender flushes and closes.
    out: Option<Sender<Vec<u8>>>,
    /// Connecting (outgoing, not yet connected), or writing.
    task: Option<Task<()>>,
    reader: Option<Task<()>>,
}

/// The connection to the server in use, and the attempt to make the next one.
pub(super) struct ServerConn {
    /// Lines to send; replaced with each new connection.
    pub(super) out: Sender<Vec<u8>>,
    /// Numbers the connections: input from an earlier one is stale and dropped.
    pub(super) generation: u64,
    pub(super) reader: Option<Task<()>>,
    pub(super) writer: Option<Task<bool>>,
    /// Connecting to the next server (dropping it cancels the attempt).
    pub(super) dialing: Option<Task<()>>,
}

pub(super) struct Driver {
    pub(super) core: ClientState,
    pub(super) clock: ShellClock,
    pub(super) effects: Vec<Effect>,
    pub(super) server: ServerConn,
    /// Every server the client may use, and how to connect to one.
    pub(super) servers: Vec<ServerAddr>,
    pub(super) security: Security,
    pub(super) state_dir: Option<std::path::PathBuf>,
    pub(super) links: HashMap<LinkId, LinkHandle>,
    /// Writers of closed links still flushing their last lines.
    pub(super) closing: Vec<Task<()>>,
    pub(super) next_in: u64,
    pub(super) tx: Sender<Input>,
    pub(super) ui: Ui,
    pub(super) state_file: StateFile,
    /// Whom each account ignores, kept across runs.
    pub(super) ignore_file: crate::shell::ignore_file::IgnoreFile,
    /// The end-to-end state's store, and its group commit.
    pub(super) e2e: super::e2e::E2eFiles,
    /// Stores opened by the last effects, to be answered before the next input.
    pub(super) opened: Vec<(natter_core::protocol::Name, super::e2e::Opened)>,
    /// Stores locked with a new password by the last effects, likewise.
    pub(super) rewrapped: Vec<Result<(), String>>,
    pub(super) server_key: String,
    /// The conversation logs on disk.
    pub(super) logs: super::chatlog::ChatLogs,
    /// The full-screen windows kept across restarts.
    pub(super) windows: WindowsFiles,
    /// The windows being written, off the driver: each save waits for the one before, and the
    /// last is waited for at exit.
    pub(super) windows_writing: Option<Task<()>>,
    /// What the shell itself found the user should know, said through the core (so the full-screen
    /// client shows it too) after the effects that caused it.
    pub(super) notices: Vec<String>,
    /// Windows read by the last effects, to be answered before the next input.
    pub(super) windows_loaded: Vec<(natter_core::protocol::Name, WindowsRead)>,
    pub(super) users_version: u64,
    pub(super) exit: Option<Exit>,
    /// Items shown by the batch that decided to exit, shown after the line editor has stopped.
    pub(super) last_lines: Vec<(Item, Timestamp)>,
}

impl Driver {
    pub(super) async fn serve(&mut self, rx: Receiver<Input>) -> Exit {
        loop {
            // One timer, at the core's next deadline (asked again after every input: it moves), or
            // sooner when the full-screen clock is to be redrawn.
            let deadline = self.core.poll_timeout().map(|at| self.clock.instant_at(at));
            let wake = match (deadline, self.ui.next_tick()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let next = async { rx.recv().await.ok() };
            let input = match wake {
                Some(at) => {
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
                // The rest of a burst (lines pasted or piped in, a mailbox arriving) before one
                // commit covers the end-to-end saves of all of it.
                for _ in 0..BURST {
                    let Ok(input) = rx.try_recv() else { break };
                    self.on_input(input);
                    if self.exit.is_some() {
                        break;
                    }
                }
            }
            if self
                .core
                .poll_timeout()
                .is_some_and(|at| at <= self.clock.now())
            {
                let mut effects = std::mem::take(&mut self.effects);
                self.core.handle_timeout(self.clock.now(), &mut effects);
                self.carry_out(&mut effects);
                self.effects = effects;
            }
            self.commit_e2e();
            if let Some(exit) = self.exit {
                return exit;
            }
            self.ui.draw(&self.core, self.clock.now());
        }
    }

    fn on_input(&mut self, input: Input) {
        match input {
            Input::Server { generation, .. } if generation != self.server.generation => {}
            Input::Server { input, .. } => match input {
                ServerInput::Line(line) => self.feed(Event::Server(ServerEvent::Line(&line))),
                ServerInput::TooLong => self.feed(Event::Server(ServerEvent::LineTooLong)),
                ServerInput::Closed => self.feed(Event::Server(ServerEvent::Closed)),
            },
            Input::ServerOpened { generation, .. } if generation != self.server.generation => {}
            Input::ServerOpened { result, .. } => {
                self.server.dialing = None;
                match result {
                    Ok(connected) => self.use_server(connected),
                    Err(Dialled::Failed(error)) => {
                        self.feed(Event::Server(ServerEvent::ConnectFailed { error: &error }))
                    }
                    Err(Dialled::Untrusted { error, presented }) => {
                        self.feed(Event::Server(ServerEvent::Untrusted {
                            error: &error,
                            presented: presented.as_deref(),
                        }))
                    }
                }
            }
            Input::WindowsNotSaved(why) => {
                if let Some(w) = self.windows.failed(why) {
                    tracing::warn!("{w}");
                    self.feed(Event::Notice(&w));
                }
            }
            Input::E2eSynced(result) => {
                let result = self.e2e.finish(result);
                self.committed(result);
            }
            Input::Typed(Typed::Line(line)) => self.feed(Event::User(UserEvent::Line(&line))),
            Input::Typed(Typed::Lines(lines)) => self.feed(Event::User(UserEvent::Lines(&lines))),
            Input::Typed(Typed::Key(key)) => self.feed(Event::User(UserEvent::Key(key))),
            Input::Typed(Typed::Paste(text)) => self.feed(Event::User(UserEvent::Paste(&text))),
            Input::Typed(Typed::Resize { rows }) => {
                self.feed(Event::User(UserEvent::Resize { rows }))
            }
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
                    PeerInput::Frame(f) => PeerEvent::Frame(f),
                    PeerInput::Broken => PeerEvent::Broken,
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

    pub(super) fn feed(&mut self, event: Event<'_>) {
        let mut effects = std::mem::take(&mut self.effects);
        self.core.handle(event, self.clock.now(), &mut effects);
        self.carry_out(&mut effects);
        self.effects = effects;
        while let Some((user, stored)) = self.opened.pop() {
            self.feed(Event::E2eOpened { user, stored });
        }
        while let Some(result) = self.rewrapped.pop() {
            self.feed(Event::E2eRewrapped(result));
        }
        while let Some((user, bytes)) = self.windows_loaded.pop() {
            self.feed(Event::WindowsLoaded { user, bytes });
        }
        for notice in std::mem::take(&mut self.notices) {
            self.feed(Event::Notice(&notice));
        }
    }

    /// Starts the commit of the end-to-end saves if the core asked and none is running. The commit
    /// (sealing, writing and syncing what was saved) runs on a thread of its own and comes back as
    /// an input ([`Input::E2eSynced`]): the driver goes on meanwhile; a commit with nothing to
    /// write, or one that failed at once, is answered here.
    fn commit_e2e(&mut self) {
        while self.e2e.ready() {
            match self.e2e.start() {
                Ok(Some(job)) => {
                    // (Counted by the tests that check a burst shares its syncs.)
                    tracing::debug!(parts = job.parts(), "end-to-end commit: one sync");
                    let tx = self.tx.clone();
                    smol::spawn(async move {
                        let result = smol::unblock(move || job.run()).await;
                        let _ = tx.send(Input::E2eSynced(result)).await;
                    })
                    .detach();
                }
                Ok(None) => self.feed(Event::E2eCommitted(Ok(()))),
                Err(e) => self.committed(Err(e)),
            }
        }
    }

    /// A commit's answer, for the core (and the log, if it failed).
    fn committed(&mut self, result: Result<(), String>) {
        if let Err(e) = &result {
            tracing::warn!("end-to-end state not saved: {e}");
        }
        self.feed(Event::E2eCommitted(result));
    }

    pub(super) fn carry_out(&mut self, effects: &mut Vec<Effect>) {
        let exiting = effects.iter().any(|e| matches!(e, Effect::Exit(_)));
        for effect in effects.drain(..) {
            match effect {
                Effect::Send(line) => {
                    let mut bytes = line.into_bytes();
                    bytes.push(b'\n');
                    let _ = self.server.out.try_send(bytes);
                }
                Effect::ConnectServer { index, accept_cert } => {
                    self.connect_server(index, accept_cert)
                }
                Effect::DropServer => self.drop_server(),
                Effect::Log(line) => {
                    let failed = match self.core.user() {
                        Some(user) => self.logs.write(user, &line),
                        None => None,
                    };
                    if let Some(why) = failed {
                        tracing::warn!("{why}");
                        self.ui.show(&Item::Warning(why), self.clock.now());
                    }
                }
                Effect::Show(item) => {
                    let now = self.clock.now();
                    if exiting {
                        self.last_lines.push((item, now));
                    } else {
                        self.ui.show(&item, now);
                    }
                }
                Effect::Read(mode) => self.ui.read(mode),
                Effect::Connect { link, addr } => self.dial(link, addr),
                Effect::PeerSend { link, frame } => {
                    if let Some(out) = self.links.get(&link).and_then(|h| h.out.as_ref()) {
                        let _ = out.try_send(natter_core::protocol::p2p::frame(&frame));
                    }
                }
                Effect::PeerClose { link } => self.close_link(link),
                Effect::SaveSeen { user, seen } => {
                    if let Some(w) = self.state_file.save(&self.server_key, &user, seen) {
                        self.ui.show(&Item::Warning(w), self.clock.now());
                    }
                }
                Effect::SaveIgnored { user, ignored } => {
                    if let Some(w) = self.ignore_file.save(&self.server_key, &user, &ignored) {
                        self.ui.show(&Item::Warning(w), self.clock.now());
                    }
                }
                Effect::LoadWindows { user } => {
                    let bytes = self.windows.load(&user);
                    self.windows_loaded.push((user, bytes));
                }
                Effect::SaveWindows { user, windows } => self.save_windows(&user, windows),
                Effect::SetAsideWindows { user } => {
                    if let Some(w) = self.windows.set_aside(&user) {
                        tracing::warn!("{w}");
                        self.notices.push(w);
                    }
                }
                Effect::SaveE2e { user, part, bytes } => self.e2e.write(&user, part, bytes, false),
                Effect::AppendE2e { user, part, bytes } => self.e2e.write(&user, part, bytes, true),
                Effect::CommitE2e => self.e2e.ask(),
                Effect::OpenE2e {
                    user,
                    password,
                    how,
                } => {
                    let stored = self.e2e.open(
                        self.state_dir.as_ref(),
                        &self.server_key,
                        &user,
                        &password,
                        &how,
                    );
                    // Before anything else comes in: what follows may need the device.
                    self.opened.push((user, stored));
                }
                Effect::RewrapE2e {
                    user,
                    previous,
                    password,
                } => {
                    let result = match &self.state_dir {
                        None => Ok(()),
                        Some(dir) => crate::shell::e2e_store::rewrap(
                            dir,
                            &self.server_key,
                            &user,
                            &previous,
                            &password,
                        ),
                    };
                    if let Err(e) = &result {
                        tracing::warn!("end-to-end keys not locked with the new password: {e}");
                    }
                    self.rewrapped.push(result);
                }
                Effect::Exit(exit) => self.exit = Some(exit),
            }
        }
        if self.core.known_users_version() != self.users_version {
            self.users_version = self.core.known_users_version();
            let known = Known {
                users: self.core.known_users().map(|u| u.to_string()).collect(),
                groups: self.core.known_groups().map(|g| g.to_string()).collect(),
                ..Known::default()
            };
            self.ui.set_completions(known);
        }
    }

    /// Encodes and writes `windows` as `user`'s, off the driver (a busy screen's can be a few
    /// megabytes), after the write before it: two writes never race for one file.
    fn save_windows(&mut self, user: &natter_core::protocol::Name, windows: SavedWindows) {
        let Some(path) = self.windows.path(user) else {
            return;
        };
        let before = self.windows_writing.take();
        let tx = self.tx.clone();
        self.windows_writing = Some(smol::spawn(async move {
            if let Some(before) = before {
                before.await;
            }
            let written = smol::unblock(move || WindowsFiles::write(&path, &windows.encode()));
            if let Err(why) = written.await {
                let _ = tx.send(Input::WindowsNotSaved(why)).await;
            }
        }));
    }

    /// Makes `connected` the server connection: its reader and writer start, numbered as the current
    /// generation, and the core is told, with whether the server proved who it is.
    pub(super) fn use_server(&mut self, connected: Connected) {
        for notice in &connected.notices {
            self.feed(Event::Notice(notice));
        }
        let verified = connected.verified;
        let (out, out_rx) = smol::channel::unbounded::<Vec<u8>>();
        self.server.out = out;
        self.server.reader = Some(smol::spawn(read_lines(
            connected.reader,
            MAX_SERVER_LINE,
            self.tx.clone(),
            server_input(self.server.generation),
        )));
        self.server.writer = Some(smol::spawn(write_all_from(connected.writer, out_rx)));
        self.feed(Event::Server(if verified {
            ServerEvent::ConnectedVerified
        } else {
            ServerEvent::Connected
        }));
    }

    /// Forgets the current server connection (closing it) and any attempt under way.
    fn drop_server(&mut self) {
        self.server.generation += 1;
        self.server.reader = None;
        self.server.writer = None;
        self.server.dialing = None;
        let (closed, _) = smol::channel::unbounded();
        self.server.out = closed;
    }

    /// Connects to server `index` in the background, accepting the certificate `accept_cert` in
    /// place of the one pinned; the outcome comes back as `ServerOpened`.
    fn connect_server(&mut self, index: usize, accept_cert: Option<String>) {
        self.drop_server();
        let Some(addr) = self.servers.get(index).cloned() else {
            let error = format!("there is no server number {index}");
            return self.feed(Event::Server(ServerEvent::ConnectFailed { error: &error }));
        };
        let generation = self.server.generation;
        let mut security = self.security.clone();
        if let (Security::Tls { accept_new, .. }, Some(fp)) = (&mut security, accept_cert) {
            *accept_new = Some(fp);
        }
        let state_dir = self.state_dir.clone();
        let tx = self.tx.clone();
        let cluster = self.servers.clone();
        self.server.dialing = Some(smol::spawn(async move {
            let result = transport::open(
                &addr.host,
                addr.port,
                &security,
                state_dir.as_deref(),
                &cluster,
            )
            .await
            .map_err(|e| match e {
                StartError::CertificateChanged { ref presented, .. } => Dialled::Untrusted {
                    presented: Some(presented.clone()),
                    error: e.to_string(),
                },
                StartError::Untrusted { .. } => Dialled::Untrusted {
                    presented: None,
                    error: e.to_string(),
                },
                other => Dialled::Failed(other.to_string()),
            });
            let _ = tx.send(Input::ServerOpened { generation, result }).await;
        }));
    }

    /// Starts the reader and writer of a connected link.
    fn start_link(&mut self, link: LinkId, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let (out, out_rx) = smol::channel::unbounded::<Vec<u8>>();
        let tx = self.tx.clone();
        let reader = smol::spawn(read_frames(stream.clone(), link, tx.clone()));
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
    pub(super) async fn flush(&mut self) {
        // The windows as they were at the end, so the next start has them (a disk that hangs is
        // given a bound: the terminal is given back all the same).
        if let Some(writing) = self.windows_writing.take() {
            let done = async {
                writing.await;
                true
            };
            let in_time = done
                .or(async {
                    smol::Timer::after(WINDOWS_GRACE).await;
                    false
                })
                .await;
            if !in_time {
                tracing::warn!("the windows were not written within {WINDOWS_GRACE:?}");
            }
        }
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        for link in links {
            self.close_link(link);
        }
        let (closed_tx, _) = smol::channel::unbounded();
        self.server.out = closed_tx;
        self.server.reader = None;
        self.server.dialing = None;
        let server_writer = self.server.writer.take();
        let mut writers = std::mem::take(&mut self.closing);
        let all = async {
            if let Some(w) = server_writer {
                let _ = w.await;
            }
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
