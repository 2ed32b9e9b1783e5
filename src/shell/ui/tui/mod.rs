//! The full-screen client (`natter --tui`): ratatui over crossterm, on a thread of its own.
//!
//! [`app`] holds the state (windows, online list, input line) and what each key does; [`draw`] draws it;
//! [`windows`] says which window each thing goes in; [`editor`] is the input line. This module only runs
//! them: it reads the terminal's events, takes what the driver sends (items to show, what to read,
//! completions), draws, and hands typed lines back, as line mode does.
//!
//! The terminal is put back on every way out: a normal exit (logout, a kick by the server, a lost
//! server, Ctrl-C) through [`TuiUi::finish`], and a panic through ratatui's panic hook. If this thread
//! ends any other way, the driver is told as if the user had pressed Ctrl-C, so the client logs out
//! rather than hang without a screen.

mod app;
mod draw;
mod editor;
mod windows;

pub use app::{Action, App, Key};
pub use draw::draw;
pub use windows::WindowKey;

use std::io::Write;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{Typed, TypedSink, UiOptions, history_file, line_text};
use crate::client::complete::Known;
use crate::client::{InputMode, Item};
use crate::time::Timestamp;

/// What the driver sends the full-screen thread.
enum UiMsg {
    Show(Item, Timestamp),
    Read(InputMode),
    Known(Known),
    Finish(Vec<(Item, Timestamp)>, mpsc::SyncSender<()>),
}

pub struct TuiUi {
    tx: mpsc::Sender<UiMsg>,
}

/// How often the screen is redrawn when nothing happens (the clock in the status bar, the idle
/// countdown).
const TICK: Duration = Duration::from_millis(250);

impl TuiUi {
    pub(super) fn start(sink: TypedSink, opts: UiOptions) -> Result<TuiUi, (TypedSink, String)> {
        let terminal = match ratatui::try_init() {
            Ok(t) => t,
            Err(e) => {
                ratatui::restore();
                return Err((sink, e.to_string()));
            }
        };
        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name("screen".into())
            .spawn(move || run(terminal, rx, sink, opts))
            .expect("starting the screen thread");
        Ok(TuiUi { tx })
    }

    pub(super) fn show(&mut self, item: &Item, at: Timestamp) {
        let _ = self.tx.send(UiMsg::Show(item.clone(), at));
    }

    pub(super) fn read(&mut self, mode: InputMode) {
        let _ = self.tx.send(UiMsg::Read(mode));
    }

    pub(super) fn set_completions(&mut self, known: Known) {
        let _ = self.tx.send(UiMsg::Known(known));
    }

    pub(super) fn finish(self, last: Vec<(Item, Timestamp)>) {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        if self.tx.send(UiMsg::Finish(last, done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(Duration::from_secs(3));
        }
    }
}

/// Tells the driver the screen is gone if the thread ends without a `Finish` (a panic, say).
struct Gone {
    sink: TypedSink,
    finished: bool,
}

impl Drop for Gone {
    fn drop(&mut self) {
        if !self.finished {
            (self.sink)(Typed::Interrupt);
        }
    }
}

fn run(
    mut terminal: ratatui::DefaultTerminal,
    rx: mpsc::Receiver<UiMsg>,
    sink: TypedSink,
    opts: UiOptions,
) {
    let mut gone = Gone {
        sink,
        finished: false,
    };
    let mut app = App::new(
        opts.server.clone(),
        history_file::load(opts.history.as_deref()),
    );
    app.greet(Timestamp::now_wall());
    let mut dirty = true;
    let mut last_draw_second = 0;
    loop {
        loop {
            match rx.try_recv() {
                Ok(UiMsg::Show(item, at)) => {
                    if app.show(&item, at) && opts.bell {
                        let mut out = std::io::stdout();
                        let _ = out.write_all(b"\x07").and_then(|()| out.flush());
                    }
                    dirty = true;
                }
                Ok(UiMsg::Read(mode)) => {
                    if matches!(mode, InputMode::Command { .. }) && app.mode.is_none() {
                        // Logged in: who is online fills the list beside the conversation.
                        (gone.sink)(Typed::Line(b"whoelse".to_vec()));
                    }
                    app.read(mode);
                    dirty = true;
                }
                Ok(UiMsg::Known(k)) => app.known = k,
                Ok(UiMsg::Finish(last, done)) => {
                    finish(&mut app, &opts, last);
                    gone.finished = true;
                    let _ = done.send(());
                    return;
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    ratatui::restore();
                    return;
                }
            }
        }
        match event::poll(TICK) {
            Ok(true) => match event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                    if let Some(key) = key_of(k) {
                        for action in app.key(key) {
                            (gone.sink)(match action {
                                Action::Send(line) => Typed::Line(line.into_bytes()),
                                Action::Interrupt => Typed::Interrupt,
                                Action::Eof => Typed::Eof,
                            });
                        }
                    }
                    dirty = true;
                }
                Ok(Event::Resize(..)) => dirty = true,
                Ok(_) => {}
                Err(_) => {
                    (gone.sink)(Typed::Eof);
                    gone.finished = true;
                    ratatui::restore();
                    return;
                }
            },
            Ok(false) => {}
            Err(_) => {}
        }
        let now = Timestamp::now_wall();
        let second = now.as_millis() / 1000;
        if dirty || second != last_draw_second {
            let _ = terminal.draw(|f| draw(f, &mut app, now));
            dirty = false;
            last_draw_second = second;
        }
    }
}

/// Back to the terminal as it was; then the last lines (the goodbye) in plain text, where the user
/// will still see them; and the history kept, with a line half typed.
fn finish(app: &mut App, opts: &UiOptions, last: Vec<(Item, Timestamp)>) {
    ratatui::restore();
    let mut out = std::io::stdout().lock();
    for (item, at) in &last {
        let _ = writeln!(out, "{}", line_text(item, opts, *at));
    }
    let _ = out.flush();
    let typing = app.editor.text();
    if app.mode.as_ref().is_some_and(|m| !m.is_secret()) {
        app.editor.remember(&typing);
    }
    history_file::save(opts.history.as_deref(), &app.editor.history);
}

/// A terminal key event as the app's [`Key`].
fn key_of(k: KeyEvent) -> Option<Key> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    Some(match k.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(c) if alt => Key::Alt(c),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Delete => Key::Delete,
        KeyCode::Left if ctrl => Key::CtrlLeft,
        KeyCode::Right if ctrl => Key::CtrlRight,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Tab => Key::Tab,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
