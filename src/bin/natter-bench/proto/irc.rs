//! IRC mode: just enough of RFC 2812 for the workloads — register, `JOIN` one channel, `PRIVMSG`,
//! `QUIT`, and answering `PING`.

use std::io::Write;

use super::Incoming;

pub fn login(nick: &str, out: &mut Vec<u8>) {
    let _ = write!(out, "NICK {nick}\r\nUSER {nick} 0 * :natter-bench\r\n");
}

pub fn join(channel: &str, out: &mut Vec<u8>) {
    let _ = write!(out, "JOIN {channel}\r\n");
}

pub fn privmsg(target: &str, text: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"PRIVMSG ");
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" :");
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

pub fn quit(out: &mut Vec<u8>) {
    out.extend_from_slice(b"QUIT :bench done\r\n");
}

/// `:prefix COMMAND params… :trailing` split into its parts.
struct Line<'a> {
    prefix: Option<&'a str>,
    command: &'a str,
    /// The parameters before the trailing one.
    middle: &'a str,
    trailing: Option<&'a str>,
}

fn split(line: &str) -> Line<'_> {
    let (prefix, rest) = match line.strip_prefix(':') {
        Some(r) => match r.split_once(' ') {
            Some((p, rest)) => (Some(p), rest),
            None => (Some(r), ""),
        },
        None => (None, line),
    };
    let rest = rest.trim_start_matches(' ');
    let (command, params) = rest.split_once(' ').unwrap_or((rest, ""));
    let (middle, trailing) = match params.find(" :") {
        Some(i) => (&params[..i], Some(&params[i + 2..])),
        None => match params.strip_prefix(':') {
            Some(t) => ("", Some(t)),
            None => (params, None),
        },
    };
    Line {
        prefix,
        command,
        middle,
        trailing,
    }
}

pub fn classify<'a>(line: &'a [u8], reply: &mut Vec<u8>) -> Incoming<'a> {
    let Ok(text) = std::str::from_utf8(line) else {
        return Incoming::Unexpected(format!(
            "server line is not UTF-8: {}",
            String::from_utf8_lossy(line)
        ));
    };
    let l = split(text);
    match l.command {
        "PING" => {
            reply.extend_from_slice(b"PONG :");
            reply.extend_from_slice(l.trailing.unwrap_or(l.middle).as_bytes());
            reply.extend_from_slice(b"\r\n");
            Incoming::Ignore
        }
        "PRIVMSG" => {
            let from = l
                .prefix
                .map(|p| p.split_once('!').map_or(p, |(nick, _)| nick))
                .unwrap_or("");
            Incoming::Delivery {
                from,
                text: l.trailing.unwrap_or(""),
                id: None,
            }
        }
        "JOIN" | "QUIT" | "PART" => Incoming::Noise,
        "ERROR" => Incoming::Bye,
        // End of the MOTD, or no MOTD: registration is complete.
        "376" | "422" => Incoming::Ready,
        // End of the names list: our JOIN is complete.
        "366" => Incoming::Joined,
        c if c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()) && c.starts_with(['4', '5']) => {
            Incoming::Unexpected(text.to_owned())
        }
        _ => Incoming::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_server_lines() {
        let mut reply = Vec::new();
        assert_eq!(
            classify(b":u3!~u3@127.0.0.1 PRIVMSG u5 :1 2 3 xx", &mut reply),
            Incoming::Delivery {
                from: "u3",
                text: "1 2 3 xx",
                id: None
            }
        );
        assert_eq!(
            classify(b":irc.local 376 u5 :End of message of the day.", &mut reply),
            Incoming::Ready
        );
        assert_eq!(
            classify(b":irc.example.net 422 u5 :MOTD file is missing", &mut reply),
            Incoming::Ready
        );
        assert_eq!(
            classify(b":irc.local 366 u5 #bench :End of /NAMES list.", &mut reply),
            Incoming::Joined
        );
        assert_eq!(
            classify(b":u7!~u7@127.0.0.1 JOIN :#bench", &mut reply),
            Incoming::Noise
        );
        assert!(matches!(
            classify(
                b":irc.local 433 * u5 :Nickname is already in use",
                &mut reply
            ),
            Incoming::Unexpected(_)
        ));
        assert_eq!(
            classify(
                b":irc.local NOTICE * :*** Looking up your hostname",
                &mut reply
            ),
            Incoming::Ignore
        );
        assert!(reply.is_empty());
        assert_eq!(classify(b"PING :irc.local", &mut reply), Incoming::Ignore);
        assert_eq!(reply, b"PONG :irc.local\r\n");
        assert_eq!(
            classify(
                b"ERROR :Closing link: (u5@127.0.0.1) [Quit: bench done]",
                &mut reply
            ),
            Incoming::Bye
        );
    }

    #[test]
    fn commands_are_crlf_lines() {
        let mut out = Vec::new();
        login("u1", &mut out);
        join("#bench", &mut out);
        privmsg("u2", b"1 2 3 x", &mut out);
        quit(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NICK u1\r\nUSER u1 0 * :natter-bench\r\nJOIN #bench\r\nPRIVMSG u2 :1 2 3 x\r\nQUIT :bench done\r\n"
        );
    }
}
