//! The codec: what it reads, what it writes back, its limits, and bad input.

use proptest::prelude::*;

use crate::irc::message::{MAX_BODY, MAX_TAGS, Message, ParseError, Tag, escape, parse, unescape};

fn rendered(m: &Message<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    m.render(&mut out);
    out
}

/// A tag with no key (`=value`, or `=` alone) is dropped as an empty one is: kept, it was written
/// back as nothing, and the line read back had one tag fewer (found by the fuzzer).
#[test]
fn a_tag_without_a_key_is_no_tag_and_what_is_read_is_written_back() {
    let m = parse(b"@a=1;=0.000Z;;=;b PING x").unwrap();
    assert_eq!(
        m.tags,
        vec![
            Tag {
                key: "a",
                value: Some("1")
            },
            Tag {
                key: "b",
                value: None
            },
        ]
    );
    let out = rendered(&m);
    assert_eq!(parse(&out[..out.len() - 2]).unwrap(), m);
}

#[test]
fn a_full_message_is_read_into_its_parts() {
    let m =
        parse(b"@time=2023-11-14T22:13:20.000Z;+draft/x;y= :alice!a@host PRIVMSG bob :hi there")
            .unwrap();
    assert_eq!(
        m.tags,
        vec![
            Tag {
                key: "time",
                value: Some("2023-11-14T22:13:20.000Z")
            },
            Tag {
                key: "+draft/x",
                value: None
            },
            Tag {
                key: "y",
                value: None
            },
        ]
    );
    assert_eq!(m.source, Some("alice!a@host"));
    assert!(m.is("privmsg"));
    assert_eq!(m.params, vec!["bob", "hi there"]);
}

#[test]
fn parameters_middle_trailing_and_extra_spaces() {
    let m = parse(b"USER  alice 0   * :Alice Liddell").unwrap();
    assert_eq!(m.params, vec!["alice", "0", "*", "Alice Liddell"]);
    let m = parse(b"PRIVMSG bob ::-)").unwrap();
    assert_eq!(m.params, vec!["bob", ":-)"]);
    let m = parse(b"PRIVMSG bob :").unwrap();
    assert_eq!(m.params, vec!["bob", ""]);
    let m = parse(b"QUIT   ").unwrap();
    assert!(m.params.is_empty());
    let m = parse(b"001 alice :Welcome").unwrap();
    assert_eq!(m.command, "001");
}

#[test]
fn what_is_written_reads_back_the_same() {
    for line in [
        "PING x",
        ":natter 001 alice :Welcome to natter",
        "@time=2023-11-14T22:13:20.123Z :bob!bob@natter PRIVMSG alice :hello there",
        "PRIVMSG bob ::colon first",
        "PRIVMSG bob :",
        "CAP * LS :server-time sasl",
    ] {
        let m = parse(line.as_bytes()).unwrap();
        let out = rendered(&m);
        assert_eq!(parse(&out[..out.len() - 2]).unwrap(), m, "{line}");
        assert!(out.ends_with(b"\r\n"));
    }
}

#[test]
fn the_body_may_take_512_bytes_with_its_line_ending_and_no_more() {
    let head = "PRIVMSG bob :";
    let fits = format!("{head}{}", "x".repeat(MAX_BODY - 2 - head.len()));
    assert!(parse(fits.as_bytes()).is_ok());
    let over = format!("{fits}x");
    assert_eq!(parse(over.as_bytes()), Err(ParseError::TooLong));
    // Tags do not count toward the 512 bytes, but have their own bound.
    let tags = format!("@a={} ", "v".repeat(MAX_TAGS - 4));
    assert_eq!(tags.len(), MAX_TAGS);
    assert!(parse(format!("{tags}{fits}").as_bytes()).is_ok());
    let tags = format!("@a={} ", "v".repeat(MAX_TAGS - 3));
    assert_eq!(
        parse(format!("{tags}{fits}").as_bytes()),
        Err(ParseError::TagsTooLong)
    );
}

#[test]
fn bad_input_is_refused_with_its_reason() {
    assert_eq!(parse(b""), Err(ParseError::Empty));
    assert_eq!(parse(b"   "), Err(ParseError::Empty));
    assert_eq!(parse(b"PRIVMSG bob :\xff"), Err(ParseError::NotUtf8));
    assert_eq!(parse(b"PRIVMSG bob :a\rb"), Err(ParseError::ControlChar));
    assert_eq!(parse(b"PRIVMSG bob :a\0b"), Err(ParseError::ControlChar));
    assert_eq!(parse(b":source"), Err(ParseError::NoCommand));
    assert_eq!(parse(b":source "), Err(ParseError::NoCommand));
    assert_eq!(parse(b"@a=b"), Err(ParseError::NoCommand));
    assert_eq!(parse(b"PR1V bob"), Err(ParseError::NoCommand));
    assert_eq!(parse(b"12 bob"), Err(ParseError::NoCommand));
    let many = format!("CMD{}", " p".repeat(16));
    assert_eq!(parse(many.as_bytes()), Err(ParseError::TooManyParams));
    let fifteen = format!("CMD{}", " p".repeat(15));
    assert_eq!(parse(fifteen.as_bytes()).unwrap().params.len(), 15);
}

#[test]
fn each_refusal_has_its_numeric_and_an_empty_line_none() {
    assert_eq!(ParseError::Empty.numeric(), None);
    assert_eq!(ParseError::TooLong.numeric().unwrap().0, "417");
    assert_eq!(ParseError::TagsTooLong.numeric().unwrap().0, "417");
    assert_eq!(ParseError::NoCommand.numeric().unwrap().0, "421");
}

#[test]
fn tag_values_are_escaped_and_unescaped() {
    let value = "a; b\\c\r\nd";
    assert_eq!(escape(value), "a\\:\\sb\\\\c\\r\\nd");
    assert_eq!(unescape(&escape(value)), value);
    // A lone backslash at the end is dropped; an unknown escape stands for its character.
    assert_eq!(unescape("ab\\"), "ab");
    assert_eq!(unescape("\\b"), "b");
}

proptest! {
    #[test]
    fn any_bytes_parse_or_are_refused_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn any_message_reads_back_as_written(
        tags in proptest::collection::vec(("[a-z+/.-]{1,8}", proptest::option::of("[a-zA-Z0-9.:-]{1,8}")), 0..3),
        source in proptest::option::of("[a-z!@.]{1,12}"),
        command in "([A-Za-z]{1,10}|[0-9]{3})",
        middles in proptest::collection::vec("[^ :\r\n\0][^ \r\n\0]{0,6}", 0..5),
        trailing in proptest::option::of("[^\r\n\0]{0,20}"),
    ) {
        let mut params: Vec<&str> = middles.iter().map(String::as_str).collect();
        if let Some(t) = &trailing {
            params.push(t);
        }
        let m = Message {
            tags: tags.iter().map(|(k, v)| Tag { key: k, value: v.as_deref() }).collect(),
            source: source.as_deref(),
            command: &command,
            params,
        };
        let out = rendered(&m);
        prop_assert_eq!(parse(&out[..out.len() - 2]).unwrap(), m);
    }
}
