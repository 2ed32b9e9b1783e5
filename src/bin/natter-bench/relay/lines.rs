//! What the relay answers to each line: the login's two lines, then the few commands natter-bench
//! sends. Replies are written straight into the connections' output buffers, each line rendered once
//! however many receive it; numbers are formatted by hand (no formatting machinery per message).

use super::Relay;
use super::conn::{Conn, Name, Stage};

impl Relay {
    /// Answers one complete line (without its `\n`) from the connection in `slot`.
    pub(super) fn on_line(&mut self, slot: usize, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match self.conn(slot).stage {
            Stage::Username => self.on_username(slot, trim(line)),
            Stage::Password => self.on_password(slot),
            Stage::Online => self.on_command(slot, line),
            Stage::Closing => {}
        }
    }

    fn on_username(&mut self, slot: usize, line: &[u8]) {
        let conn = self.conn(slot);
        conn.out.extend_from_slice(b"PROMPT username Username:\n");
        match Name::new(line) {
            Some(name) => {
                conn.name = name;
                conn.stage = Stage::Password;
                conn.out.extend_from_slice(b"PROMPT password Password:\n");
            }
            None => conn.out.extend_from_slice(
                b"ERROR invalid-username bad-char A user name is 1 to 32 characters without spaces.\n",
            ),
        }
        self.mark(slot);
    }

    /// Any password logs the name in: the relay has no accounts. A second login of a name takes the
    /// name over (no rule refuses it).
    fn on_password(&mut self, slot: usize) {
        let conn = self.conn(slot);
        conn.stage = Stage::Online;
        let name = conn.name;
        let out = &mut conn.out;
        out.extend_from_slice(b"WELCOME ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b" Welcome to natter, ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"! Type 'help' for the list of commands.\n");
        self.online.insert(name, slot);
        self.mark(slot);
    }

    fn on_command(&mut self, slot: usize, line: &[u8]) {
        let (word, rest) = next_word(line);
        if word.eq_ignore_ascii_case(b"message") {
            let (to, text) = next_word(rest);
            if to.eq_ignore_ascii_case(b"group") {
                let (group, text) = next_word(text);
                self.message_group(slot, group, text);
            } else {
                self.message(slot, to, text);
            }
        } else if word.eq_ignore_ascii_case(b"broadcast") {
            self.broadcast(slot, rest);
        } else if word.eq_ignore_ascii_case(b"create") {
            let (what, rest) = next_word(rest);
            if what.eq_ignore_ascii_case(b"group") {
                self.create_group(slot, rest);
            } else {
                self.unknown(slot);
            }
        } else if word.eq_ignore_ascii_case(b"logout") {
            let conn = self.conn(slot);
            conn.out.extend_from_slice(b"BYE logout Goodbye.\n");
            conn.stage = Stage::Closing;
            self.mark(slot);
        } else if [&b"ack"[..], b"acks", b"receipts", b"p2pport", b"active"]
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w))
        {
            // The client's bookkeeping: natter keeps state for it; the relay keeps none.
        } else {
            self.unknown(slot);
        }
    }

    fn unknown(&mut self, slot: usize) {
        self.conn(slot).out.extend_from_slice(
            b"ERROR unknown-command The relay knows message, broadcast, create group, message group and logout.\n",
        );
        self.mark(slot);
    }

    /// `MSG <id> <ms> <from> <text>` to `to`, if online.
    fn message(&mut self, slot: usize, to: &[u8], text: &[u8]) {
        let target = Name::new(to).and_then(|n| self.online.get(&n).copied());
        let Some(target) = target else {
            let conn = self.conn(slot);
            conn.out.extend_from_slice(b"ERROR offline ");
            conn.out.extend_from_slice(to);
            conn.out
                .extend_from_slice(b" Not online (the relay stores nothing).\n");
            self.mark(slot);
            return;
        };
        let from = self.conn(slot).name;
        self.last_id += 1;
        let (id, now) = (self.last_id, self.now_ms);
        let out = &mut self.conn(target).out;
        out.extend_from_slice(b"MSG ");
        push_u64(out, id);
        out.push(b' ');
        push_u64(out, now);
        out.push(b' ');
        out.extend_from_slice(from.as_bytes());
        out.push(b' ');
        out.extend_from_slice(text);
        out.push(b'\n');
        self.mark(target);
    }

    /// `BCAST <from> <text>`, rendered once, to everyone else online; `BCAST-SENT` to the sender.
    fn broadcast(&mut self, slot: usize, text: &[u8]) {
        let from = self.conn(slot).name;
        let mut line = std::mem::take(&mut self.scratch);
        line.clear();
        line.extend_from_slice(b"BCAST ");
        line.extend_from_slice(from.as_bytes());
        line.push(b' ');
        line.extend_from_slice(text);
        line.push(b'\n');
        let mut reached = 0u64;
        let Relay {
            online,
            conns,
            dirty,
            ..
        } = self;
        for &to in online.values() {
            if to != slot {
                send_rendered(conns, dirty, to, &line);
                reached += 1;
            }
        }
        self.scratch = line;
        let out = &mut self.conn(slot).out;
        out.extend_from_slice(b"BCAST-SENT ");
        push_u64(out, reached);
        out.extend_from_slice(b" all Broadcast sent to ");
        push_u64(out, reached);
        out.extend_from_slice(if reached == 1 {
            b" user.\n"
        } else {
            b" users.\n"
        });
        self.mark(slot);
    }

    /// `GROUP-CREATED <g> <n> <members sorted>`: the creator and every name given (no account is
    /// checked, nobody else is told).
    fn create_group(&mut self, slot: usize, rest: &[u8]) {
        let (group, mut rest) = next_word(rest);
        let Some(group) = Name::new(group).filter(|g| !self.groups.contains_key(g)) else {
            let conn = self.conn(slot);
            conn.out.extend_from_slice(
                b"ERROR group-exists A group of that name exists, or the name is not valid.\n",
            );
            self.mark(slot);
            return;
        };
        let mut members = vec![self.conn(slot).name];
        loop {
            let (m, r) = next_word(rest);
            if m.is_empty() {
                break;
            }
            rest = r;
            if let Some(m) = Name::new(m) {
                members.push(m);
            }
        }
        members.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        members.dedup();
        let out = &mut self.conn(slot).out;
        out.extend_from_slice(b"GROUP-CREATED ");
        out.extend_from_slice(group.as_bytes());
        out.push(b' ');
        push_u64(out, members.len() as u64);
        for m in &members {
            out.push(b' ');
            out.extend_from_slice(m.as_bytes());
        }
        out.extend_from_slice(b" Group '");
        out.extend_from_slice(group.as_bytes());
        out.extend_from_slice(b"' created.\n");
        self.groups.insert(group, members);
        self.mark(slot);
    }

    /// `GROUP-MSG <id> <ms> <g> <from> <text>`, rendered once, to the members online but the sender;
    /// `GROUP-SENT <g> <n> 0 all` to the sender.
    fn message_group(&mut self, slot: usize, group: &[u8], text: &[u8]) {
        let Some(key) = Name::new(group).filter(|g| self.groups.contains_key(g)) else {
            let conn = self.conn(slot);
            conn.out.extend_from_slice(b"ERROR no-such-group ");
            conn.out.extend_from_slice(group);
            conn.out.extend_from_slice(b" No group has that name.\n");
            self.mark(slot);
            return;
        };
        let from = self.conn(slot).name;
        self.last_id += 1;
        let mut line = std::mem::take(&mut self.scratch);
        line.clear();
        line.extend_from_slice(b"GROUP-MSG ");
        push_u64(&mut line, self.last_id);
        line.push(b' ');
        push_u64(&mut line, self.now_ms);
        line.push(b' ');
        line.extend_from_slice(group);
        line.push(b' ');
        line.extend_from_slice(from.as_bytes());
        line.push(b' ');
        line.extend_from_slice(text);
        line.push(b'\n');
        let mut n = 0u64;
        let Relay {
            online,
            conns,
            dirty,
            groups,
            ..
        } = self;
        for member in &groups[&key] {
            if let Some(&to) = online.get(member)
                && to != slot
            {
                send_rendered(conns, dirty, to, &line);
                n += 1;
            }
        }
        self.scratch = line;
        let out = &mut self.conn(slot).out;
        out.extend_from_slice(b"GROUP-SENT ");
        out.extend_from_slice(group);
        out.push(b' ');
        push_u64(out, n);
        out.extend_from_slice(b" 0 all Sent to '");
        out.extend_from_slice(group);
        out.extend_from_slice(b"': ");
        push_u64(out, n);
        out.extend_from_slice(b" now, 0 at their next login.\n");
        self.mark(slot);
    }
}

/// Appends an already rendered line to the output of the connection in `to`, listing it for writing.
/// (Not a method: the caller holds the table it found `to` in.)
fn send_rendered(conns: &mut [Option<Conn>], dirty: &mut Vec<usize>, to: usize, line: &[u8]) {
    if let Some(conn) = conns[to].as_mut() {
        conn.out.extend_from_slice(line);
        if !conn.dirty {
            conn.dirty = true;
            dirty.push(to);
        }
    }
}

/// The first word of `s` and what follows the single space after it (natter keeps a message's text
/// exactly as typed after that space).
fn next_word(s: &[u8]) -> (&[u8], &[u8]) {
    let s = trim_start(s);
    match s.iter().position(|b| *b == b' ' || *b == b'\t') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

fn trim_start(s: &[u8]) -> &[u8] {
    let skip = s
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(s.len());
    &s[skip..]
}

fn trim(s: &[u8]) -> &[u8] {
    let s = trim_start(s);
    let keep = s
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(0, |i| i + 1);
    &s[..keep]
}

/// `n` in decimal, appended.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_numbers() {
        assert_eq!(
            next_word(b"message u1 hello  there"),
            (&b"message"[..], &b"u1 hello  there"[..])
        );
        assert_eq!(next_word(b"  logout"), (&b"logout"[..], &b""[..]));
        assert_eq!(trim(b" u1 \t"), b"u1");
        let mut out = Vec::new();
        push_u64(&mut out, 0);
        out.push(b' ');
        push_u64(&mut out, 1_700_000_000_123);
        assert_eq!(out, b"0 1700000000123");
    }
}
