//! Piped mode: lines from standard input, as the core asks for them (a script's, a buffer at a
//! time), and plain lines to standard output, so the client can be scripted.

use std::io::Write;
use std::sync::mpsc;
use std::thread;

use super::stdin::{read_line, read_secret};
use super::{Typed, TypedSink};
use natter_core::client::InputMode;

/// Piped input and output.
pub struct PlainUi {
    requests: mpsc::Sender<InputMode>,
}

impl PlainUi {
    pub(super) fn start(sink: TypedSink) -> PlainUi {
        let (requests, rx) = mpsc::channel::<InputMode>();
        thread::Builder::new()
            .name("stdin".into())
            .spawn(move || plain_reader(rx, sink))
            .expect("starting the input thread");
        PlainUi { requests }
    }

    pub(super) fn read(&mut self, mode: InputMode) {
        let _ = self.requests.send(mode);
    }

    pub(super) fn show(&mut self, text: String) {
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
    if !prompts {
        return piped_reader(requests, sink);
    }
    // One line each time the core asks: a script's next line is read only once the one before it
    // has been dealt with.
    while let Ok(mode) = requests.recv() {
        let line = if mode.is_secret() {
            read_secret(&mode.prompt(), &mut std::io::stderr())
        } else {
            if !matches!(mode, InputMode::Command { .. }) {
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
    }
}

/// How much of a script's input is read at a time: the lines it holds are handed over together.
const PIPED_BUFFER: usize = 16 * 1024;

/// Input that is no terminal (nothing to prompt, no echo to turn off): each time the core asks, a
/// line (waiting for it), and with it every further whole line already read, handed over in one go
/// ([`Typed::Lines`]); the core takes them in one at a time, as it asks (`client::read_ahead`).
fn piped_reader(requests: mpsc::Receiver<InputMode>, sink: TypedSink) {
    // Over stdin's own buffer, which it reads through (empty: nothing else reads a pipe).
    let mut input = std::io::BufReader::with_capacity(PIPED_BUFFER, std::io::stdin());
    while requests.recv().is_ok() {
        let Some(first) = read_line(&mut input) else {
            sink(Typed::Eof);
            return;
        };
        let mut lines = vec![first];
        while input.buffer().contains(&b'\n') {
            match read_line(&mut input) {
                Some(line) => lines.push(line),
                None => break,
            }
        }
        // What is left of the buffer (part of a line) is read with the next request.
        sink(if lines.len() == 1 {
            Typed::Line(lines.pop().expect("one"))
        } else {
            Typed::Lines(lines)
        });
    }
}
