//! What the front says of the server itself: its name as the operator set it (in every line it
//! sources, `004`, `PONG`), the message of the day (`375`/`372`/`376`, or `422`), `TIME`,
//! `VERSION`, `INFO`, `ADMIN`, `LINKS` and `HELP`.

use super::kit::{codes, lines};
use crate::irc::IrcSettings;
use crate::server::harness::{Harness, START};
use crate::server::{Config, ConnId};

fn harness(settings: IrcSettings) -> Harness {
    Harness::new(
        Config {
            guests: true,
            ..Config::default()
        },
        &[("alice", "apw")],
    )
    .irc_settings(settings)
}

fn guest(h: &mut Harness, nick: &str) -> (ConnId, String) {
    let c = h.irc_connect();
    h.send(c, &format!("NICK {nick}"));
    h.send(c, "USER u 0 * :U");
    let got = h.take_irc(c);
    (c, got)
}

fn ask(h: &mut Harness, conn: ConnId, line: &str) -> String {
    h.take_irc(conn);
    h.send(conn, line);
    h.take_irc(conn)
}

#[test]
fn the_operators_server_name_sources_every_line_and_the_motd_ends_the_welcome() {
    let settings = IrcSettings {
        server_name: "irc.example.org".into(),
        ..IrcSettings::default()
    }
    .with_motd_text("Welcome to our natter.\r\n\nBe kind.\n");
    let mut h = harness(settings);
    let (zed, got) = guest(&mut h, "zed");
    assert!(
        got.contains(":irc.example.org 004 zed irc.example.org natter-"),
        "{got}"
    );
    for l in lines(&got) {
        assert!(l.starts_with(":irc.example.org "), "{l}");
    }
    let tail: Vec<&str> = lines(&got).into_iter().rev().take(5).collect();
    assert_eq!(
        tail,
        [
            ":irc.example.org 376 zed :End of /MOTD command.",
            ":irc.example.org 372 zed :- Be kind.",
            ":irc.example.org 372 zed :- ",
            ":irc.example.org 372 zed :- Welcome to our natter.",
            ":irc.example.org 375 zed :- irc.example.org Message of the day - ",
        ]
    );
    assert_eq!(
        ask(&mut h, zed, "PING x"),
        ":irc.example.org PONG irc.example.org :x\r\n"
    );
    assert_eq!(
        codes(&ask(&mut h, zed, "MOTD")),
        ["375", "372", "372", "372", "376"]
    );
    // The host every user is shown under stays natter's own: no address is shown.
    assert!(ask(&mut h, zed, "WHO zed").contains(" 352 zed * u natter irc.example.org zed H :0 U"));
}

#[test]
fn without_a_motd_it_is_422_and_an_empty_text_is_none() {
    assert_eq!(IrcSettings::default().with_motd_text(" \n\n").motd, None);
    let mut h = harness(IrcSettings::default());
    let (zed, got) = guest(&mut h, "zed");
    assert!(
        got.ends_with(":natter 422 zed :MOTD File is missing\r\n"),
        "{got}"
    );
    assert_eq!(codes(&ask(&mut h, zed, "MOTD")), ["422"]);
}

#[test]
fn a_server_name_is_one_word_of_host_name_characters() {
    assert!(IrcSettings::valid_name("My.Little.Server"));
    assert!(IrcSettings::valid_name("natter"));
    for bad in ["", "two words", "a:b", "é", &"x".repeat(64)] {
        assert!(!IrcSettings::valid_name(bad), "{bad}");
    }
}

#[test]
fn time_version_info_admin_links_and_help_are_answered_by_the_front() {
    let mut h = harness(IrcSettings::default());
    let (zed, _) = guest(&mut h, "zed");
    h.advance_secs(61);
    let got = ask(&mut h, zed, "TIME");
    let expected = crate::time::utc(START.plus_secs(61));
    assert_eq!(got, format!(":natter 391 zed natter :{expected}\r\n"));
    let got = ask(&mut h, zed, "VERSION");
    assert!(got.starts_with(":natter 351 zed natter-"), "{got}");
    assert!(got.contains(" 005 zed "), "{got}");
    let got = ask(&mut h, zed, "INFO");
    assert_eq!(codes(&got).last(), Some(&"374"));
    assert!(codes(&got).iter().rev().skip(1).all(|c| *c == "371"));
    assert_eq!(
        codes(&ask(&mut h, zed, "ADMIN")),
        ["256", "257", "258", "259"]
    );
    assert_eq!(
        ask(&mut h, zed, "LINKS"),
        ":natter 365 zed * :End of /LINKS list\r\n"
    );
    let got = ask(&mut h, zed, "HELP");
    let got_codes = codes(&got);
    assert_eq!(got_codes.first(), Some(&"704"), "{got}");
    assert_eq!(got_codes.last(), Some(&"706"), "{got}");
    assert!(got.contains("/msg natter"), "{got}");
    let got = ask(&mut h, zed, "HELPOP PRIVMSG");
    assert_eq!(codes(&got), ["704", "705", "706"], "{got}");
    assert!(got.contains(" 704 zed PRIVMSG "), "{got}");
    let got = ask(&mut h, zed, "HELP WHOWAS");
    assert!(got.contains(" 705 zed WHOWAS :WHOWAS <nick>"), "{got}");
    let got = ask(&mut h, zed, "HELP NOSUCH");
    assert!(
        got.starts_with(":natter 524 zed NOSUCH :No help available"),
        "{got}"
    );
}
