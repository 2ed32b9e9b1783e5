//! `WHO` (with IRCv3's WHOX), `WHOIS`, `WHOWAS` and `LUSERS`: each asked of the core (`who`,
//! `whois`, `whowas`, `lusers`), whose answers (`WHO-USER`, `WHOIS`, `WHOWAS-USER`, `LUSERS`…)
//! become IRC's numerics. The core decides what may be seen (its privacy rules: a user who blocked
//! the asker is not listed, a group's members are shown to its members); the front keeps only the
//! queries under way (`query_book.rs`). The welcome's `LUSERS` and message of the day come this way
//! too, after the core told who the user is (`userinfo`, from `USER`).

use super::message::Message;
use super::query_book::{Ask, Row, Whois};
use super::session::{IrcSession, SERVER_NAME, Step};
use crate::protocol::{ErrorReply, ServerMsg};
use crate::time::utc;

/// WHOX's fields, in the order of its reply whatever the order asked.
const WHOX_FIELDS: &str = "tcuihsnfdlaor";

impl IrcSession {
    /// `WHO [mask [%fields[,token]]]`: `who <mask>` (no mask, or `0`: everyone, `*`).
    pub(super) fn who(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let typed = msg.param(0).filter(|m| !m.is_empty()).unwrap_or("*");
        // A full mask (`nick!user@host`) is matched by its nick: natter's users differ by name only.
        let mask = match typed.split('!').next().unwrap_or(typed) {
            "0" | "" => "*",
            m => m,
        };
        let whox = msg.param(1).and_then(|f| f.strip_prefix('%')).map(|f| {
            let (fields, token) = f.split_once(',').unwrap_or((f, ""));
            (fields.to_owned(), token.to_owned())
        });
        // A mask natter cannot hold as one word matches no one: only the end is said.
        if mask.contains([' ', '\t']) || mask.len() > 64 {
            out.push(Step::Say(self.numeric("315", &[typed], "End of WHO list")));
            return;
        }
        self.queries.asked.push_back(Ask::Who {
            mask: typed.to_owned(),
            whox,
            rows: Vec::new(),
        });
        out.push(Step::Feed(format!("who {mask}").into_bytes()));
    }

    /// `WHOIS [server] nick[,nick…]`: for each, `whois` (presence, shared groups, away) and `who`
    /// (user name, real name, account); the client's own nick only `who`.
    pub(super) fn whois(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(nicks) = msg.params.last().filter(|n| !n.is_empty()) else {
            out.push(Step::Say(self.numeric("431", &[], "No nickname given")));
            return;
        };
        for nick in nicks.split(',').filter(|n| !n.is_empty()).take(4) {
            if nick.contains(['*', '?', ' ', '\t']) || nick.starts_with('#') {
                out.push(Step::Say(self.no_such_nick(nick, "No such nick")));
                out.push(Step::Say(self.numeric(
                    "318",
                    &[nick],
                    "End of /WHOIS list",
                )));
                continue;
            }
            let own = Some(nick) == self.nick.as_deref();
            self.queries.asked.push_back(Ask::Whois(Box::new(Whois {
                nick: nick.to_owned(),
                answered: own,
                ..Whois::default()
            })));
            if !own {
                out.push(Step::Feed(format!("whois {nick}").into_bytes()));
            }
            out.push(Step::Feed(format!("who {nick}").into_bytes()));
        }
    }

    /// `WHOWAS nick [count]`: `whowas` (a count that is not positive: all).
    pub(super) fn whowas(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        let Some(nick) = msg
            .param(0)
            .and_then(|n| n.split(',').next())
            .filter(|n| !n.is_empty())
        else {
            out.push(Step::Say(self.not_enough_params("WHOWAS")));
            return;
        };
        if nick.contains([' ', '\t']) {
            out.push(Step::Say(self.numeric(
                "406",
                &[nick],
                "There was no such nickname",
            )));
            out.push(Step::Say(self.numeric("369", &[nick], "End of WHOWAS")));
            return;
        }
        let count = msg
            .param(1)
            .and_then(|c| c.parse::<i64>().ok())
            .filter(|c| *c > 0);
        self.queries.asked.push_back(Ask::Whowas {
            nick: nick.to_owned(),
            any: false,
        });
        let line = match count {
            Some(c) => format!("whowas {nick} {c}"),
            None => format!("whowas {nick}"),
        };
        out.push(Step::Feed(line.into_bytes()));
    }

    /// `LUSERS`: `lusers`.
    pub(super) fn lusers(&mut self, welcome: bool, out: &mut Vec<Step>) {
        self.queries.asked.push_back(Ask::Lusers { welcome });
        out.push(Step::Feed(b"lusers".to_vec()));
    }

    /// Once welcomed: the core is told what `USER` said (`userinfo`), and the welcome's `LUSERS`
    /// is asked, whose answer the message of the day follows.
    pub(super) fn after_welcome(&mut self, out: &mut Vec<Step>) {
        if let Some((username, realname)) = self.queries.user.clone() {
            let realname = if realname.trim().is_empty() {
                username.clone()
            } else {
                realname
            };
            out.push(Step::Feed(
                format!("userinfo {username} {realname}").into_bytes(),
            ));
        }
        self.lusers(true, out);
    }

    /// A line of the core's that answers a query under way, as IRC: `true` if it was one.
    pub(super) fn query_line(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        let Some(ask) = self.queries.asked.front_mut() else {
            return false;
        };
        match (ask, msg) {
            (Ask::Who { rows, .. }, ServerMsg::WhoUser { .. }) => rows.extend(row_of(msg)),
            (Ask::Whois(w), ServerMsg::WhoUser { .. }) => w.row = row_of(msg),
            (Ask::Who { .. }, ServerMsg::WhoEnd { mask }) => {
                if let Some(Ask::Who {
                    mask: typed,
                    whox,
                    rows,
                }) = self.queries.asked.pop_front()
                {
                    let channel = if mask.starts_with('#') {
                        mask.as_str()
                    } else {
                        "*"
                    };
                    let mut lines = Vec::new();
                    for row in &rows {
                        lines.extend(match &whox {
                            Some((fields, token)) => self.whox_line(row, channel, fields, token),
                            None => self.who_line(row, channel),
                        });
                    }
                    lines.extend(self.numeric("315", &[&typed], "End of WHO list"));
                    out.push(Step::Say(lines));
                }
            }
            (
                Ask::Whois(w),
                ServerMsg::Whois {
                    user,
                    online,
                    groups,
                    since,
                    ..
                },
            ) if !w.answered && **user == *w.nick => {
                w.answered = true;
                w.groups = groups.clone();
                if !online {
                    w.offline = Some(*since);
                }
            }
            (Ask::Whois(w), ServerMsg::PresenceAway { user, reason })
                if w.answered && w.row.is_none() && **user == *w.nick =>
            {
                w.away = Some(reason.clone());
            }
            (
                Ask::Whois(w),
                ServerMsg::Error(
                    e @ (ErrorReply::NoSuchUser { .. } | ErrorReply::BlockedBy { .. }),
                ),
            ) if !w.answered => {
                w.answered = true;
                w.refused = Some(e.text());
            }
            (Ask::Whois(_), ServerMsg::WhoEnd { .. }) => {
                if let Some(Ask::Whois(w)) = self.queries.asked.pop_front() {
                    let lines = self.whois_lines(&w);
                    out.push(Step::Say(lines));
                }
            }
            (
                Ask::Whowas { nick, any },
                ServerMsg::WhowasUser {
                    user,
                    at,
                    username,
                    realname,
                    ..
                },
            ) => {
                *any = true;
                let nick = nick.clone();
                let mut lines = self.numeric("314", &[&nick, username, SERVER_NAME, "*"], realname);
                let server = self.server_name().to_owned();
                lines.extend(self.numeric(
                    "312",
                    &[user, &server],
                    &format!("left at {}", utc(*at)),
                ));
                out.push(Step::Say(lines));
            }
            (Ask::Whowas { .. }, ServerMsg::WhowasEnd { .. }) => {
                if let Some(Ask::Whowas { nick, any }) = self.queries.asked.pop_front() {
                    let mut lines = Vec::new();
                    if !any {
                        lines.extend(self.numeric("406", &[&nick], "There was no such nickname"));
                    }
                    lines.extend(self.numeric("369", &[&nick], "End of WHOWAS"));
                    out.push(Step::Say(lines));
                }
            }
            (
                Ask::Lusers { welcome },
                ServerMsg::Lusers {
                    users,
                    unregistered,
                    peak,
                    groups,
                },
            ) => {
                let welcome = *welcome;
                self.queries.asked.pop_front();
                let lines = self.lusers_lines(*users, *unregistered, *peak, *groups);
                out.push(Step::Say(lines));
                if welcome {
                    out.push(Step::Say(self.motd_lines()));
                }
            }
            _ => return false,
        }
        true
    }

    /// `352`: `<channel> <user> <host> <server> <nick> <flags> :0 <real name>`.
    fn who_line(&self, row: &Row, channel: &str) -> Vec<u8> {
        let server = self.server_name().to_owned();
        let flags = self.flags(row, channel);
        self.numeric(
            "352",
            &[
                channel,
                &row.username,
                SERVER_NAME,
                &server,
                &row.user,
                &flags,
            ],
            &format!("0 {}", row.realname),
        )
    }

    /// `354` (WHOX): the fields asked for, in WHOX's order.
    fn whox_line(&self, row: &Row, channel: &str, asked: &str, token: &str) -> Vec<u8> {
        let server = self.server_name().to_owned();
        let idle = row.idle_secs.to_string();
        let account = if row.account { &*row.user } else { "0" };
        let flags = self.flags(row, channel);
        let mut params: Vec<&str> = Vec::new();
        for field in WHOX_FIELDS.chars().filter(|f| asked.contains(*f)) {
            params.push(match field {
                't' => {
                    if token.is_empty() {
                        "0"
                    } else {
                        token
                    }
                }
                'c' => channel,
                'u' => &row.username,
                'i' => "255.255.255.255",
                'h' => SERVER_NAME,
                's' => &server,
                'n' => &row.user,
                'f' => &flags,
                'd' => "0",
                'l' => &idle,
                'a' => account,
                'o' => "n/a",
                _ => &row.realname,
            });
        }
        let Some((last, rest)) = params.split_last() else {
            return Vec::new();
        };
        self.numeric("354", rest, last)
    }

    /// A `WHOIS`'s numerics, `318` last.
    fn whois_lines(&self, w: &Whois) -> Vec<u8> {
        let nick = w.nick.as_str();
        let mut lines = Vec::new();
        match (&w.row, &w.refused, w.offline) {
            (Some(row), None, None) if row.online => {
                let server = self.server_name().to_owned();
                lines.extend(self.numeric(
                    "311",
                    &[&row.user, &row.username, SERVER_NAME, "*"],
                    &row.realname,
                ));
                // As many 319 lines as the groups take, each within IRC's 512 bytes.
                let mut chunk = String::new();
                for g in &w.groups {
                    if !chunk.is_empty() && chunk.len() + g.len() + 2 > 380 {
                        lines.extend(self.numeric("319", &[&row.user], &chunk));
                        chunk.clear();
                    }
                    if !chunk.is_empty() {
                        chunk.push(' ');
                    }
                    chunk.push('#');
                    chunk.push_str(g);
                }
                if !chunk.is_empty() {
                    lines.extend(self.numeric("319", &[&row.user], &chunk));
                }
                lines.extend(self.numeric("312", &[&row.user, &server], "natter"));
                if let Some(since) = row.since {
                    let idle = row.idle_secs.to_string();
                    let signon = (since.as_millis() / 1000).to_string();
                    lines.extend(self.numeric(
                        "317",
                        &[&row.user, &idle, &signon],
                        "seconds idle, signon time",
                    ));
                }
                if row.account {
                    lines.extend(self.numeric("330", &[&row.user, &row.user], "is logged in as"));
                }
                if row.operator {
                    lines.extend(self.numeric("313", &[&row.user], "is an IRC operator"));
                }
                if row.bot {
                    lines.extend(self.numeric("335", &[&row.user], "is a bot"));
                }
                if let Some(reason) = &w.away {
                    lines.extend(self.numeric("301", &[&row.user], reason));
                }
            }
            (_, Some(why), _) => lines.extend(self.no_such_nick(nick, why)),
            (_, None, Some(Some(at))) => lines.extend(
                self.no_such_nick(nick, &format!("{nick} is offline (last seen {})", utc(at))),
            ),
            (_, None, Some(None)) => {
                lines.extend(self.no_such_nick(nick, &format!("{nick} is offline")))
            }
            _ => lines.extend(self.no_such_nick(nick, "No such nick")),
        }
        lines.extend(self.numeric("318", &[nick], "End of /WHOIS list"));
        lines
    }

    /// `401`.
    fn no_such_nick(&self, nick: &str, text: &str) -> Vec<u8> {
        self.numeric("401", &[nick], text)
    }

    /// `251`–`255`, `265`, `266`.
    fn lusers_lines(&self, users: u64, unregistered: u64, peak: u64, groups: u64) -> Vec<u8> {
        let (u, n, p, g) = (
            users.to_string(),
            unregistered.to_string(),
            peak.to_string(),
            groups.to_string(),
        );
        let mut lines = self.numeric(
            "251",
            &[],
            &format!("There are {u} users and 0 invisible on 1 servers"),
        );
        lines.extend(self.numeric("253", &[&n], "unknown connection(s)"));
        lines.extend(self.numeric("254", &[&g], "channels formed"));
        lines.extend(self.numeric("255", &[], &format!("I have {u} clients and 1 servers")));
        lines.extend(self.numeric(
            "265",
            &[&u, &p],
            &format!("Current local users {u}, max {p}"),
        ));
        lines.extend(self.numeric(
            "266",
            &[&u, &p],
            &format!("Current global users {u}, max {p}"),
        ));
        lines
    }
}

impl IrcSession {
    /// `H` (here) or `G` (gone: away, or a group's member who is offline), `*` for an operator,
    /// `B` for a bot, then in a group's list the member's prefix as `NAMES` shows it (`@`, `+`;
    /// both with `multi-prefix`).
    fn flags(&self, row: &Row, channel: &str) -> String {
        let mut f = String::from(if row.online && !row.away { "H" } else { "G" });
        if row.operator {
            f.push('*');
        }
        if row.bot {
            f.push(super::user_modes::BOT_MODE);
        }
        if let Some(group) = super::channel_book::group_of(channel) {
            let prefix = self.prefix(group, &row.user);
            if prefix.is_empty() && row.owner {
                f.push('@');
            } else {
                f.push_str(&prefix);
            }
        }
        f
    }
}

/// A `WHO-USER` line as a row.
fn row_of(msg: &ServerMsg) -> Option<Row> {
    match msg {
        ServerMsg::WhoUser {
            user,
            online,
            away,
            account,
            owner,
            operator,
            bot,
            idle_secs,
            since,
            username,
            realname,
        } => Some(Row {
            operator: *operator,
            bot: *bot,
            user: user.clone(),
            online: *online,
            away: *away,
            account: *account,
            owner: *owner,
            idle_secs: *idle_secs,
            since: *since,
            username: username.to_string(),
            realname: realname.to_string(),
        }),
        _ => None,
    }
}
