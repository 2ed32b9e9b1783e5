//! natter mode: commands written with the crate's own [`Command`], server lines read with its own
//! [`decode_line`].

use std::io::Write;

use natter_core::protocol::{Command, ServerMsg, decode_line};

use super::Incoming;

pub fn login(name: &str, password: &str, acks: bool, out: &mut Vec<u8>) {
    // The server takes lines in order, so the password can follow the username without waiting for
    // its prompt: one write logs in. By default the generator does not acknowledge what it receives (it
    // checks deliveries with its own ledger), and says so, or the server would keep every message it
    // writes until the session ends; with `--acks` it acknowledges, as the natter client does.
    let acks = if acks { "on" } else { "off" };
    let _ = writeln!(out, "{name}\n{password}\nacks {acks}");
}

fn command(cmd: Command<'_>, out: &mut Vec<u8>) {
    let _ = writeln!(out, "{cmd}");
}

/// Our texts are ASCII (see `verify::write_text`); anything else would be a bug in the generator.
fn ascii(text: &[u8]) -> &str {
    std::str::from_utf8(text).expect("bench message texts are ASCII")
}

pub fn message(to: &str, text: &[u8], out: &mut Vec<u8>) {
    command(
        Command::Message {
            to,
            text: ascii(text),
        },
        out,
    );
}

/// `create group` with the members named: the relay's form, which adds them at once.
pub fn create_group(group: &str, members: &[&str], out: &mut Vec<u8>) {
    command(
        Command::CreateGroup {
            group,
            members: members.to_vec(),
        },
        out,
    );
}

/// The server's `create group` invites the members named (they would have to accept), so the group
/// is made, set to let members add directly, each member added, and its members asked for: the answer
/// (`GROUP-MEMBERS`) comes after every add, so the group is whole once it arrives.
pub fn create_group_added(group: &str, members: &[&str], out: &mut Vec<u8>) {
    command(
        Command::CreateGroup {
            group,
            members: Vec::new(),
        },
        out,
    );
    command(
        Command::GroupSet {
            group,
            setting: natter_core::protocol::GroupSetting::AddDirect(true),
        },
        out,
    );
    for &user in members {
        command(Command::GroupAdd { group, user }, out);
    }
    command(Command::GroupMembers { group }, out);
}

pub fn message_group(group: &str, text: &[u8], out: &mut Vec<u8>) {
    command(
        Command::MessageGroup {
            group,
            text: ascii(text),
        },
        out,
    );
}

pub fn broadcast(text: &[u8], out: &mut Vec<u8>) {
    command(Command::Broadcast { text: ascii(text) }, out);
}

pub fn logout(out: &mut Vec<u8>) {
    command(Command::Logout, out);
}

pub fn whoelsesince(secs: u64, out: &mut Vec<u8>) {
    command(Command::WhoElseSince { secs }, out);
}

pub fn ack(id: u64, out: &mut Vec<u8>) {
    command(Command::Ack { id }, out);
}

pub fn classify<'a>(line: &'a [u8], holder: &'a mut Option<ServerMsg>) -> Incoming<'a> {
    // Presence lines are the bulk of what a login flood sends and carry nothing to verify: counted
    // without decoding, so the generator's own cost stays small.
    if line.starts_with(b"PRESENCE ") {
        return Incoming::Noise;
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return Incoming::Unexpected(format!(
            "server line is not UTF-8: {}",
            String::from_utf8_lossy(line)
        ));
    };
    let msg = match decode_line(text) {
        Ok(m) => holder.insert(m),
        Err(e) => return Incoming::Unexpected(format!("{e}: {text}")),
    };
    match msg {
        ServerMsg::Welcome { .. } => Incoming::Ready,
        ServerMsg::Prompt(_) => Incoming::Ignore,
        ServerMsg::Message { id, from, text, .. }
        | ServerMsg::GroupMessage { id, from, text, .. } => Incoming::Delivery {
            from,
            text,
            id: Some(*id),
        },
        ServerMsg::Broadcast { from, text } => Incoming::Delivery {
            from,
            text,
            id: None,
        },
        // The relay's group is whole once created (all its members named); the server's once its
        // members are listed (see `create_group_added`).
        ServerMsg::GroupCreated { members, .. } if members.len() > 1 => Incoming::Joined,
        ServerMsg::GroupCreated { .. } => Incoming::Noise,
        ServerMsg::GroupMembers { .. } => Incoming::Joined,
        ServerMsg::GroupMode { .. } => Incoming::Noise,
        ServerMsg::GroupJoined { .. } => Incoming::Noise,
        ServerMsg::OfflineMessage { id, from, text, .. } => Incoming::Offline {
            id: *id,
            from,
            text,
        },
        ServerMsg::Stored { .. }
        | ServerMsg::BroadcastSent { .. }
        | ServerMsg::GroupSent { .. } => Incoming::Accepted,
        ServerMsg::Presence { .. } => Incoming::Noise,
        ServerMsg::WhoElse { users } | ServerMsg::WhoElseSince { users, .. } => {
            Incoming::Listed(users.len())
        }
        ServerMsg::Bye(_) => Incoming::Bye,
        _ => Incoming::Unexpected(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_back() {
        let mut out = Vec::new();
        message("u2", b"1 2 3 xx", &mut out);
        broadcast(b"hi there", &mut out);
        ack(7, &mut out);
        whoelsesince(0, &mut out);
        logout(&mut out);
        let text = String::from_utf8(out).unwrap();
        let parsed: Vec<_> = text
            .lines()
            .map(|l| natter_core::protocol::parse_command(l).unwrap().to_line())
            .collect();
        assert_eq!(
            parsed,
            [
                "message u2 1 2 3 xx",
                "broadcast hi there",
                "ack 7",
                "whoelsesince 0",
                "logout"
            ]
        );
    }

    #[test]
    fn sorts_server_lines() {
        let mut h = None;
        assert_eq!(classify(b"WELCOME u1 hi", &mut h), Incoming::Ready);
        let mut h = None;
        assert_eq!(
            classify(b"MSG 4 1700000000000 u3 1 2 3 xx", &mut h),
            Incoming::Delivery {
                from: "u3",
                text: "1 2 3 xx",
                id: Some(4)
            }
        );
        let mut h = None;
        assert_eq!(
            classify(b"OFFLINE-MSG 9 100 u3 a b", &mut h),
            Incoming::Offline {
                id: 9,
                from: "u3",
                text: "a b"
            }
        );
        let mut h = None;
        assert_eq!(classify(b"PRESENCE u4 online", &mut h), Incoming::Noise);
        let mut h = None;
        assert_eq!(classify(b"STORED 9 u4 ok", &mut h), Incoming::Accepted);
        let mut h = None;
        assert_eq!(
            classify(b"WHOELSESINCE 0 2 u1 u2", &mut h),
            Incoming::Listed(2)
        );
        let mut h = None;
        assert!(matches!(
            classify(b"ERROR mailbox-full u4 full", &mut h),
            Incoming::Unexpected(_)
        ));
        let mut h = None;
        assert!(matches!(
            classify(b"NONSENSE", &mut h),
            Incoming::Unexpected(_)
        ));
    }
}
