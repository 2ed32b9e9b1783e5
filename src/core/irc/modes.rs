//! Channel modes as natter's group rules, both ways: `MODE #team +k beer` is `group rules team key
//! beer`, and the core's `GROUP-CHANGED` is the `MODE` line every member sees; `MODE #team` is the
//! rules asked for (`324`), `MODE #team +b` the bans (`367`, `368`), `MODE #team +I` the invite
//! exceptions (`346`, `347`). The core decides everything
//! (`server::groups::modes`): who may change what, what a key, a limit, a voice or a ban means.
//!
//! | mode | group rule |
//! |---|---|
//! | `+i` / `-i` | `invite` / `open` |
//! | `+t` / `-t` | `topic-ops` / `topic-members` |
//! | `+n` / `-n` | `members-only` / `external` |
//! | `+m` / `-m` | `moderated` / `unmoderated` |
//! | `+k key` / `-k` | `key key` / `no-key` |
//! | `+l n` / `-l` | `limit n` / `no-limit` |
//! | `+o nick` / `-o nick` | `op nick` / `deop nick` |
//! | `+v nick` / `-v nick` | `voice nick` / `devoice nick` |
//! | `+b mask` / `-b mask` | `ban mask` / `unban mask` |
//! | `+I mask` / `-I mask` | `allow mask` / `disallow mask` (invite exceptions) |
//! | `+e mask` / `-e mask` | `except mask` / `unexcept mask` (ban exceptions; `m:mask` a mute's) |
//! | `+C` / `-C` | `no-ctcp` / `ctcp` |
//! | `+s` / `-s` | `secret` / `listed` (`@` in `NAMES`) |
//!
//! The front also keeps each channel's operators and voiced members as the rules last said, for
//! the `@` and `+` of `NAMES` (both, `@+`, with `multi-prefix`).

use super::channel_book::{RulesAsked, group_of};
use super::message::Message;
use super::session::{IrcSession, Step, line, mask};
use crate::protocol::group_change::changes_text;
use crate::protocol::{ErrorReply, GroupChange, Name, ServerMsg};

impl IrcSession {
    /// `MODE #team [modes [params…]]`.
    pub(super) fn channel_mode(&mut self, channel: &str, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(group) = group_of(channel).map(str::to_owned) else {
            out.push(Step::Say(self.no_such_channel(channel)));
            return;
        };
        let Some(modes) = msg.param(1) else {
            self.ask_rules(&group, RulesAsked::Modes, out);
            return;
        };
        let mut args = msg.params.iter().skip(2).copied();
        let (mut plus, mut changes, mut list_bans, mut list_allowed) =
            (true, Vec::new(), false, false);
        let mut list_exceptions = false;
        let mut said = Vec::new();
        for c in modes.chars() {
            let change = match c {
                '+' | '-' => {
                    plus = c == '+';
                    continue;
                }
                'i' => GroupChange::Open(!plus),
                't' => GroupChange::TopicByMembers(!plus),
                'n' => GroupChange::External(!plus),
                'm' => GroupChange::Moderated(plus),
                'C' => GroupChange::NoCtcp(plus),
                's' => GroupChange::Secret(plus),
                'k' if !plus => {
                    args.next();
                    GroupChange::Key(None)
                }
                'k' => match args.next() {
                    Some(k) if !k.is_empty() && !k.contains(char::is_whitespace) => {
                        GroupChange::Key(Some(k.to_owned()))
                    }
                    Some(_) => {
                        said.extend(self.invalid_param(channel, 'k', "*", "Invalid key"));
                        continue;
                    }
                    None => continue,
                },
                'l' if !plus => GroupChange::Limit(None),
                'l' => match args.next() {
                    Some(n) => match n
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                        .then(|| n.parse::<u32>().ok())
                        .flatten()
                        .filter(|&n| n > 0)
                    {
                        Some(n) => GroupChange::Limit(Some(n)),
                        None => {
                            said.extend(self.invalid_param(
                                channel,
                                'l',
                                n,
                                "The limit is a number of members, from 1",
                            ));
                            continue;
                        }
                    },
                    None => continue,
                },
                'o' | 'v' => match args.next() {
                    Some(nick) if !nick.is_empty() && !nick.contains(char::is_whitespace) => {
                        let nick = Name::from(nick);
                        if c == 'o' {
                            GroupChange::Op(nick, plus)
                        } else {
                            GroupChange::Voice(nick, plus)
                        }
                    }
                    Some(nick) => {
                        said.extend(self.numeric("401", &[nick], "No such nick/channel"));
                        continue;
                    }
                    None => continue,
                },
                'b' | 'I' | 'e' => match args.next() {
                    Some(m) if !m.is_empty() && !m.contains(char::is_whitespace) => match c {
                        'b' => GroupChange::Ban(m.to_owned(), plus),
                        'e' => GroupChange::Except(m.to_owned(), plus),
                        _ => GroupChange::Allow(m.to_owned(), plus),
                    },
                    Some(_) => {
                        said.extend(self.invalid_param(channel, c, "*", "Invalid mask"));
                        continue;
                    }
                    None if c == 'b' => {
                        list_bans = true;
                        continue;
                    }
                    None if c == 'e' => {
                        list_exceptions = true;
                        continue;
                    }
                    None => {
                        list_allowed = true;
                        continue;
                    }
                },
                other => {
                    said.extend(self.numeric(
                        "472",
                        &[&other.to_string()],
                        "is not a channel mode natter has",
                    ));
                    continue;
                }
            };
            changes.push(change);
        }
        if !said.is_empty() {
            out.push(Step::Say(said));
        }
        if !changes.is_empty() {
            self.channels.changing.push(group.clone());
            out.push(Step::Feed(
                format!("group rules {group} {}", changes_text(&changes)).into_bytes(),
            ));
        }
        if list_bans {
            self.ask_rules(&group, RulesAsked::Bans, out);
        }
        if list_allowed {
            self.ask_rules(&group, RulesAsked::Allowed, out);
        }
        if list_exceptions {
            self.ask_rules(&group, RulesAsked::Exceptions, out);
        }
    }

    /// Feeds `group rules <group>`, remembering what for.
    pub(super) fn ask_rules(&mut self, group: &str, why: RulesAsked, out: &mut Vec<Step>) {
        self.channels.rules_asked.push((group.to_owned(), why));
        out.push(Step::Feed(format!("group rules {group}").into_bytes()));
    }

    /// `696`: a mode's parameter natter will not take.
    fn invalid_param(&self, channel: &str, mode: char, param: &str, why: &str) -> Vec<u8> {
        // An empty parameter cannot stand before the text: `*` says "none".
        let param = if param.is_empty() { "*" } else { param };
        self.numeric("696", &[channel, &mode.to_string(), param], why)
    }

    /// The core's lines about rules (`GROUP-RULES`, `GROUP-CHANGED`) and the refusals of a `group
    /// rules` the front sent: `true` if it was one and is answered.
    pub(super) fn rules_line(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        match msg {
            ServerMsg::GroupRules { group, rules } => {
                let why = self.take_ask(group);
                let roles = self.channels.roles.entry(group.to_string()).or_default();
                roles.ops.clear();
                roles.voiced.clear();
                roles.secret = false;
                for r in rules {
                    match r {
                        GroupChange::Secret(s) => {
                            roles.secret = *s;
                            false
                        }
                        GroupChange::Op(u, true) => roles.ops.insert(u.clone()),
                        GroupChange::Voice(u, true) => roles.voiced.insert(u.clone()),
                        _ => false,
                    };
                }
                let channel = format!("#{group}");
                match why {
                    Some(RulesAsked::Modes) => {
                        let (modes, params) = modes_of(rules);
                        let mut all: Vec<&str> = vec![&channel, &modes];
                        all.extend(params.iter().map(String::as_str));
                        let mut p = vec![self.target()];
                        p.extend(all);
                        out.push(Step::Say(line(
                            None,
                            Some(self.server_name()),
                            "324",
                            &p,
                            false,
                        )));
                    }
                    Some(RulesAsked::Bans) => {
                        let mut lines = Vec::new();
                        for r in rules {
                            if let GroupChange::Ban(m, true) = r {
                                let p = [self.target(), &channel, m];
                                lines.extend(line(
                                    None,
                                    Some(self.server_name()),
                                    "367",
                                    &p,
                                    false,
                                ));
                            }
                        }
                        lines.extend(self.numeric("368", &[&channel], "End of channel ban list"));
                        out.push(Step::Say(lines));
                    }
                    Some(RulesAsked::Allowed) => {
                        let mut lines = Vec::new();
                        for r in rules {
                            if let GroupChange::Allow(m, true) = r {
                                let p = [self.target(), &channel, m];
                                lines.extend(line(
                                    None,
                                    Some(self.server_name()),
                                    "346",
                                    &p,
                                    false,
                                ));
                            }
                        }
                        lines.extend(self.numeric(
                            "347",
                            &[&channel],
                            "End of Channel Invite Exception List",
                        ));
                        out.push(Step::Say(lines));
                    }
                    Some(RulesAsked::Exceptions) => {
                        let mut lines = Vec::new();
                        for r in rules {
                            if let GroupChange::Except(m, true) = r {
                                let p = [self.target(), &channel, m];
                                lines.extend(line(
                                    None,
                                    Some(self.server_name()),
                                    "348",
                                    &p,
                                    false,
                                ));
                            }
                        }
                        lines.extend(self.numeric(
                            "349",
                            &[&channel],
                            "End of Channel Exception List",
                        ));
                        out.push(Step::Say(lines));
                    }
                    Some(RulesAsked::Roles) | None => {}
                }
                true
            }
            ServerMsg::GroupChanged { group, by, changes } => {
                if **by == *self.target() {
                    super::channel_book::take(&mut self.channels.changing, group);
                }
                let roles = self.channels.roles.entry(group.to_string()).or_default();
                for c in changes {
                    match c {
                        GroupChange::Op(u, true) => roles.ops.insert(u.clone()),
                        GroupChange::Op(u, false) => roles.ops.remove(u),
                        GroupChange::Voice(u, true) => roles.voiced.insert(u.clone()),
                        GroupChange::Voice(u, false) => roles.voiced.remove(u),
                        GroupChange::Secret(s) => {
                            roles.secret = *s;
                            false
                        }
                        _ => false,
                    };
                }
                if !changes.is_empty() {
                    let (modes, params) = mode_changes(changes);
                    let channel = format!("#{group}");
                    let mut p: Vec<&str> = vec![&channel, &modes];
                    p.extend(params.iter().map(String::as_str));
                    out.push(Step::Say(line(None, Some(&mask(by)), "MODE", &p, false)));
                }
                true
            }
            ServerMsg::Error(ErrorReply::NotMember { group })
            | ServerMsg::Error(ErrorReply::NotOwner { group }) => {
                // A refusal of a silent ask says nothing; of `MODE #team`, the numeric as for any
                // group command (`channels.rs`).
                if self.channels.rules_asked.iter().any(|(g, _)| g == &**group) {
                    return self.take_ask(group) == Some(RulesAsked::Roles);
                }
                super::channel_book::take(&mut self.channels.changing, group);
                false
            }
            ServerMsg::Error(ErrorReply::NoSuchGroup { group }) => {
                if self.channels.rules_asked.iter().any(|(g, _)| g == group) {
                    return self.take_ask(group) == Some(RulesAsked::Roles);
                }
                super::channel_book::take(&mut self.channels.changing, group);
                false
            }
            ServerMsg::Error(ErrorReply::InvalidKey { .. } | ErrorReply::InvalidMask { .. }) => {
                let (mode, why) = match msg {
                    ServerMsg::Error(ErrorReply::InvalidKey { .. }) => ('k', "Invalid key"),
                    _ => ('b', "Invalid mask"),
                };
                let channel = match self.channels.changing.first() {
                    Some(g) => format!("#{g}"),
                    None => "*".to_owned(),
                };
                let e = match msg {
                    ServerMsg::Error(e) => e.text(),
                    _ => why.to_owned(),
                };
                out.push(Step::Say(self.invalid_param(&channel, mode, "*", &e)));
                true
            }
            _ => false,
        }
    }

    /// Takes the first ask for `group`: what it was for.
    fn take_ask(&mut self, group: &str) -> Option<RulesAsked> {
        let i = self
            .channels
            .rules_asked
            .iter()
            .position(|(g, _)| g == group)?;
        Some(self.channels.rules_asked.remove(i).1)
    }

    /// `nick`'s prefix in `group`'s `NAMES`: `@` an operator, `+` voiced; with `multi-prefix`,
    /// both (`@+`), else the highest.
    pub(super) fn prefix(&self, group: &str, nick: &Name) -> String {
        let roles = self.channels.roles.get(group);
        let op = roles.is_some_and(|r| r.ops.contains(nick))
            || self.channels.owners.get(group) == Some(nick);
        let voiced = roles.is_some_and(|r| r.voiced.contains(nick));
        match (op, voiced) {
            (true, true) if self.caps.multi_prefix => "@+".into(),
            (true, _) => "@".into(),
            (false, true) => "+".into(),
            (false, false) => String::new(),
        }
    }
}

/// A channel's modes as `324` shows them: `+ntk key` from the group's rules (operators, voices
/// and bans are not modes of the channel's own).
fn modes_of(rules: &[GroupChange]) -> (String, Vec<String>) {
    let (mut open, mut topic_members, mut external) = (false, false, false);
    let (mut flags, mut params) = (String::from("+"), Vec::new());
    for r in rules {
        match r {
            GroupChange::Open(v) => open = *v,
            GroupChange::TopicByMembers(v) => topic_members = *v,
            GroupChange::External(v) => external = *v,
            GroupChange::Moderated(true) => flags.push('m'),
            GroupChange::NoCtcp(true) => flags.push('C'),
            GroupChange::Secret(true) => flags.push('s'),
            GroupChange::Key(Some(k)) => {
                flags.push('k');
                params.push(k.clone());
            }
            GroupChange::Limit(Some(n)) => {
                flags.push('l');
                params.push(n.to_string());
            }
            _ => {}
        }
    }
    let mut head = String::from("+");
    if !open {
        head.push('i');
    }
    if !external {
        head.push('n');
    }
    if !topic_members {
        head.push('t');
    }
    (format!("{head}{}", &flags[1..]), params)
}

/// Changes as one `MODE` line's mode string and parameters: `+o-v bob carol`.
fn mode_changes(changes: &[GroupChange]) -> (String, Vec<String>) {
    let (mut modes, mut params, mut sign) = (String::new(), Vec::new(), None);
    for c in changes {
        let (plus, letter, param) = match c {
            GroupChange::Open(v) => (!v, 'i', None),
            GroupChange::TopicByMembers(v) => (!v, 't', None),
            GroupChange::External(v) => (!v, 'n', None),
            GroupChange::Moderated(v) => (*v, 'm', None),
            GroupChange::Key(Some(k)) => (true, 'k', Some(k.clone())),
            GroupChange::Key(None) => (false, 'k', Some("*".to_owned())),
            GroupChange::Limit(Some(n)) => (true, 'l', Some(n.to_string())),
            GroupChange::Limit(None) => (false, 'l', None),
            GroupChange::Op(u, v) => (*v, 'o', Some(u.to_string())),
            GroupChange::Voice(u, v) => (*v, 'v', Some(u.to_string())),
            GroupChange::Ban(m, v) => (*v, 'b', Some(m.clone())),
            GroupChange::Allow(m, v) => (*v, 'I', Some(m.clone())),
            GroupChange::Except(m, v) => (*v, 'e', Some(m.clone())),
            GroupChange::NoCtcp(v) => (*v, 'C', None),
            GroupChange::Secret(v) => (*v, 's', None),
        };
        if sign != Some(plus) {
            modes.push(if plus { '+' } else { '-' });
            sign = Some(plus);
        }
        modes.push(letter);
        params.extend(param);
    }
    (modes, params)
}
