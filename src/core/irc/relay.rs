//! IRC messages (`PRIVMSG`, `NOTICE`) on their way through the core, and what IRCv3 adds to them:
//! the sender's client-only tags (`+…`, with `message-tags`) and its command for the recipients
//! who are IRC clients of this server, the `msgid` (the core's message id), the echo to its sender
//! (`echo-message`), and no reply at all to a `NOTICE` (RFC 2812: a notice never triggers an
//! automatic reply, not even an error or natter's "kept for an offline user" receipt).
//!
//! The core knows none of it: a message is a natter `message` line. The front marks the line as a
//! [`Relaying`] ([`super::Step::Relay`]); while the core handles it, the composed server tells the
//! fronts ([`super::IrcFront::begin_relay`]), which recognise the core's lines that carry it (from
//! its sender, with its text) and the refusals to its sender, and at the end the sender's front
//! echoes it if the core took it. A message from a natter client, or from another node of a
//! cluster, reaches IRC clients as `PRIVMSG` with its msgid and time but no client tags.

use super::message::{MAX_BODY, Message};
use super::outgoing::{server_time, split_into};
use super::relay_book::Relaying;
use super::session::{IrcSession, Step, line, mask};
use crate::protocol::Name;
use crate::time::Timestamp;

/// The most bytes of the tags a client sends: the `@`, the tags and the space after them
/// (IRCv3 message-tags: 4094 of tag data). A longer line is answered `417` and not relayed.
pub const MAX_CLIENT_TAGS: usize = 4096;

/// The client-only tags (`+…`) of `msg`, as on the wire; the others (`label`, `time`, a
/// vendor's without `+`) are not relayed.
pub(super) fn client_tags(msg: &Message<'_>) -> String {
    let mut out = String::new();
    for t in msg
        .tags
        .iter()
        .filter(|t| t.key.starts_with('+') && t.key.len() > 1)
    {
        if !out.is_empty() {
            out.push(';');
        }
        out.push_str(t.key);
        if let Some(v) = t.value {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// Whether the tags of `raw` (a client's line) are longer than a client may send.
pub(super) fn client_tags_too_long(raw: &[u8]) -> bool {
    raw.first() == Some(&b'@')
        && raw.iter().position(|b| *b == b' ').unwrap_or(raw.len()) + 1 > MAX_CLIENT_TAGS
}

impl IrcSession {
    /// `text` sent with `command` to `target` by this client, cut to what one relayed line holds
    /// (`:nick!nick@natter COMMAND target :text\r\n` within 512 bytes, between characters), as
    /// IRC servers cut it: what the core takes, stores and delivers is what every recipient and
    /// the echo show. Text that long only an IRC client sends in one line; natter's own clients'
    /// longer texts are split into lines instead (`outgoing.rs`).
    pub(super) fn relaying(
        &self,
        command: &str,
        target: &str,
        text: &str,
        client_tags: &str,
    ) -> Relaying {
        let source = mask(&Name::from(self.target()));
        let overhead = 1 + source.len() + 1 + command.len() + 1 + target.len() + 2 + 2;
        let mut cut = text.len().min(MAX_BODY.saturating_sub(overhead).max(1));
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        Relaying {
            notice: command == "NOTICE",
            target: target.to_owned(),
            text: text[..cut].to_owned(),
            client_tags: client_tags.to_owned(),
            signal: None,
        }
    }

    /// `text` with `command` from `source` to `target`, with the tags this client asked for:
    /// `time` (server-time), and `msgid` and the client-only tags (message-tags).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn message_lines(
        &self,
        command: &str,
        source: &str,
        target: &str,
        text: &str,
        sent_at: Timestamp,
        msgid: Option<&str>,
        client_tags: &str,
        account: bool,
    ) -> Vec<u8> {
        let mut tags = Vec::new();
        if self.caps.server_time {
            tags.push(format!("time={}", server_time(sent_at)));
        }
        let nick = source.split('!').next().unwrap_or(source);
        tags.extend(self.account_tag(nick, account));
        if self.caps.message_tags {
            if let Some(id) = msgid {
                tags.push(format!("msgid={id}"));
            }
            if !client_tags.is_empty() {
                tags.push(client_tags.to_owned());
            }
        }
        let tags = (!tags.is_empty()).then(|| tags.join(";"));
        // natter's `/me` (and a CTCP an IRC client sent) is each line's text between CTCP's
        // delimiters; a CTCP reply stays a NOTICE, so that no client answers it.
        let (ctcp_command, open, body) = super::ctcp::to_irc(text);
        if open.is_empty() {
            return split_into(text, source, command, target, 0, |source, chunk| {
                line(
                    tags.as_deref(),
                    Some(source),
                    command,
                    &[target, chunk],
                    true,
                )
            });
        }
        let close = super::ctcp::close(&open);
        let wrap = |source: &str, chunk: &str| {
            let text = format!("{open}{chunk}{close}");
            line(
                tags.as_deref(),
                Some(source),
                ctcp_command,
                &[target, &text],
                true,
            )
        };
        if body.is_empty() {
            // An action with no words still says something: one line.
            return wrap(source, "");
        }
        split_into(
            body,
            source,
            ctcp_command,
            target,
            open.len() + close.len(),
            wrap,
        )
    }

    /// With `echo-message`: the message this client sent, back to it once the core took it, with
    /// the msgid its recipients got.
    pub(super) fn echo(&self, r: &Relaying, msgid: &str, sent_at: Timestamp, out: &mut Vec<Step>) {
        if !self.caps.echo_message || !self.is_online() {
            return;
        }
        self.say_back(r, msgid, sent_at, out);
    }

    /// A message this client sent to itself: the core refuses those (natter has no use for
    /// them), IRC delivers them, so the front does, with nothing stored.
    pub(super) fn deliver_to_self(
        &self,
        r: &Relaying,
        msgid: &str,
        sent_at: Timestamp,
        out: &mut Vec<Step>,
    ) {
        self.say_back(r, msgid, sent_at, out);
    }

    /// This client's own message said back to it as it is said to its recipients, with their
    /// msgid; a TAGMSG only to a client that takes tags.
    fn say_back(&self, r: &Relaying, msgid: &str, sent_at: Timestamp, out: &mut Vec<Step>) {
        if r.signal.is_some() {
            if self.caps.message_tags {
                let source = mask(&Name::from(self.target()));
                let line = self.tagmsg_line(
                    &source,
                    &r.target,
                    &r.client_tags,
                    sent_at,
                    msgid,
                    self.own_account(),
                );
                out.push(Step::Say(line));
            }
            return;
        }
        let command = if r.notice { "NOTICE" } else { "PRIVMSG" };
        let source = mask(&Name::from(self.target()));
        out.push(Step::Say(self.message_lines(
            command,
            &source,
            &r.target,
            &r.text,
            sent_at,
            Some(msgid),
            &r.client_tags,
            self.own_account(),
        )));
    }
}
