//! natter's groups as IRC channels (`#team` is the group `team`), both ways: `JOIN`, `PART`,
//! `PRIVMSG #team`, `NAMES`, `TOPIC`, `INVITE`, `KICK` and `LIST` become the `group` commands, and
//! the core's group lines become IRC's (`JOIN`, `PART`, `KICK`, `TOPIC`, `INVITE` lines from the
//! one who acted, and the numerics of the replies). natter's group rules decide everything: who
//! may join (an open group, or an invitation), who may remove (the owner, shown as the channel
//! operator `@`), the topic, the size.
//!
//! A channel made by `JOIN` is open (`group mode <name> open`), as IRC channels are unless `+i`; one
//! made on natter's protocol keeps natter's default (joining needs an invitation).
//!
//! What the front keeps for it, because IRC's replies need it and the core's lines do not say:
//! the joins under way (a `JOIN` of a group that does not exist creates it, so the core's
//! `no-such-group` is answered with `create group`), the groups just joined (the core's topic for a
//! joiner is `332`, and the members asked for after the join are the `353`/`366` that end it), the
//! topics and lists asked for, and each channel's owner as far as the front saw it.

use super::channel_book::{RulesAsked, group_of, take};
use super::message::Message;
use super::relay_book::Relaying;
use super::session::{IrcSession, Step, line, mask};
use crate::protocol::{ErrorReply, Name, ServerMsg};
use crate::time::Timestamp;

/// The natter word that clears a group's topic (`group topic <name> -`).
const CLEAR_TOPIC: &str = "-";

/// The most nicks one `KICK` removes (`TARGMAX` in the welcome's `005`).
pub(super) const KICK_TARGETS: usize = 4;

impl IrcSession {
    /// `JOIN #a,#b`: each a `group join` (then `create group` if there is no such group).
    pub(super) fn join(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(list) = msg.param(0).filter(|l| !l.is_empty()) else {
            out.push(Step::Say(self.not_enough_params("JOIN")));
            return;
        };
        // `JOIN #a,#b key1,key2`: each channel's key, in order (one with a space cannot be a key).
        let mut keys = msg.param(1).unwrap_or("").split(',');
        for channel in list.split(',').filter(|c| !c.is_empty()) {
            let key = keys
                .next()
                .filter(|k| !k.is_empty() && !k.contains(char::is_whitespace));
            match group_of(channel) {
                Some(group) => {
                    self.channels.joining.push(group.to_owned());
                    let line = match key {
                        Some(k) => format!("group join {group} {k}"),
                        None => format!("group join {group}"),
                    };
                    out.push(Step::Feed(line.into_bytes()));
                }
                None => out.push(Step::Say(self.numeric(
                    "403",
                    &[channel],
                    "No such channel (natter's channels start with #)",
                ))),
            }
        }
    }

    /// `PART #a,#b [:reason]`: each a `group leave`.
    pub(super) fn part(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(list) = msg.param(0).filter(|l| !l.is_empty()) else {
            out.push(Step::Say(self.not_enough_params("PART")));
            return;
        };
        // The reason goes to the members as the core's `group leave` carries it.
        let reason = msg.param(1).filter(|r| !r.trim().is_empty());
        for channel in list.split(',').filter(|c| !c.is_empty()) {
            match group_of(channel) {
                Some(group) => {
                    let line = match reason {
                        Some(r) => format!("group leave {group} {r}"),
                        None => format!("group leave {group}"),
                    };
                    out.push(Step::Feed(line.into_bytes()));
                }
                None => out.push(Step::Say(self.no_such_channel(channel))),
            }
        }
    }

    /// `PRIVMSG #team :text` (and `NOTICE`, which is never answered with an error): `message group`.
    pub(super) fn post(&mut self, channel: &str, relaying: Relaying, out: &mut Vec<Step>) {
        match group_of(channel) {
            Some(group) => {
                self.channels.posting.push(group.to_owned());
                let line = format!("message group {group} {}", relaying.text);
                out.push(Step::Relay(line.into_bytes(), relaying));
            }
            None if relaying.notice => {}
            None => out.push(Step::Say(self.no_such_channel(channel))),
        }
    }

    /// `NAMES #team`: `group members`; without a channel, only the end of the list.
    pub(super) fn names(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(list) = msg.param(0).filter(|l| !l.is_empty()) else {
            out.push(Step::Say(self.numeric("366", &["*"], "End of /NAMES list")));
            return;
        };
        for channel in list.split(',').filter(|c| !c.is_empty()) {
            match group_of(channel) {
                Some(group) => {
                    self.ask_rules(group, RulesAsked::Roles, out);
                    self.channels.names_asked.push(group.to_owned());
                    out.push(Step::Feed(format!("group members {group}").into_bytes()));
                }
                None => out.push(Step::Say(self.numeric(
                    "366",
                    &[channel],
                    "End of /NAMES list",
                ))),
            }
        }
    }

    /// `TOPIC #team` asks; `TOPIC #team :text` sets (an empty text clears it).
    pub(super) fn topic(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(channel) = msg.param(0) else {
            out.push(Step::Say(self.not_enough_params("TOPIC")));
            return;
        };
        let Some(group) = group_of(channel) else {
            out.push(Step::Say(self.no_such_channel(channel)));
            return;
        };
        match msg.param(1) {
            None => {
                self.channels.topic_asked.push(group.to_owned());
                out.push(Step::Feed(format!("group topic {group}").into_bytes()));
            }
            Some(text) => {
                let text = if text.trim().is_empty() {
                    self.channels.clearing.push(group.to_owned());
                    CLEAR_TOPIC
                } else {
                    text
                };
                out.push(Step::Feed(
                    format!("group topic {group} {text}").into_bytes(),
                ));
            }
        }
    }

    /// `INVITE nick #team`: `group add` (an invitation, which the invited accept by joining).
    pub(super) fn invite(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let (Some(nick), Some(channel)) = (msg.param(0), msg.param(1)) else {
            out.push(Step::Say(self.not_enough_params("INVITE")));
            return;
        };
        match group_of(channel) {
            Some(group) => out.push(Step::Feed(format!("group add {group} {nick}").into_bytes())),
            None => out.push(Step::Say(self.no_such_channel(channel))),
        }
    }

    /// `KICK #team nick [:reason]`: `group remove` (the owner's).
    pub(super) fn kick(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let (Some(channels), Some(nicks)) = (msg.param(0), msg.param(1)) else {
            out.push(Step::Say(self.not_enough_params("KICK")));
            return;
        };
        // Without a comment, the kicker's nick is the comment, as IRC says.
        let me = self.target().to_owned();
        let reason = msg.param(2).filter(|r| !r.trim().is_empty()).unwrap_or(&me);
        // One channel for every nick, or channels and nicks paired in order (`KICK #a,#b x,y`);
        // up to `KICK_TARGETS` (`TARGMAX`), the rest dropped as IRC allows.
        let channels: Vec<&str> = channels.split(',').filter(|c| !c.is_empty()).collect();
        let nicks = nicks
            .split(',')
            .filter(|n| !n.is_empty())
            .take(KICK_TARGETS);
        for (i, nick) in nicks.enumerate() {
            let Some(channel) = channels.get(i).or(channels.first()).copied() else {
                out.push(Step::Say(self.not_enough_params("KICK")));
                return;
            };
            let Some(group) = group_of(channel) else {
                out.push(Step::Say(self.no_such_channel(channel)));
                continue;
            };
            let line = format!("group remove {group} {nick} {reason}");
            out.push(Step::Feed(line.into_bytes()));
        }
    }

    /// A line of the core's about groups, as IRC: `true` if it was one.
    pub(super) fn group_line(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        if self.rules_line(msg, out) {
            return true;
        }
        let me = self.target().to_owned();
        match msg {
            ServerMsg::GroupMessage {
                id,
                sent_at,
                group,
                from,
                text,
            } => out.push(Step::Say(
                self.channel_privmsg(from, group, text, *sent_at, *id),
            )),
            ServerMsg::GroupSent { group, .. } => {
                take(&mut self.channels.posting, group);
            }
            ServerMsg::GroupCreated { group, members } => {
                take(&mut self.channels.joining, group);
                self.channels
                    .owners
                    .insert(group.to_string(), Name::from(me.as_str()));
                let roles = self.channels.roles.entry(group.to_string()).or_default();
                roles.ops = [Name::from(me.as_str())].into();
                roles.voiced.clear();
                let join = self.join_line(&me, &format!("#{group}"), self.own_account());
                out.push(Step::Say(join));
                out.push(Step::Say(self.names_lines(group, members)));
                // A channel made by JOIN is open, as IRC's are: anyone may join it by name.
                self.channels.opening.push(group.to_string());
                out.push(Step::Feed(format!("group mode {group} open").into_bytes()));
            }
            ServerMsg::GroupMode { group, .. } if take(&mut self.channels.opening, group) => {}
            ServerMsg::GroupJoined { group, user, .. } if **user == *me => {
                take(&mut self.channels.joining, group);
                self.channels.joined_now.push(group.to_string());
                let join = self.join_line(user, &format!("#{group}"), self.own_account());
                out.push(Step::Say(join));
                self.ask_rules(group, RulesAsked::Roles, out);
                out.push(Step::Feed(format!("group members {group}").into_bytes()));
            }
            ServerMsg::GroupJoined { group, user, .. } => {
                let join = self.join_line(user, &format!("#{group}"), self.sender_account);
                out.push(Step::Say(join));
            }
            ServerMsg::GroupLeft {
                group,
                user,
                reason,
            } => {
                self.forget_roles(group, user);
                if **user == *me {
                    self.channels.owners.remove(group.as_ref());
                }
                let channel = format!("#{group}");
                let part = if reason.is_empty() {
                    user_line(user, "PART", &[&channel])
                } else {
                    line(None, Some(&mask(user)), "PART", &[&channel, reason], true)
                };
                out.push(Step::Say(part));
            }
            ServerMsg::GroupRemoved {
                group,
                user,
                by,
                reason,
            } => {
                self.forget_roles(group, user);
                // Without a reason, the comment is the kicker's nick, as IRC servers do.
                let reason = if reason.is_empty() { &**by } else { reason };
                let channel = format!("#{group}");
                out.push(Step::Say(line(
                    None,
                    Some(&mask(by)),
                    "KICK",
                    &[&channel, user, reason],
                    true,
                )));
            }
            ServerMsg::GroupOwner { group, owner } => {
                self.channels
                    .owners
                    .insert(group.to_string(), owner.clone());
                let roles = self.channels.roles.entry(group.to_string()).or_default();
                roles.ops.insert(owner.clone());
                let channel = format!("#{group}");
                out.push(Step::Say(line(
                    None,
                    Some(self.server_name()),
                    "MODE",
                    &[&channel, "+o", owner],
                    false,
                )));
            }
            ServerMsg::GroupTopic { group, by, topic } => {
                let channel = format!("#{group}");
                let asked = take(&mut self.channels.topic_asked, group)
                    || self.channels.joined_now.iter().any(|g| g == &**group);
                if asked {
                    out.push(Step::Say(self.numeric("332", &[&channel], topic)));
                } else {
                    out.push(Step::Say(line(
                        None,
                        Some(&mask(by)),
                        "TOPIC",
                        &[&channel, topic],
                        true,
                    )));
                }
            }
            ServerMsg::GroupNoTopic { group } if take(&mut self.channels.topic_asked, group) => {
                out.push(Step::Say(self.numeric(
                    "331",
                    &[&format!("#{group}")],
                    "No topic is set",
                )));
            }
            ServerMsg::GroupNoTopic { group } => {
                // The topic was cleared: a `TOPIC` with an empty text, from who cleared it if it
                // was this connection (the core's line does not say who), else from the server.
                let source = if take(&mut self.channels.clearing, group) {
                    mask(&Name::from(me.as_str()))
                } else {
                    self.server_name().to_owned()
                };
                let channel = format!("#{group}");
                out.push(Step::Say(line(
                    None,
                    Some(&source),
                    "TOPIC",
                    &[&channel, ""],
                    true,
                )));
            }
            ServerMsg::GroupMembers { group, members } => {
                take(&mut self.channels.joined_now, group);
                take(&mut self.channels.names_asked, group);
                out.push(Step::Say(self.names_lines(group, members)));
            }
            ServerMsg::GroupListed { .. } | ServerMsg::GroupsEnd => return self.listed(msg, out),
            ServerMsg::GroupInvited { group, user } => {
                let channel = format!("#{group}");
                out.push(Step::Say(line(
                    None,
                    Some(self.server_name()),
                    "341",
                    &[&me, user, &channel],
                    false,
                )));
            }
            ServerMsg::GroupInvitation { group, by, .. } => {
                let channel = format!("#{group}");
                out.push(Step::Say(line(
                    None,
                    Some(&mask(by)),
                    "INVITE",
                    &[&me, &channel],
                    false,
                )));
            }
            ServerMsg::Error(e) => return self.group_error(e, out),
            _ => return false,
        }
        true
    }

    /// A refusal of a group command, as its numeric: `true` if it was one. A `JOIN` of a group
    /// that does not exist creates it.
    fn group_error(&mut self, e: &ErrorReply, out: &mut Vec<Step>) -> bool {
        let text = e.text();
        let said = match e {
            ErrorReply::NoSuchGroup { group } if self.channels.joining.contains(group) => {
                out.push(Step::Feed(format!("create group {group}").into_bytes()));
                return true;
            }
            // `NAMES` of a channel one cannot see: only the end of the list, as IRC servers say.
            ErrorReply::NoSuchGroup { group } if take(&mut self.channels.names_asked, group) => {
                self.numeric("366", &[&format!("#{group}")], "End of /NAMES list")
            }
            ErrorReply::NotMember { group } if take(&mut self.channels.names_asked, group) => {
                self.numeric("366", &[&format!("#{group}")], "End of /NAMES list")
            }
            ErrorReply::NoSuchGroup { group } => {
                take(&mut self.channels.posting, group);
                take(&mut self.channels.topic_asked, group);
                self.numeric("403", &[&format!("#{group}")], &text)
            }
            ErrorReply::InvalidGroupName(_) | ErrorReply::NeedsAccount
                if !self.channels.joining.is_empty() =>
            {
                let group = self.channels.joining.remove(0);
                let channel = format!("#{group}");
                if matches!(e, ErrorReply::NeedsAccount) {
                    self.numeric(
                        "477",
                        &[&channel],
                        "You need a natter account to join channels (guests cannot)",
                    )
                } else {
                    self.numeric("479", &[&channel], &text)
                }
            }
            ErrorReply::GroupExists { group } | ErrorReply::AlreadyMember { group, .. }
                if take(&mut self.channels.joining, group) =>
            {
                // Already in it, or created by someone else a moment ago: nothing to say.
                return true;
            }
            ErrorReply::AlreadyMember { group, user } => self.numeric(
                "443",
                &[user, &format!("#{group}")],
                "is already on channel",
            ),
            ErrorReply::InviteOnly { group } => {
                take(&mut self.channels.joining, group);
                self.numeric("473", &[&format!("#{group}")], &text)
            }
            ErrorReply::GroupFull { group, .. } => {
                take(&mut self.channels.joining, group);
                self.numeric("471", &[&format!("#{group}")], &text)
            }
            ErrorReply::WrongKey { group } => {
                take(&mut self.channels.joining, group);
                self.numeric("475", &[&format!("#{group}")], &text)
            }
            ErrorReply::BannedFromGroup { group } => {
                take(&mut self.channels.joining, group);
                self.numeric("474", &[&format!("#{group}")], &text)
            }
            ErrorReply::CannotPost { group } => {
                take(&mut self.channels.posting, group);
                self.numeric("404", &[&format!("#{group}")], &text)
            }
            ErrorReply::NotMember { group } if take(&mut self.channels.posting, group) => {
                self.numeric("404", &[&format!("#{group}")], &text)
            }
            ErrorReply::NotMember { group } => {
                take(&mut self.channels.topic_asked, group);
                self.numeric("442", &[&format!("#{group}")], &text)
            }
            ErrorReply::NotOwner { group } => self.numeric("482", &[&format!("#{group}")], &text),
            ErrorReply::NotAMember { group, user } => {
                self.numeric("441", &[user, &format!("#{group}")], &text)
            }
            _ => return false,
        };
        out.push(Step::Say(said));
        true
    }

    /// `353` (the members, the owner as `@` when the front knows it) and `366`.
    fn names_lines(&self, group: &str, members: &[Name]) -> Vec<u8> {
        let channel = format!("#{group}");
        let names: Vec<String> = members
            .iter()
            .map(|m| {
                // With userhost-in-names, each as its mask.
                let shown = if self.caps.userhost_in_names {
                    mask(m)
                } else {
                    m.to_string()
                };
                format!("{}{shown}", self.prefix(group, m))
            })
            .collect();
        // `@` for a secret channel, `=` for any other (RFC 2812).
        let secret = self.channels.roles.get(group).is_some_and(|r| r.secret);
        let symbol = if secret { "@" } else { "=" };
        // As many 353 lines as it takes to keep each within IRC's 512 bytes.
        let room = 400usize.saturating_sub(channel.len() + self.target().len());
        let mut lines = Vec::new();
        let mut chunk = String::new();
        for name in &names {
            if !chunk.is_empty() && chunk.len() + 1 + name.len() > room {
                lines.extend(self.numeric("353", &[symbol, &channel], &chunk));
                chunk.clear();
            }
            if !chunk.is_empty() {
                chunk.push(' ');
            }
            chunk.push_str(name);
        }
        if !chunk.is_empty() {
            lines.extend(self.numeric("353", &[symbol, &channel], &chunk));
        }
        lines.extend(self.numeric("366", &[&channel], "End of /NAMES list"));
        lines
    }

    /// A group message as `PRIVMSG #group`, from its sender.
    fn channel_privmsg(
        &self,
        from: &Name,
        group: &str,
        text: &str,
        sent_at: Timestamp,
        id: u64,
    ) -> Vec<u8> {
        self.privmsg(from, &format!("#{group}"), text, sent_at, id)
    }
}

impl IrcSession {
    /// `user` is in `group` no more: no operator or voice there.
    fn forget_roles(&mut self, group: &str, user: &Name) {
        if let Some(roles) = self.channels.roles.get_mut(group) {
            roles.ops.remove(user);
            roles.voiced.remove(user);
        }
        if **user == *self.target() {
            self.channels.roles.remove(group);
        }
    }
}

/// `:nick!nick@natter COMMAND params…`.
fn user_line(user: &str, command: &str, params: &[&str]) -> Vec<u8> {
    line(None, Some(&mask(&Name::from(user))), command, params, false)
}
