//! The full-screen client's terminal (`natter --tui`): ratatui over crossterm. Nothing here decides
//! anything: the view model is the core's ([`natter_core::client::screen::View`]). A thread reads the
//! terminal's events (keys, bracketed pastes, resizes) and hands them to the driver as typed input;
//! the driver has the core handle them and calls `TuiUi::draw`, which draws the screen with
//! [`draw::draw`] when it changed (or when the clock and the idle countdown move).
//!
//! The terminal is put back on every way out: a normal exit (logout, a kick by the server, a lost
//! server, Ctrl-C) through `TuiUi::finish`, and a panic through ratatui's panic hook. If the input
//! thread ends any other way, the driver is told as if the input had ended, so the client logs out
//! rather than hang without a keyboard.

pub mod draw;

pub use draw::draw;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    self, DisableBracketedPaste, EnableBracketedPaste, Event, KeyCode, KeyEvent, KeyEventKind,
    KeyModifiers,
};

use super::{Typed, TypedSink, UiOptions, history_file, line_text};
use natter_core::client::Item;
use natter_core::client::screen::{Key, View};
use natter_core::time::Timestamp;

pub struct TuiUi {
    terminal: ratatui::DefaultTerminal,
    opts: UiOptions,
    /// The screen's version last drawn, and the second it was drawn in.
    drawn: Option<(u64, u64)>,
}

impl TuiUi {
    pub(super) fn start(sink: TypedSink, opts: UiOptions) -> Result<TuiUi, (TypedSink, String)> {
        let terminal = match ratatui::try_init() {
            Ok(t) => t,
            Err(e) => {
                ratatui::restore();
                return Err((sink, e.to_string()));
            }
        };
        // A paste arrives as one event, so a line break in it is never taken for Enter.
        let _ = ratatui::crossterm::execute!(std::io::stdout(), EnableBracketedPaste);
        if let Ok((_, rows)) = ratatui::crossterm::terminal::size() {
            sink(Typed::Resize { rows });
        }
        thread::Builder::new()
            .name("keys".into())
            .spawn(move || read_events(sink))
            .expect("starting the input thread");
        Ok(TuiUi {
            terminal,
            opts,
            drawn: None,
        })
    }

    /// Rings the bell for a message to the user alone (unless `--no-bell`).
    pub(super) fn bell_for(&mut self, item: &Item) {
        if self.opts.bell && item.addressed_to_me() {
            let mut out = std::io::stdout();
            let _ = out.write_all(b"\x07").and_then(|()| out.flush());
        }
    }

    /// Draws `screen` if it changed since the last draw, or the second did.
    pub(super) fn draw(&mut self, screen: &View<'_>, now: Timestamp) {
        let second = crate::shell::clock::wall_now().as_millis() / 1000;
        let state = (screen.version(), second);
        if self.drawn == Some(state) {
            return;
        }
        self.drawn = Some(state);
        let _ = self.terminal.draw(|f| draw(f, screen, now));
    }

    /// The start of the next second, when the status bar's clock and countdown are redrawn.
    pub(super) fn next_tick(&self) -> Instant {
        let into_second = crate::shell::clock::wall_now().as_millis() % 1000;
        Instant::now() + Duration::from_millis(1000 - into_second)
    }

    /// Back to the terminal as it was; then the last lines (the goodbye) in plain text, where the user
    /// will still see them; and the history kept, with a line half typed.
    pub(super) fn finish(self, last: Vec<(Item, Timestamp)>, screen: Option<View<'_>>) {
        let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableBracketedPaste);
        ratatui::restore();
        let mut out = std::io::stdout().lock();
        for (item, at) in &last {
            let _ = writeln!(out, "{}", line_text(item, &self.opts, *at, None));
        }
        let _ = out.flush();
        if let Some(screen) = screen {
            let mut history = screen.history().to_vec();
            if let Some(line) = screen.half_typed() {
                history.push(line);
            }
            history_file::save(self.opts.history.as_deref(), &history);
        }
    }
}

/// Reads the terminal's events until it fails, handing keys, pastes and sizes to the driver.
fn read_events(sink: TypedSink) {
    loop {
        match event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                if let Some(key) = key_of(k) {
                    sink(Typed::Key(key));
                }
            }
            Ok(Event::Paste(text)) => sink(Typed::Paste(text)),
            Ok(Event::Resize(_, rows)) => sink(Typed::Resize { rows }),
            Ok(_) => {}
            Err(e) => {
                tracing::debug!("the terminal's input failed: {e}");
                sink(Typed::Eof);
                return;
            }
        }
    }
}

/// A terminal key event as the screen's [`Key`].
pub fn key_of(k: KeyEvent) -> Option<Key> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    Some(match k.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(c) if alt => Key::Alt(c),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
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
