//! The hot commands read without the grammar's machinery: `message <user> <text>`, `broadcast
//! <text>` and `ack <id>` are nearly every line a busy server reads, and `acks on|off` and `logout`
//! come once a session; the table-driven grammar (`parse`) looks the command word up among all the
//! rows, and the second word again for the families, before it reads their arguments.
//!
//! This reader only ever says yes: it gives the command when the line is, beyond doubt, a well-formed
//! line of one of these, and `None` for everything else (another command, a usage error, an odd case
//! such as a blank text of Unicode spaces, `acks` or `logout` spelled otherwise than clients send
//! them), which the grammar then reads. So the grammar stays the one definition of the language: a
//! property test and the fuzz target's check (both in `natter_sim::fuzz` and the tests below) hold
//! that whenever this reader gives a command, the grammar gives the same one.

use super::command::Command;

/// A separator, as the grammar's `sp`: a space or a tab (both ASCII, so a byte test is exact in
/// UTF-8).
fn is_sp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Whether `text` is surely not blank: it holds a visible ASCII character. (A text of other
/// characters only may be all Unicode spaces, which the grammar refuses; it decides those.)
fn surely_not_blank(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_graphic())
}

/// `s` without its leading separators, or `None` if it does not start with one (the grammar's
/// `sp+`).
fn after_spaces(s: &str) -> Option<&str> {
    let n = s.bytes().take_while(|b| is_sp(*b)).count();
    (n > 0).then(|| &s[n..])
}

/// The lines every session sends once, spelled as clients send them: `acks on` or `acks off` after
/// the login, `logout` at its end. Told by comparing the whole line (a login and a logout are a
/// busy server's other steady work, and the grammar looks each word up three times); any other
/// spelling goes to the grammar.
fn whole_line(line: &str) -> Option<Command<'static>> {
    match line {
        "logout" => Some(Command::Logout),
        "acks on" => Some(Command::Acks { on: true }),
        "acks off" => Some(Command::Acks { on: false }),
        _ => None,
    }
}

/// Which hot command a line's first word names.
enum Hot {
    Message,
    Broadcast,
    Ack,
}

/// The spellings every client sends, lower case and followed by one space: told by a prefix, before
/// the scan for the word's end and the comparison without case (which cost more than reading the
/// rest of a `message` line's head). The rest keeps its separator, as the scan's would.
const SPELLED: [(&str, Hot); 3] = [
    ("message ", Hot::Message),
    ("ack ", Hot::Ack),
    ("broadcast ", Hot::Broadcast),
];

/// The hot command the line's first word names, if any, and what follows the word.
fn hot_word(line: &str) -> Option<(Hot, &str)> {
    for (prefix, hot) in SPELLED {
        if line.starts_with(prefix) {
            return Some((hot, &line[prefix.len() - 1..]));
        }
    }
    let start = line.bytes().take_while(|b| is_sp(*b)).count();
    let rest = &line[start..];
    let word_end = rest.bytes().position(is_sp).unwrap_or(rest.len());
    let (word, args) = rest.split_at(word_end);
    if word.eq_ignore_ascii_case("message") {
        Some((Hot::Message, args))
    } else if word.eq_ignore_ascii_case("broadcast") {
        Some((Hot::Broadcast, args))
    } else if word.eq_ignore_ascii_case("ack") {
        Some((Hot::Ack, args))
    } else {
        None
    }
}

/// The line as one of the hot commands, when it is surely a well-formed one; `None` sends it to
/// the grammar.
pub(crate) fn hot_command(line: &str) -> Option<Command<'_>> {
    if let Some(cmd) = whole_line(line) {
        return Some(cmd);
    }
    let (hot, args) = hot_word(line)?;
    match hot {
        Hot::Message => {
            // sp+ user SP text, the user not `group` (that is `message group`).
            let args = after_spaces(args)?;
            let user_end = args.bytes().position(is_sp)?;
            let (to, sep_text) = args.split_at(user_end);
            if to.eq_ignore_ascii_case("group") {
                return None;
            }
            let text = &sep_text[1..];
            surely_not_blank(text).then_some(Command::Message { to, text })
        }
        Hot::Broadcast => {
            // SP text.
            let text = args.get(1..)?;
            surely_not_blank(text).then_some(Command::Broadcast { text })
        }
        Hot::Ack => {
            // sp+ digits sp*, the number within 64 bits.
            let args = after_spaces(args)?;
            let digits = args.bytes().take_while(u8::is_ascii_digit).count();
            let (number, tail) = args.split_at(digits);
            if digits == 0 || !tail.bytes().all(is_sp) {
                return None;
            }
            number.parse().ok().map(|id| Command::Ack { id })
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::protocol::command::CommandName;
    use crate::protocol::parse::parse_by_grammar;

    /// What the property test builds lines from: the hot words in several cases, the second words
    /// that change them, separators, digits, Unicode spaces and letters.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "message",
            "MESSAGE",
            "Message",
            "messages",
            "broadcast",
            "BroadCast",
            "ack",
            "ACK",
            "acks",
            "group",
            "GROUP",
            "groupie",
            "bob",
            "zoë",
            " ",
            " ",
            " ",
            "\t",
            "  ",
            "0",
            "7",
            "18446744073709551615",
            "18446744073709551616",
            "+1",
            "x",
            "hi",
            "🎉",
            "\u{3000}",
            "\u{a0}",
            "\u{2003}",
            "-",
            ":",
            "on",
            "off",
            "logout",
            "LOGOUT",
            "logouts",
        ])
    }

    fn line() -> impl Strategy<Value = String> {
        prop::collection::vec(piece(), 0..8).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// Whenever the fast reader gives a command, the grammar gives the same one.
        #[test]
        fn agrees_with_the_grammar(line in line()) {
            if let Some(cmd) = hot_command(&line) {
                prop_assert_eq!(parse_by_grammar(&line), Ok(cmd), "{:?}", line);
            }
        }

        /// Any line at all (the fuzz target's inputs are arbitrary text).
        #[test]
        fn agrees_on_any_text(line in "\\PC{0,40}") {
            if let Some(cmd) = hot_command(&line) {
                prop_assert_eq!(parse_by_grammar(&line), Ok(cmd), "{:?}", line);
            }
        }

        /// The lines clients send are read fast: a name and a text of printable characters.
        #[test]
        fn takes_what_clients_send(
            to in "[a-z0-9_]{1,16}",
            text in "[ -~]{0,30}[!-~][ -~]{0,30}",
            id in any::<u64>(),
        ) {
            prop_assume!(!to.eq_ignore_ascii_case("group"));
            let m = format!("message {to} {text}");
            prop_assert_eq!(hot_command(&m), Some(Command::Message { to: &to, text: &text }));
            let b = format!("broadcast {text}");
            prop_assert_eq!(hot_command(&b), Some(Command::Broadcast { text: &text }));
            let a = format!("ack {id}");
            prop_assert_eq!(hot_command(&a), Some(Command::Ack { id }));
        }
    }

    #[test]
    fn edge_cases_go_to_the_grammar() {
        for line in [
            "message",
            "message ",
            "message bob",
            "message bob ",
            "message bob   ",
            "message group team hi",
            "MESSAGE Group team hi",
            "message bob \u{3000}",
            "broadcast",
            "broadcast ",
            "broadcast \u{a0}",
            "broadcastx hi",
            "ack",
            "ack +1",
            "ack 1 2",
            "ack 1x",
            "ack 18446744073709551616",
            "acks  on",
            "Acks off",
            "acks on ",
            "acks maybe",
            "logout ",
            " logout",
            "Logout",
        ] {
            assert_eq!(hot_command(line), None, "{line:?}");
        }
    }

    #[test]
    fn edge_cases_it_takes() {
        for (line, cmd) in [
            ("logout", Command::Logout),
            ("acks on", Command::Acks { on: true }),
            ("acks off", Command::Acks { on: false }),
            (
                "\tmessage\tbob\t x",
                Command::Message {
                    to: "bob",
                    text: " x",
                },
            ),
            (
                "  MESSAGE  groupie  two  spaces ",
                Command::Message {
                    to: "groupie",
                    text: " two  spaces ",
                },
            ),
            (
                "message bob \u{3000}x",
                Command::Message {
                    to: "bob",
                    text: "\u{3000}x",
                },
            ),
            ("broadcast  hi", Command::Broadcast { text: " hi" }),
            ("ack 0042 \t", Command::Ack { id: 42 }),
        ] {
            assert_eq!(hot_command(line), Some(cmd.clone()), "{line:?}");
            assert_eq!(parse_by_grammar(line), Ok(cmd), "{line:?}");
        }
        // The only second word the family of `message` has is `group`, which it sends to the grammar.
        let subs: Vec<_> = CommandName::Message
            .family()
            .filter_map(|n| n.spec().sub)
            .collect();
        assert_eq!(subs, ["group"]);
        assert!(
            CommandName::Broadcast
                .family()
                .all(|n| n.spec().sub.is_none())
        );
        assert!(CommandName::Ack.family().all(|n| n.spec().sub.is_none()));
    }
}
