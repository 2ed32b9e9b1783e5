//! The client's user interface: where typed lines come from and where what the core shows goes.
//!
//! Chosen once at start:
//!
//! - **line** ([`line`], stdin and stdout are terminals): rustyline, with history and completion;
//! - **plain** ([`plain`], piped): one line at a time, plain output, for scripts;
//! - **full screen** ([`tui`], `--tui`): a window per conversation, a status bar, the online list.
//!
//! Line and plain mode turn each [`Item`] into text with [`line_text`]: the display's rendering, a short
//! `HH:MM` before a live message, and a terminal bell after a message addressed to the user alone. This
//! module decides nothing about what lines mean.

mod clock;
mod history_file;
mod line;
mod plain;
mod stdin;

pub use stdin::read_secret;
pub mod tui;

use std::path::PathBuf;

use self::line::LineUi;
use self::plain::PlainUi;
use self::tui::TuiUi;
use crate::client::complete::Known;
use crate::client::display::render;
use crate::client::{InputMode, Item};
use crate::time::Timestamp;

pub use clock::local_hhmm;

/// What the input side hands the driver.
#[derive(Debug)]
pub enum Typed {
    Line(Vec<u8>),
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
    /// The server, as the full-screen status bar names it.
    pub server: String,
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

    /// Asks for input in `mode`.
    pub fn read(&mut self, mode: InputMode) {
        match self {
            Ui::Line(t, _) => t.read(mode),
            Ui::Plain(p, _) => p.read(mode),
            Ui::Tui(t) => t.read(mode),
        }
    }

    /// Shows one item, which the core produced at `at`.
    pub fn show(&mut self, item: &Item, at: Timestamp) {
        match self {
            Ui::Line(t, o) => t.show(line_text(item, o, at)),
            Ui::Plain(p, o) => p.show(line_text(item, o, at)),
            Ui::Tui(t) => t.show(item, at),
        }
    }

    /// The usernames and group names offered by tab completion.
    pub fn set_completions(&mut self, known: Known) {
        match self {
            Ui::Line(t, _) => t.set_completions(known),
            Ui::Tui(t) => t.set_completions(known),
            Ui::Plain(..) => {}
        }
    }

    /// Shows `last` (the items of the final batch), makes sure everything shown earlier is on the
    /// screen, and gives the terminal back as it was.
    pub fn finish(self, last: Vec<(Item, Timestamp)>) {
        match self {
            Ui::Line(t, o) => t.finish(last.iter().map(|(i, at)| line_text(i, &o, *at)).collect()),
            Ui::Plain(mut p, o) => {
                for (item, at) in last {
                    p.show(line_text(&item, &o, at));
                }
            }
            Ui::Tui(t) => t.finish(last),
        }
    }
}

/// An item as a line-mode line: the display's text, `HH:MM` before a live message, and a bell after a
/// message to the user alone.
pub fn line_text(item: &Item, opts: &UiOptions, at: Timestamp) -> String {
    let mut text = render(item, opts.color);
    if opts.timestamps && item.is_live_message() {
        text = format!("{} {text}", local_hhmm(at));
    }
    if opts.bell && item.addressed_to_me() {
        text.push('\u{7}');
    }
    text
}
