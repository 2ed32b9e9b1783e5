//! IRCv3 `TAGMSG` (a message of tags alone: typing notifications, reactions) as natter's signals,
//! both ways. A `TAGMSG` whose client-only tags (`+typing=active`) make a signal becomes `signal
//! <user> <tags>` or `signal group <name> <tags>` (the tags without their `+`), so natter's rules
//! decide who it reaches (a group's members, not those who blocked the sender, online only, never
//! kept) and the core charges it to the sender's flood budget. A signal from anyone reaches an IRC
//! client as `TAGMSG` with its tags, its `msgid` and `time`, only if the client asked for
//! `message-tags` (without it, nothing: IRCv3 says a client that did not ask gets no `TAGMSG`).
//! The echo and the labeled reply go as for `PRIVMSG` (`relay.rs`).

use super::channel_book::group_of;
use super::message::Message;
use super::outgoing::server_time;
use super::relay_book::Relaying;
use super::session::{IrcSession, Step, line, mask};
use crate::protocol::Name;
use crate::time::Timestamp;

/// An IRC client's client-only tags (`+a=b;+c`) as a natter signal's (`a=b;c`).
pub(super) fn signal_of(client_tags: &str) -> String {
    client_tags
        .split(';')
        .map(|t| t.strip_prefix('+').unwrap_or(t))
        .collect::<Vec<_>>()
        .join(";")
}

/// A natter signal's tags (`a=b;c`) as IRC client-only tags (`+a=b;+c`).
fn client_tags_of(signal: &str) -> String {
    signal
        .split(';')
        .map(|t| format!("+{t}"))
        .collect::<Vec<_>>()
        .join(";")
}

impl IrcSession {
    /// `TAGMSG target`: a signal to each target (up to [`super::incoming::MAX_TARGETS`]). Without
    /// client-only tags there is nothing to signal, and nothing is said.
    pub(super) fn tagmsg(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(targets) = msg.param(0).filter(|t| !t.is_empty()) else {
            out.push(Step::Say(self.numeric(
                "411",
                &[],
                "No recipient given (TAGMSG)",
            )));
            return;
        };
        let client_tags = super::relay::client_tags(msg);
        if client_tags.is_empty() {
            return;
        }
        let signal = signal_of(&client_tags);
        for target in targets
            .split(',')
            .filter(|t| !t.is_empty())
            .take(super::incoming::MAX_TARGETS)
        {
            let relaying = Relaying {
                notice: false,
                target: target.to_owned(),
                text: String::new(),
                client_tags: client_tags.clone(),
                signal: Some(signal.clone()),
            };
            let line = if target.starts_with(['#', '&']) {
                match group_of(target) {
                    Some(group) => format!("signal group {group} {signal}"),
                    None => {
                        out.push(Step::Say(self.no_such_channel(target)));
                        continue;
                    }
                }
            } else {
                format!("signal {target} {signal}")
            };
            out.push(Step::Relay(line.into_bytes(), relaying));
        }
    }

    /// A signal from `from` to `target` (this client's nick, or `#group`), as `TAGMSG` for a client
    /// that asked for `message-tags`; nothing for one that did not.
    pub(super) fn signal_line(
        &self,
        from: &Name,
        target: &str,
        tags: &str,
        sent_at: Timestamp,
        id: u64,
        out: &mut Vec<Step>,
    ) {
        if !self.caps.message_tags {
            return;
        }
        let msgid = id.to_string();
        out.push(Step::Say(self.tagmsg_line(
            &mask(from),
            target,
            &client_tags_of(tags),
            sent_at,
            &msgid,
            self.sender_account,
        )));
    }

    /// `:source TAGMSG target` with `time` (server-time), `msgid` and the client-only tags.
    pub(super) fn tagmsg_line(
        &self,
        source: &str,
        target: &str,
        client_tags: &str,
        sent_at: Timestamp,
        msgid: &str,
        account: bool,
    ) -> Vec<u8> {
        let mut tags = Vec::new();
        if self.caps.server_time {
            tags.push(format!("time={}", server_time(sent_at)));
        }
        let nick = source.split('!').next().unwrap_or(source);
        tags.extend(self.account_tag(nick, account));
        tags.push(format!("msgid={msgid}"));
        if !client_tags.is_empty() {
            tags.push(client_tags.to_owned());
        }
        line(
            Some(&tags.join(";")),
            Some(source),
            "TAGMSG",
            &[target],
            false,
        )
    }
}
