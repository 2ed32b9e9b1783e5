//! The client's user interface: where typed lines come from and where shown lines go.
//!
//! Two kinds, chosen once at start:
//!
//! - **Terminal** (stdin and stdout are terminals): rustyline reads lines on its own thread, with
//!   history and tab completion; everything shown goes through rustyline's external printer, which prints
//!   above the line being edited without garbling it. Passwords are read with echo off.
//! - **Plain** (piped): lines are read from stdin one by one and shown as plain lines on stdout, so the
//!   client can be scripted.
//!
//! Either way the core asks for input with an [`InputMode`]: one line at a login prompt, then lines until
//! the input ends. This module decides nothing about what lines mean.

use std::io::{BufRead, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Editor, ExternalPrinter, Helper, history::DefaultHistory};

use crate::client::InputMode;
use crate::client::complete::{Known, complete};

/// What the input side hands the driver.
#[derive(Debug)]
pub enum Typed {
    Line(Vec<u8>),
    Eof,
    Interrupt,
}

/// Where typed lines go: the driver's inbox.
pub type TypedSink = Box<dyn Fn(Typed) + Send + 'static>;

/// The terminal's settings at start, restored at exit whatever state a reader left it in (raw mode,
/// echo off).
struct SavedTerminal(Option<nix::sys::termios::Termios>);

impl SavedTerminal {
    fn save() -> Self {
        SavedTerminal(nix::sys::termios::tcgetattr(std::io::stdin()).ok())
    }

    fn restore(&self) {
        if let Some(t) = &self.0 {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
    }
}

/// Reads one line from stdin with echo off (when stdin is a terminal), showing `prompt` on `out`.
fn read_secret(prompt: &str, out: &mut dyn Write) -> Option<Vec<u8>> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).ok();
    if let Some(t) = &saved {
        let mut quiet = t.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
    }
    let line = read_line(&mut stdin.lock());
    if let Some(t) = &saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, t);
        // The Enter that ended the password was not echoed either.
        let _ = writeln!(out);
    }
    line
}

/// One line without its ending, or `None` at the end of input.
fn read_line(input: &mut dyn BufRead) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    match input.read_until(b'\n', &mut buf) {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            if buf.last() == Some(&b'\n') {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            }
            Some(buf)
        }
    }
}

/// The user interface the driver talks to.
pub enum Ui {
    Terminal(TerminalUi),
    Plain(PlainUi),
}

impl Ui {
    /// Starts the interface; typed lines go to `sink`.
    pub fn start(interactive: bool, sink: TypedSink) -> Ui {
        if interactive {
            match TerminalUi::start(sink) {
                Ok(t) => return Ui::Terminal(t),
                Err((sink, e)) => {
                    tracing::debug!("no line editor ({e}); reading plain lines");
                    return Ui::Plain(PlainUi::start(sink));
                }
            }
        }
        Ui::Plain(PlainUi::start(sink))
    }

    /// Asks for input in `mode`.
    pub fn read(&mut self, mode: InputMode) {
        match self {
            Ui::Terminal(t) => t.read(mode),
            Ui::Plain(p) => p.read(mode),
        }
    }

    /// Shows one item (already rendered; may hold several lines).
    pub fn show(&mut self, text: String) {
        match self {
            Ui::Terminal(t) => t.show(text),
            Ui::Plain(p) => p.show(text),
        }
    }

    /// The usernames and group names offered by tab completion.
    pub fn set_completions(&mut self, known: Known) {
        if let Ui::Terminal(t) = self {
            *t.known.lock().unwrap_or_else(|e| e.into_inner()) = known;
        }
    }

    /// Shows `last` (the lines of the final batch), makes sure everything shown earlier is on the screen,
    /// and gives the terminal back as it was.
    pub fn finish(self, last: Vec<String>) {
        match self {
            Ui::Terminal(t) => t.finish(last),
            Ui::Plain(mut p) => {
                for text in last {
                    p.show(text);
                }
            }
        }
    }
}

// --- plain ---

/// Piped input and output.
pub struct PlainUi {
    requests: mpsc::Sender<InputMode>,
}

impl PlainUi {
    fn start(sink: TypedSink) -> PlainUi {
        let (requests, rx) = mpsc::channel::<InputMode>();
        thread::Builder::new()
            .name("stdin".into())
            .spawn(move || plain_reader(rx, sink))
            .expect("starting the input thread");
        PlainUi { requests }
    }

    fn read(&mut self, mode: InputMode) {
        let _ = self.requests.send(mode);
    }

    fn show(&mut self, text: String) {
        let mut out = std::io::stdout().lock();
        // Output that nobody reads (a closed pipe) is not a reason to stop chatting.
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

fn plain_reader(requests: mpsc::Receiver<InputMode>, sink: TypedSink) {
    use std::io::IsTerminal;
    // A person typing into a terminal while the output goes elsewhere still needs to see the prompts.
    let prompts = std::io::stdin().is_terminal();
    while let Ok(mode) = requests.recv() {
        loop {
            let line = if mode.is_secret() && prompts {
                read_secret(&mode.prompt(), &mut std::io::stderr())
            } else {
                if prompts && !matches!(mode, InputMode::Command { .. }) {
                    eprint!("{}", mode.prompt());
                }
                read_line(&mut std::io::stdin().lock())
            };
            match line {
                Some(line) => sink(Typed::Line(line)),
                None => {
                    sink(Typed::Eof);
                    return;
                }
            }
            if !matches!(mode, InputMode::Command { .. }) {
                break;
            }
        }
    }
}

// --- terminal ---

/// Tab completion for rustyline, from [`complete`].
struct NatterHelper {
    known: Arc<Mutex<Known>>,
}

impl Completer for NatterHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        Ok(complete(line, pos, &known))
    }
}

impl Hinter for NatterHelper {
    type Hint = String;
}
impl Highlighter for NatterHelper {}
impl Validator for NatterHelper {}
impl Helper for NatterHelper {}

/// Whether the editor thread is inside rustyline's `readline`, and whether it should stop.
#[derive(Default)]
struct EditorStatus {
    in_readline: bool,
    /// Reading a password: the cursor is after its prompt, not at the start of a line.
    in_secret: bool,
    stopping: bool,
}

enum PrintCmd {
    Text(String),
    Finish(Vec<String>, mpsc::SyncSender<()>),
}

pub struct TerminalUi {
    requests: mpsc::Sender<InputMode>,
    printer: mpsc::Sender<PrintCmd>,
    known: Arc<Mutex<Known>>,
}

impl TerminalUi {
    fn start(sink: TypedSink) -> Result<TerminalUi, (TypedSink, String)> {
        let config = Config::builder()
            .auto_add_history(false)
            .completion_type(CompletionType::List)
            .max_history_size(1000)
            .map_err(|e| e.to_string());
        let config = match config {
            Ok(c) => c.build(),
            Err(e) => return Err((sink, e)),
        };
        let known = Arc::new(Mutex::new(Known::default()));
        let mut editor: Editor<NatterHelper, DefaultHistory> = match Editor::with_config(config) {
            Ok(e) => e,
            Err(e) => return Err((sink, e.to_string())),
        };
        editor.set_helper(Some(NatterHelper {
            known: known.clone(),
        }));
        let external = match editor.create_external_printer() {
            Ok(p) => p,
            Err(e) => return Err((sink, e.to_string())),
        };
        let saved = SavedTerminal::save();
        let status = Arc::new(Mutex::new(EditorStatus::default()));
        let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
        let (requests, rx) = mpsc::channel::<InputMode>();
        {
            let status = status.clone();
            thread::Builder::new()
                .name("editor".into())
                .spawn(move || editor_thread(editor, rx, sink, status, stopped_tx))
                .expect("starting the editor thread");
        }
        let (printer, print_rx) = mpsc::channel::<PrintCmd>();
        thread::Builder::new()
            .name("printer".into())
            .spawn(move || printer_thread(external, print_rx, status, stopped_rx, saved))
            .expect("starting the printer thread");
        Ok(TerminalUi {
            requests,
            printer,
            known,
        })
    }

    fn read(&mut self, mode: InputMode) {
        let _ = self.requests.send(mode);
    }

    fn show(&mut self, text: String) {
        let _ = self.printer.send(PrintCmd::Text(text));
    }

    fn finish(self, last: Vec<String>) {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        if self.printer.send(PrintCmd::Finish(last, done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(Duration::from_secs(3));
        }
    }
}

fn editor_thread(
    mut editor: Editor<NatterHelper, DefaultHistory>,
    requests: mpsc::Receiver<InputMode>,
    sink: TypedSink,
    status: Arc<Mutex<EditorStatus>>,
    stopped: mpsc::Sender<()>,
) {
    let lock = |s: &Mutex<EditorStatus>| {
        s.lock()
            .map(|g| g.stopping)
            .unwrap_or_else(|e| e.into_inner().stopping)
    };
    while let Ok(mode) = requests.recv() {
        loop {
            if mode.is_secret() {
                // Not rustyline: it has no way to read without showing what is typed.
                status.lock().unwrap_or_else(|e| e.into_inner()).in_secret = true;
                let line = read_secret(&mode.prompt(), &mut std::io::stdout());
                status.lock().unwrap_or_else(|e| e.into_inner()).in_secret = false;
                match line {
                    Some(line) => sink(Typed::Line(line)),
                    None => sink(Typed::Eof),
                }
                break;
            }
            {
                let mut st = status.lock().unwrap_or_else(|e| e.into_inner());
                if st.stopping {
                    let _ = stopped.send(());
                    return;
                }
                st.in_readline = true;
            }
            let result = editor.readline(&mode.prompt());
            status.lock().unwrap_or_else(|e| e.into_inner()).in_readline = false;
            if lock(&status) {
                let _ = stopped.send(());
                return;
            }
            let command_mode = matches!(mode, InputMode::Command { .. });
            match result {
                Ok(line) => {
                    if command_mode && !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    sink(Typed::Line(line.into_bytes()));
                }
                Err(ReadlineError::Eof) => {
                    sink(Typed::Eof);
                    break;
                }
                Err(ReadlineError::Interrupted) => {
                    sink(Typed::Interrupt);
                    break;
                }
                Err(e) => {
                    tracing::debug!("line editor: {e}");
                    sink(Typed::Eof);
                    break;
                }
            }
            if !command_mode {
                break;
            }
        }
    }
}

/// Owns the external printer. At the end it makes sure rustyline has drawn every line, stops the
/// editor, puts the terminal back, and prints the last lines itself.
fn printer_thread<P: ExternalPrinter>(
    mut external: P,
    commands: mpsc::Receiver<PrintCmd>,
    status: Arc<Mutex<EditorStatus>>,
    stopped: mpsc::Receiver<()>,
    saved: SavedTerminal,
) {
    while let Ok(cmd) = commands.recv() {
        match cmd {
            PrintCmd::Text(mut text) => {
                // Outside `readline` the printer writes the text as it is: without the newline, the next
                // prompt would be drawn over the end of it.
                text.push('\n');
                if let Err(e) = external.print(text.clone()) {
                    tracing::debug!("external printer: {e}");
                    print!("{text}");
                    let _ = std::io::stdout().flush();
                }
            }
            PrintCmd::Finish(last, done) => {
                let (in_readline, in_secret) = {
                    let mut st = status.lock().unwrap_or_else(|e| e.into_inner());
                    st.stopping = true;
                    (st.in_readline, st.in_secret)
                };
                if in_readline {
                    // rustyline takes one printed line at a time: once this empty one is accepted, every
                    // earlier line has been drawn. Then a SIGINT, which rustyline turns into the end of
                    // `readline`, stops the editor without leaving the terminal in raw mode.
                    let _ = external.print(String::new());
                    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGINT);
                    let _ = stopped.recv_timeout(Duration::from_secs(1));
                }
                saved.restore();
                let mut out = std::io::stdout().lock();
                if in_secret {
                    // Interrupted at a password prompt: leave that line first.
                    let _ = writeln!(out);
                }
                for text in last {
                    let _ = writeln!(out, "{text}");
                }
                let _ = out.flush();
                let _ = done.send(());
                return;
            }
        }
    }
}
