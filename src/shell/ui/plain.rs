//! Piped mode: lines from standard input, one at a time, and plain lines to standard output, so the
//! client can be scripted.

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
    // One line each time the core asks: a script's next line is read only once the one before it
    // has been dealt with.
    while let Ok(mode) = requests.recv() {
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
    }
}
