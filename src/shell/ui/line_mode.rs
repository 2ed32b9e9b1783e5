//! Line mode on a terminal: rustyline reads lines on its own thread, with history (kept in the state
//! directory) and tab completion; everything shown goes through rustyline's external printer, which
//! prints above the line being edited without garbling it. Passwords are read with echo off.
//!
//! It reads one line each time the core asks ([`LineUi::read`]), so no prompt is drawn after a line
//! the core answers with a goodbye. When the core asks for a password while a command prompt is up
//! (logging in again after a lost server), the prompt is stopped with a SIGINT, as rustyline allows,
//! and the password is read with echo off; [`forget_own_interrupt`] keeps that signal from being
//! taken for the user's Ctrl-C.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
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

use super::stdin::{SavedTerminal, read_secret};
use super::{Typed, TypedSink, history_file};
use natter_core::client::InputMode;
use natter_core::client::complete::{Known, complete};
use natter_core::client::input::{Place, history_entry};

/// Set just before this module raises a SIGINT of its own (to stop rustyline): whoever sees the signal
/// first clears it.
static OWN_SIGINT: AtomicBool = AtomicBool::new(false);

/// Whether a SIGINT just received was this module's own (and no longer expected): the signal watcher
/// asks before taking one for the user's Ctrl-C.
pub fn forget_own_interrupt() -> bool {
    OWN_SIGINT.swap(false, Ordering::SeqCst)
}

/// Stops rustyline's `readline`, which ends on a SIGINT.
fn raise_own_interrupt() {
    OWN_SIGINT.store(true, Ordering::SeqCst);
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGINT);
}

/// Tab completion for rustyline, from [`complete`]; and a record of the line being typed, so a line
/// cut short by a lost server still goes into the history.
struct NatterHelper {
    known: Arc<Mutex<Known>>,
    typing: Arc<Mutex<String>>,
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

    /// rustyline asks for a hint after every change to the line: the moment to note what is typed.
    fn hint(&self, line: &str, _pos: usize, _ctx: &rustyline::Context<'_>) -> Option<String> {
        let mut typing = self.typing.lock().unwrap_or_else(|e| e.into_inner());
        typing.clear();
        typing.push_str(line);
        None
    }
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
    /// The `readline` under way was stopped because the core asks for something else now.
    superseded: bool,
}

enum PrintCmd {
    Text(String),
    /// Stop the `readline` under way, once every line printed before has been drawn.
    StopReading,
    /// Answer once every line sent before has been printed.
    Barrier(mpsc::SyncSender<()>),
    Finish(Vec<String>, mpsc::SyncSender<()>),
}

pub struct LineUi {
    requests: mpsc::Sender<InputMode>,
    printer: mpsc::Sender<PrintCmd>,
    known: Arc<Mutex<Known>>,
    status: Arc<Mutex<EditorStatus>>,
}

impl LineUi {
    /// Starts the editor and printer threads; the history is read from `history` and written back at
    /// the end, with any half-typed line.
    pub(super) fn start(
        sink: TypedSink,
        history: Option<PathBuf>,
    ) -> Result<LineUi, (TypedSink, String)> {
        let config = Config::builder()
            .auto_add_history(false)
            .completion_type(CompletionType::List)
            .max_history_size(history_file::HISTORY_KEPT)
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
        let typing = Arc::new(Mutex::new(String::new()));
        editor.set_helper(Some(NatterHelper {
            known: known.clone(),
            typing: typing.clone(),
        }));
        let mut keep = History {
            path: history,
            typing,
            lines: Vec::new(),
        };
        for line in history_file::load(keep.path.as_deref()) {
            let _ = editor.add_history_entry(line.as_str());
            keep.lines.push(line);
        }
        let external = match editor.create_external_printer() {
            Ok(p) => p,
            Err(e) => return Err((sink, e.to_string())),
        };
        let saved = SavedTerminal::save();
        let keep = Arc::new(Mutex::new(keep));
        let status = Arc::new(Mutex::new(EditorStatus::default()));
        let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
        let (requests, rx) = mpsc::channel::<InputMode>();
        let editor_status = status.clone();
        let (printer, print_rx) = mpsc::channel::<PrintCmd>();
        {
            let status = status.clone();
            let history = keep.clone();
            let printer = printer.clone();
            thread::Builder::new()
                .name("editor".into())
                .spawn(move || {
                    editor_thread(editor, &history, rx, sink, status, stopped_tx, printer)
                })
                .expect("starting the editor thread");
        }
        thread::Builder::new()
            .name("printer".into())
            .spawn(move || printer_thread(external, print_rx, status, stopped_rx, saved, keep))
            .expect("starting the printer thread");
        Ok(LineUi {
            requests,
            printer,
            known,
            status: editor_status,
        })
    }

    /// Asks for one line in `mode`. A password (or an answer about a certificate) asked while a command
    /// prompt is up stops that prompt first: typed there, it would be echoed and kept in the history.
    pub(super) fn read(&mut self, mode: InputMode) {
        let interrupt = {
            let mut st = self.status.lock().unwrap_or_else(|e| e.into_inner());
            let now = st.in_readline
                && !st.stopping
                && !st.superseded
                && !matches!(mode, InputMode::Command { .. });
            st.superseded |= now;
            now
        };
        let _ = self.requests.send(mode);
        if interrupt {
            // Through the printer, so what was shown just before (why a password is asked) is drawn
            // first.
            let _ = self.printer.send(PrintCmd::StopReading);
        }
    }

    pub(super) fn show(&mut self, text: String) {
        let _ = self.printer.send(PrintCmd::Text(text));
    }

    pub(super) fn set_completions(&mut self, known: Known) {
        *self.known.lock().unwrap_or_else(|e| e.into_inner()) = known;
    }

    pub(super) fn finish(self, last: Vec<String>) {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        if self.printer.send(PrintCmd::Finish(last, done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(Duration::from_secs(3));
        }
    }
}

/// Where the history lives, what it holds, and the line being typed when the editor stopped.
struct History {
    path: Option<PathBuf>,
    typing: Arc<Mutex<String>>,
    lines: Vec<String>,
}

impl History {
    /// Adds a half-typed line (the editor stopped under it: the server went away, or the client was
    /// told to quit) and writes the history, readable by its owner only: it holds what was typed.
    /// Done by the printer as the last thing before the client exits, so no exit path loses it.
    fn save(&mut self) {
        let typing = std::mem::take(&mut *self.typing.lock().unwrap_or_else(|e| e.into_inner()));
        if let Some(kept) = history_entry(&typing, Place::Prompt) {
            self.lines.push(kept);
        }
        history_file::save(self.path.as_deref(), &self.lines);
    }
}

/// Serves the driver's requests for input until told to stop, keeping `history`.
fn editor_thread(
    mut editor: Editor<NatterHelper, DefaultHistory>,
    history: &Mutex<History>,
    requests: mpsc::Receiver<InputMode>,
    sink: TypedSink,
    status: Arc<Mutex<EditorStatus>>,
    stopped: mpsc::Sender<()>,
    printer: mpsc::Sender<PrintCmd>,
) {
    // What was shown before a question (why it is asked) is drawn before its prompt.
    let printed = || {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        if printer.send(PrintCmd::Barrier(done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(Duration::from_secs(1));
        }
    };
    let lock = |s: &Mutex<EditorStatus>| {
        s.lock()
            .map(|g| g.stopping)
            .unwrap_or_else(|e| e.into_inner().stopping)
    };
    while let Ok(mode) = requests.recv() {
        printed();
        if mode.is_secret() {
            // Not rustyline: it has no way to read without showing what is typed.
            status.lock().unwrap_or_else(|e| e.into_inner()).in_secret = true;
            let line = read_secret(&mode.prompt(), &mut std::io::stdout());
            status.lock().unwrap_or_else(|e| e.into_inner()).in_secret = false;
            match line {
                Some(line) => sink(Typed::Line(line)),
                None => sink(Typed::Eof),
            }
            continue;
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
        let superseded = {
            let mut st = status.lock().unwrap_or_else(|e| e.into_inner());
            st.in_readline = false;
            std::mem::take(&mut st.superseded)
        };
        if superseded && matches!(result, Err(ReadlineError::Interrupted)) {
            // rustyline took the signal: the signal watcher will not see it.
            OWN_SIGINT.store(false, Ordering::SeqCst);
            // What was being typed when a password was asked for may be that password: it is not
            // kept as a half-typed line.
            if let Some(h) = editor.helper() {
                h.typing.lock().unwrap_or_else(|e| e.into_inner()).clear();
            }
        }
        if lock(&status) {
            let _ = stopped.send(());
            return;
        }
        let command_mode = matches!(mode, InputMode::Command { .. });
        match result {
            Ok(line) => {
                editor
                    .helper()
                    .map(|h| h.typing.lock().map(|mut t| t.clear()));
                // Commands are kept (not what was said in a private chat); a username is not.
                if command_mode && let Some(kept) = history_entry(&line, Place::Prompt) {
                    let _ = editor.add_history_entry(kept.as_str());
                    history
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .lines
                        .push(kept);
                }
                sink(Typed::Line(line.into_bytes()));
            }
            // The core asks for something else now (a password): the next request is it.
            Err(ReadlineError::Interrupted) if superseded => {}
            Err(ReadlineError::Eof) => sink(Typed::Eof),
            Err(ReadlineError::Interrupted) => sink(Typed::Interrupt),
            Err(e) => {
                tracing::debug!("line editor: {e}");
                sink(Typed::Eof);
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
    history: Arc<Mutex<History>>,
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
            PrintCmd::Barrier(done) => {
                let _ = done.send(());
            }
            PrintCmd::StopReading => {
                // rustyline takes one printed line at a time: once this empty one is accepted, every
                // earlier line has been drawn.
                let _ = external.print(String::new());
                raise_own_interrupt();
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
                    raise_own_interrupt();
                    let _ = stopped.recv_timeout(Duration::from_secs(1));
                }
                saved.restore();
                history.lock().unwrap_or_else(|e| e.into_inner()).save();
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
    // The client went away without finishing: keep what was typed all the same.
    history.lock().unwrap_or_else(|e| e.into_inner()).save();
}
