//! IRCv3 `labeled-response` (with `batch`): the replies to a command the client sent with
//! `@label=…` carry the label. The front gathers every line it says to this client from the
//! command's arrival until the composed server has fed the core all it asked for
//! ([`super::IrcFront::end_command`]), then says them labeled: none is `ACK`, one carries the
//! label, more are one `BATCH` of type `labeled-response` (without `batch`, the first carries it).
//!
//! What the core answers later (a password checked off the core's thread, a cluster's answer) is
//! said unlabeled, as the specification allows.

use super::label_book::Labeled;
use super::message::Message;
use super::session::{IrcSession, Step};

impl IrcSession {
    /// A command arrived: if it carries a label and the client asked for labeled responses, its
    /// answers are gathered.
    pub(super) fn start_label(&mut self, msg: &Message<'_>) {
        let label = msg
            .tags
            .iter()
            .find(|t| t.key == "label")
            .and_then(|t| t.value);
        self.start_labeled(label);
    }

    /// A line that is no message arrived (`raw`): its answer, a numeric, is labeled too, if its
    /// tags carry a label.
    pub(super) fn start_label_raw(&mut self, raw: &[u8]) {
        let Some(tags) = raw.strip_prefix(b"@") else {
            return;
        };
        let end = tags.iter().position(|b| *b == b' ').unwrap_or(tags.len());
        let tags = String::from_utf8_lossy(&tags[..end]);
        let label = tags.split(';').find_map(|t| t.strip_prefix("label="));
        self.start_labeled(label);
    }

    fn start_labeled(&mut self, label: Option<&str>) {
        if !self.caps.labeled_response {
            return;
        }
        if let Some(label) = label.filter(|l| !l.is_empty()) {
            self.label = Some(Labeled {
                label: label.to_owned(),
                steps: Vec::new(),
            });
        }
    }

    /// Takes the lines said from `start` on into the labeled response under way, if any. A close
    /// says the response first.
    pub(super) fn divert(&mut self, out: &mut Vec<Step>, start: usize) {
        if self.label.is_none() || start >= out.len() {
            return;
        }
        let tail: Vec<Step> = out.drain(start..).collect();
        for step in tail {
            match step {
                Step::Say(_) | Step::SayStored { .. } => match &mut self.label {
                    Some(l) => l.steps.push(step),
                    None => out.push(step),
                },
                Step::Close => {
                    self.end_label(out);
                    out.push(step);
                }
                other => out.push(other),
            }
        }
    }

    /// The command was answered: its lines, labeled.
    pub(super) fn end_label(&mut self, out: &mut Vec<Step>) {
        let Some(Labeled { label, steps }) = self.label.take() else {
            return;
        };
        let label_tag = format!("label={label}");
        let server = self.server_name().to_owned();
        let count: usize = steps.iter().map(|s| lines_in(said(s))).sum();
        if count == 0 {
            out.push(Step::Say(
                format!("@{label_tag} :{server} ACK\r\n").into_bytes(),
            ));
            return;
        }
        if count == 1 || !self.caps.batch {
            let mut first = true;
            for step in steps {
                if first && lines_in(said(&step)) > 0 {
                    first = false;
                    out.push(retag(step, |b| tag_first(b, &label_tag)));
                } else {
                    out.push(step);
                }
            }
            return;
        }
        self.batches += 1;
        let id = format!("L{}", self.batches);
        out.push(Step::Say(
            format!("@{label_tag} :{server} BATCH +{id} labeled-response\r\n").into_bytes(),
        ));
        let batch_tag = format!("batch={id}");
        for step in steps {
            out.push(retag(step, |b| tag_all(b, &batch_tag)));
        }
        out.push(Step::Say(format!(":{server} BATCH -{id}\r\n").into_bytes()));
    }
}

/// The bytes a step says.
fn said(step: &Step) -> &[u8] {
    match step {
        Step::Say(b) | Step::SayStored { bytes: b, .. } => b,
        _ => &[],
    }
}

/// How many lines `bytes` hold.
fn lines_in(bytes: &[u8]) -> usize {
    bytes.windows(2).filter(|w| w == b"\r\n").count()
}

/// `step` with its bytes rewritten by `f`.
fn retag(step: Step, f: impl Fn(&[u8]) -> Vec<u8>) -> Step {
    match step {
        Step::Say(b) => Step::Say(f(&b)),
        Step::SayStored { bytes, id } => Step::SayStored {
            bytes: f(&bytes),
            id,
        },
        other => other,
    }
}

/// `tag` added to one line (`line` without its ending), before its other tags.
fn add_tag(out: &mut Vec<u8>, line: &[u8], tag: &str) {
    out.push(b'@');
    out.extend_from_slice(tag.as_bytes());
    match line.strip_prefix(b"@") {
        Some(rest) => {
            out.push(b';');
            out.extend_from_slice(rest);
        }
        None => {
            out.push(b' ');
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// `tag` added to every line of `bytes`.
fn tag_all(bytes: &[u8], tag: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 16);
    for l in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        add_tag(&mut out, l.strip_suffix(b"\r").unwrap_or(l), tag);
    }
    out
}

/// `tag` added to the first line of `bytes` only.
fn tag_first(bytes: &[u8], tag: &str) -> Vec<u8> {
    let end = bytes
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(bytes.len());
    let mut out = Vec::with_capacity(bytes.len() + 16);
    add_tag(&mut out, &bytes[..end], tag);
    out.extend_from_slice(bytes.get(end + 2..).unwrap_or(&[]));
    out
}
