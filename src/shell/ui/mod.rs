//! The client's user interface: where typed lines come from and where what the core shows goes.
//!
//! Chosen once at start:
//!
//! - **line** ([`line`], stdin and stdout are terminals): rustyline, with history and completion;
//! - **plain** (`plain`, piped): one line at a time, plain output, for scripts;
//! - **full screen** ([`tui`], `--tui`): a window per conversation, a status bar, the online list.
//!
//! Line and plain mode turn each [`Item`] into text with [`line_text`]: the display's rendering, a short
//! `HH:MM` before a live message, and a terminal bell after a message addressed to the user alone. The
//! full-screen mode draws the core's view model ([`natter_core::client::screen::Screen`]) and hands it the
//! terminal's keys. This module decides nothing about what lines mean.

mod clock;
mod history_file;
mod line_mode;
mod plain;
mod stdin;

pub use stdin::read_secret;
pub mod tui;

use std::path::PathBuf;

use self::line_mode::LineUi;
use self::plain::PlainUi;
use self::tui::TuiUi;
use natter_core::client::ClientState;
use natter_core::client::complete::Known;
use natter_core::client::display::render_for_width;
use natter_core::client::screen::Key;
use natter_core::client::{InputMode, Item};
use natter_core::time::Timestamp;

pub use clock::{local_date_and_time, local_hhmm};
pub use history_file::load as load_history;
pub use line_mode::forget_own_interrupt;

/// What the input side hands the driver.
#[derive(Debug)]
pub enum Typed {
    Line(Vec<u8>),
    /// Lines piped input held already, in order: the core takes them in as it asks.
    Lines(Vec<Vec<u8>>),
    /// A key of the full-screen client.
    Key(Key),
    /// Text pasted into the full-screen client.
    Paste(String),
    /// The full-screen client's terminal is now this many rows high.
    Resize {
        rows: u16,
    },
    Eof,
    Interrupt,
}

/// Where typed lines go: the driver's inbox.
pub type TypedSink = Box<dyn Fn(Typed) + Send + 'static>;

/// How to show things, from the command line.
#[derive(Clone, Debug)]
pub struct UiOptions {
    /// stdin and stdout are terminals: use the line editor.
    pub interactive: bool,
    pub color: bool,
    /// `HH:MM` before live messages.
    pub timestamps: bool,
    /// A terminal bell when a message addressed to the user alone arrives.
    pub bell: bool,
    /// Where the line editor keeps its history across runs (`None`: only for this run).
    pub history: Option<PathBuf>,
    /// The full-screen interface rather than lines.
    pub full_screen: bool,
}

/// The user interface the driver talks to.
pub enum Ui {
    Line(LineUi, UiOptions),
    Plain(PlainUi, UiOptions),
    Tui(TuiUi),
}

impl Ui {
    /// Starts the interface; typed lines go to `sink`.
    pub fn start(opts: UiOptions, sink: TypedSink) -> Ui {
        let sink = if opts.full_screen {
            match TuiUi::start(sink, opts.clone()) {
                Ok(t) => return Ui::Tui(t),
                Err((sink, e)) => {
                    eprintln!("natter: cannot use the full screen ({e}); using lines");
                    sink
                }
            }
        } else {
            sink
        };
        if opts.interactive {
            match LineUi::start(sink, opts.history.clone()) {
                Ok(t) => return Ui::Line(t, opts),
                Err((sink, e)) => {
                    tracing::debug!("no line editor ({e}); reading plain lines");
                    return Ui::Plain(PlainUi::start(sink), opts);
                }
            }
        }
        Ui::Plain(PlainUi::start(sink), opts)
    }

    /// Whether this is the full-screen interface (the core then runs its view model).
    pub fn is_full_screen(&self) -> bool {
        matches!(self, Ui::Tui(_))
    }

    /// Asks for input in `mode` (the full-screen client's view model knows already).
    pub fn read(&mut self, mode: InputMode) {
        match self {
            Ui::Line(t, _) => t.read(mode),
            Ui::Plain(p, _) => p.read(mode),
            Ui::Tui(_) => {}
        }
    }

    /// Shows one item, which the core produced at `at` (the full-screen client's view model has it
    /// already: only its bell is left to ring).
    pub fn show(&mut self, item: &Item, at: Timestamp) {
        match self {
            Ui::Line(t, o) => t.show(line_text(item, o, at, terminal_width())),
            Ui::Plain(p, o) => p.show(line_text(item, o, at, None)),
            Ui::Tui(t) => t.bell_for(item),
        }
    }

    /// The usernames and group names offered by tab completion in line mode.
    pub fn set_completions(&mut self, known: Known) {
        if let Ui::Line(t, _) = self {
            t.set_completions(known)
        }
    }

    /// The full-screen client: draws the core's view model if it changed (or the clock did).
    pub fn draw(&mut self, core: &ClientState, now: Timestamp) {
        if let (Ui::Tui(t), Some(screen)) = (self, core.screen()) {
            t.draw(&screen, now);
        }
    }

    /// When the full-screen client's clock (and idle countdown) is next to be redrawn.
    pub fn next_tick(&self) -> Option<std::time::Instant> {
        match self {
            Ui::Tui(t) => Some(t.next_tick()),
            _ => None,
        }
    }

    /// Shows `last` (the items of the final batch), makes sure everything shown earlier is on the
    /// screen, and gives the terminal back as it was; the full-screen client keeps its history.
    pub fn finish(self, last: Vec<(Item, Timestamp)>, core: &ClientState) {
        match self {
            Ui::Line(t, o) => {
                let width = terminal_width();
                t.finish(
                    last.iter()
                        .map(|(i, at)| line_text(i, &o, *at, width))
                        .collect(),
                )
            }
            Ui::Plain(mut p, o) => {
                for (item, at) in last {
                    p.show(line_text(&item, &o, at, None));
                }
            }
            Ui::Tui(t) => t.finish(last, core.screen()),
        }
    }
}

/// The terminal's width, when output is one (line mode): what a `help` row is fitted to.
fn terminal_width() -> Option<usize> {
    ratatui::crossterm::terminal::size()
        .ok()
        .map(|(cols, _)| usize::from(cols))
}

/// An item as a line-mode line: the display's text (fitted to `width` columns where the display
/// says so), `HH:MM` before a live message, and a bell after a message to the user alone.
pub fn line_text(item: &Item, opts: &UiOptions, at: Timestamp, width: Option<usize>) -> String {
    let mut text = match width {
        Some(w) => render_for_width(item, opts.color, w),
        None => natter_core::client::display::render(item, opts.color),
    };
    if opts.timestamps && item.is_live_message() {
        text = format!("{} {text}", local_hhmm(at));
    }
    if opts.bell && item.addressed_to_me() {
        text.push('\u{7}');
    }
    text
}
