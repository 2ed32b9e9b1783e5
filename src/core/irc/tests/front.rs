//! IRC sessions on the harness, through the composed server the server runs: registration against
//! natter's accounts, its refusals as numerics, messages both ways with natter-protocol sessions,
//! stored messages at login, and the core's rules (lockout, one session per user, idle logout)
//! unchanged.

use super::kit::{ACCOUNTS, codes, lines, say, welcome};
use crate::protocol::{ServerMsg, decode_line};
use crate::server::Config;
use crate::server::harness::Harness;

fn harness() -> Harness {
    Harness::new(
        Config {
            block_duration_secs: 60,
            timeout_secs: 300,
            idle_warning_secs: 60,
            ..Config::default()
        },
        ACCOUNTS,
    )
}

#[test]
fn registration_with_pass_nick_user_welcomes_with_001_to_005_lusers_and_422() {
    let mut h = harness();
    let (_, got) = welcome(&mut h, "alice", Some("apw"), "");
    assert!(got.starts_with(":natter NOTICE * :*** natter"), "{got}");
    assert_eq!(
        codes(&got),
        [
            "001", "002", "003", "004", "005", "005", "251", "253", "254", "255", "265", "266",
            "422"
        ],
        "{got}"
    );
    assert!(got.contains(":natter 001 alice :Welcome to natter, alice!alice@natter\r\n"));
    assert!(got.contains("CASEMAPPING=ascii"));
    assert_eq!(h.state().online_users(), vec!["alice"]);
    for l in lines(&got) {
        assert!(l.len() + 2 <= 512, "{l}");
    }
}

#[test]
fn capability_negotiation_holds_registration_until_cap_end() {
    let mut h = harness();
    let c = h.irc_connect();
    say(
        &mut h,
        c,
        &["CAP LS 302", "PASS apw", "NICK alice", "USER a 0 * :A"],
    );
    let got = h.take_irc(c);
    assert!(
        got.contains(":natter CAP * LS :sasl=PLAIN server-time message-tags"),
        "{got}"
    );
    assert!(codes(&got).is_empty(), "no welcome before CAP END: {got}");
    say(&mut h, c, &["CAP REQ :server-time no-such-cap"]);
    assert!(h.take_irc(c).contains("CAP * NAK :server-time no-such-cap"));
    say(&mut h, c, &["CAP REQ :server-time", "CAP END"]);
    let got = h.take_irc(c);
    assert!(got.contains("CAP * ACK :server-time"), "{got}");
    assert!(got.contains(" 001 alice "), "{got}");
    say(&mut h, c, &["CAP LIST"]);
    // cap-notify comes with CAP LS 302.
    assert!(
        h.take_irc(c)
            .contains("CAP alice LIST :server-time cap-notify")
    );
}

#[test]
fn no_password_is_464_and_the_connection_closes() {
    let mut h = harness();
    let c = h.irc_connect();
    say(&mut h, c, &["NICK alice", "USER a 0 * :A"]);
    let got = h.take_irc(c);
    assert_eq!(codes(&got), ["464"], "{got}");
    assert!(got.contains("\r\nERROR :Closing link: alice"), "{got}");
    assert!(h.is_closed(c));
    assert!(h.state().online_users().is_empty());
}

#[test]
fn a_wrong_password_is_464_and_three_lock_the_account_for_every_protocol() {
    let mut h = harness();
    for left in ["2 attempts", "1 attempt"] {
        let (c, got) = welcome(&mut h, "bob", Some("nope"), "");
        assert_eq!(codes(&got), ["464"], "{got}");
        assert!(got.contains(left), "{got}");
        assert!(got.contains("ERROR :Closing link: bob"), "{got}");
        assert!(h.is_closed(c));
    }
    let (c, got) = welcome(&mut h, "bob", Some("nope"), "");
    assert_eq!(codes(&got), ["465"], "{got}");
    assert!(h.is_closed(c));
    // Locked on the IRC listener with the right password, and on natter's own protocol too.
    let (_, got) = welcome(&mut h, "bob", Some("bpw"), "");
    assert_eq!(codes(&got), ["465"], "{got}");
    let n = h.connect();
    h.take(n);
    h.send(n, "bob");
    assert!(h.take(n).iter().any(|m| matches!(
        m,
        ServerMsg::Error(crate::protocol::ErrorReply::Locked { .. })
    )),);
}

#[test]
fn an_unknown_account_is_464() {
    let mut h = harness();
    let (c, got) = welcome(&mut h, "mallory", Some("x"), "");
    assert_eq!(codes(&got), ["464"], "{got}");
    assert!(h.is_closed(c));
}

#[test]
fn a_second_login_of_an_online_user_is_433_and_another_nick_may_be_tried() {
    let mut h = harness();
    let _natter = h.login("alice", "apw");
    let c = h.irc_connect();
    say(&mut h, c, &["PASS apw", "NICK alice", "USER a 0 * :A"]);
    let got = h.take_irc(c);
    assert_eq!(codes(&got), ["433"], "{got}");
    assert!(got.contains(":natter 433 * alice :"), "{got}");
    assert!(!h.is_closed(c));
    // The live session is untouched; another nick (with its own password) logs in.
    assert_eq!(h.state().online_users(), vec!["alice"]);
    say(&mut h, c, &["PASS bpw", "NICK bob"]);
    assert!(h.take_irc(c).contains(" 001 bob "));
}

#[test]
fn privmsg_reaches_a_natter_user_and_natter_messages_arrive_as_privmsg() {
    let mut h = harness();
    let (irc, _) = welcome(&mut h, "alice", Some("apw"), "");
    let bob = h.login("bob", "bpw");
    h.take_irc(irc);
    say(&mut h, irc, &["PRIVMSG bob :hello bob, from IRC"]);
    assert!(h.take(bob).iter().any(|m| matches!(
        m,
        ServerMsg::Message { from, text, .. } if &**from == "alice" && text == "hello bob, from IRC"
    )));
    h.send(bob, "message alice hi alice: from natter");
    assert_eq!(
        h.take_irc(irc),
        ":bob!bob@natter PRIVMSG alice :hi alice: from natter\r\n"
    );
    // NOTICE is a message too.
    say(&mut h, irc, &["NOTICE bob :psst"]);
    assert!(
        h.take(bob)
            .iter()
            .any(|m| matches!(m, ServerMsg::Message { text, .. } if text == "psst"))
    );
}

#[test]
fn messages_between_two_irc_users_and_to_several_targets() {
    let mut h = harness();
    let (a, _) = welcome(&mut h, "alice", Some("apw"), "");
    let (b, _) = welcome(&mut h, "bob", Some("bpw"), "");
    say(&mut h, a, &["PRIVMSG bob,nobody,#team :hi"]);
    assert_eq!(h.take_irc(b), ":alice!alice@natter PRIVMSG bob :hi\r\n");
    let got = h.take_irc(a);
    assert!(
        got.contains(":natter 401 alice nobody :No such nick/channel\r\n"),
        "{got}"
    );
    assert!(got.contains(":natter 403 alice #team :"), "{got}");
}

#[test]
fn a_message_kept_while_offline_arrives_at_registration_with_its_time_once() {
    let mut h = harness();
    let bob = h.login("bob", "bpw");
    h.send(bob, "message alice kept for you");
    assert!(
        h.take(bob)
            .iter()
            .any(|m| matches!(m, ServerMsg::Stored { .. }))
    );
    let c = h.irc_connect();
    say(
        &mut h,
        c,
        &[
            "CAP LS 302",
            "CAP REQ :server-time",
            "PASS apw",
            "NICK alice",
            "USER a 0 * :A",
            "CAP END",
        ],
    );
    let got = h.take_irc(c);
    let stored = lines(&got)
        .into_iter()
        .find(|l| l.contains(" PRIVMSG alice "))
        .unwrap_or_else(|| panic!("no stored message: {got}"));
    assert!(
        stored.starts_with(
            "@time=2023-11-14T22:13:20.000Z :bob!bob@natter PRIVMSG alice :kept for you"
        ),
        "{stored}"
    );
    // It was acknowledged for the client once written: the next login does not bring it again.
    say(&mut h, c, &["QUIT :bye"]);
    assert!(
        h.take_irc(c)
            .contains("ERROR :Closing link: alice (Quit: bye)")
    );
    assert!(h.is_closed(c));
    let (_, again) = welcome(&mut h, "alice", Some("apw"), "");
    assert!(!again.contains(" PRIVMSG alice "), "{again}");
}

#[test]
fn without_server_time_a_stored_message_has_no_tag() {
    let mut h = harness();
    let bob = h.login("bob", "bpw");
    h.send(bob, "message alice plain");
    let (_, got) = welcome(&mut h, "alice", Some("apw"), "");
    assert!(
        got.contains("\r\n:bob!bob@natter PRIVMSG alice :plain\r\n"),
        "{got}"
    );
}

#[test]
fn ping_is_answered_and_unknown_commands_and_early_commands_have_numerics() {
    let mut h = harness();
    let c = h.irc_connect();
    h.take_irc(c);
    say(&mut h, c, &["PRIVMSG bob :too early", "PING :tok"]);
    let got = h.take_irc(c);
    assert!(
        got.contains(":natter 451 * :You have not registered\r\n"),
        "{got}"
    );
    assert!(got.contains(":natter PONG natter :tok\r\n"), "{got}");
    say(&mut h, c, &["PASS apw", "NICK alice", "USER a 0 * :A"]);
    h.take_irc(c);
    say(
        &mut h,
        c,
        &[
            "FROB x",
            "PRIVMSG bob",
            "PRIVMSG",
            "\u{1}bad:",
            "USER a 0 * :A",
        ],
    );
    let got = h.take_irc(c);
    assert_eq!(codes(&got), ["421", "412", "411", "421", "462"], "{got}");
}

#[test]
fn a_long_natter_message_is_cut_into_lines_irc_allows() {
    let mut h = harness();
    let (irc, _) = welcome(&mut h, "alice", Some("apw"), "");
    let bob = h.login("bob", "bpw");
    let text: String = "é".repeat(600);
    h.send(bob, &format!("message alice {text}"));
    let got = h.take_irc(irc);
    let all = lines(&got);
    assert!(all.len() >= 3, "{got}");
    let mut joined = String::new();
    for l in &all {
        assert!(l.len() + 2 <= 512, "{} bytes", l.len());
        joined.push_str(l.split_once(" :").unwrap().1);
    }
    assert_eq!(joined, text);
}

#[test]
fn ping_is_no_activity_the_idle_logout_comes_as_an_error_line() {
    let mut h = harness();
    let (c, _) = welcome(&mut h, "alice", Some("apw"), "");
    for _ in 0..6 {
        h.advance_secs(50);
        say(&mut h, c, &["PING :still here"]);
    }
    let got = h.take_irc(c);
    assert!(
        got.contains("NOTICE alice :warning: You will be logged out in 60 s"),
        "{got}"
    );
    assert!(got.contains("ERROR :Closing link: alice ("), "{got}");
    assert!(h.is_closed(c));
    assert!(h.state().online_users().is_empty());
}

#[test]
fn a_dropped_irc_connection_ends_the_session_and_the_next_keeps_messages() {
    let mut h = harness();
    let (c, _) = welcome(&mut h, "alice", Some("apw"), "");
    h.disconnect(c);
    assert!(h.state().online_users().is_empty());
    let bob = h.login("bob", "bpw");
    h.send(bob, "message alice later");
    let got: Vec<String> = h
        .take(bob)
        .iter()
        .map(|m| String::from_utf8(crate::protocol::render_line(m)).unwrap())
        .collect();
    assert!(got.iter().any(|l| decode_line(l.trim_end()).is_ok_and(|m| matches!(m, ServerMsg::Stored { .. }))), "{got:?}");
}

/// `AUTHENTICATE` PLAIN's payload for `account` and `password`.
fn plain(account: &str, password: &str) -> String {
    use base64::Engine as _;
    let raw = format!("\0{account}\0{password}");
    format!(
        "AUTHENTICATE {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[test]
fn sasl_plain_logs_in_before_cap_end_and_the_welcome_waits_for_it() {
    let mut h = harness();
    let bob = h.login("bob", "bpw");
    h.send(bob, "message alice kept");
    let c = h.irc_connect();
    say(&mut h, c, &["CAP LS 302", "NICK alice", "USER a 0 * :A"]);
    assert!(h.take_irc(c).contains("CAP * LS :sasl=PLAIN server-time"));
    say(&mut h, c, &["CAP REQ :sasl", "AUTHENTICATE PLAIN"]);
    let got = h.take_irc(c);
    assert!(got.ends_with("AUTHENTICATE +\r\n"), "{got}");
    say(&mut h, c, &[&plain("alice", "apw")]);
    let got = h.take_irc(c);
    assert_eq!(codes(&got), ["900", "903"], "{got}");
    assert!(
        got.contains(":natter 900 alice alice!alice@natter alice :You are now logged in as alice")
    );
    assert_eq!(h.state().online_users(), vec!["alice", "bob"]);
    say(&mut h, c, &["CAP END"]);
    let got = h.take_irc(c);
    assert_eq!(
        codes(&got),
        [
            "001", "002", "003", "004", "005", "005", "251", "253", "254", "255", "265", "266",
            "422"
        ],
        "{got}"
    );
    // The message kept for alice came with the welcome, after its 005 (the LUSERS and the
    // message of the day, asked of the core, follow).
    let kept = got
        .find(":bob!bob@natter PRIVMSG alice :kept\r\n")
        .expect("kept");
    assert!(
        kept > got.find(" 005 ").unwrap() && kept < got.find(" 251 ").unwrap(),
        "{got}"
    );
}

#[test]
fn a_refused_sasl_login_is_904() {
    let mut h = harness();
    let c = h.irc_connect();
    say(
        &mut h,
        c,
        &[
            "CAP LS",
            "CAP REQ :sasl",
            "AUTHENTICATE PLAIN",
            &plain("nobody", "x"),
        ],
    );
    let got = h.take_irc(c);
    assert!(got.contains("CAP * LS :sasl server-time"), "{got}");
    assert_eq!(codes(&got), ["904"], "{got}");
    // An unknown account leaves the registration open: PASS may follow.
    say(
        &mut h,
        c,
        &["PASS apw", "NICK alice", "USER a 0 * :A", "CAP END"],
    );
    assert!(h.take_irc(c).contains(" 001 alice "));
    // A wrong password ends it, and counts toward the lockout.
    let c = h.irc_connect();
    say(
        &mut h,
        c,
        &["CAP REQ :sasl", "AUTHENTICATE PLAIN", &plain("bob", "nope")],
    );
    let got = h.take_irc(c);
    assert_eq!(codes(&got), ["904"], "{got}");
    assert!(h.is_closed(c));
    // Without the capability, or with another mechanism, or aborted.
    let c = h.irc_connect();
    say(&mut h, c, &["AUTHENTICATE PLAIN"]);
    assert_eq!(codes(&h.take_irc(c)), ["904"]);
    say(
        &mut h,
        c,
        &[
            "CAP REQ :sasl",
            "AUTHENTICATE EXTERNAL",
            "AUTHENTICATE PLAIN",
            "AUTHENTICATE *",
        ],
    );
    let got = h.take_irc(c);
    assert_eq!(codes(&got), ["908", "904", "906"], "{got}");
}

#[test]
fn a_line_past_the_server_limit_is_417() {
    let mut h = harness();
    let (c, _) = welcome(&mut h, "alice", Some("apw"), "");
    h.too_long(c);
    assert_eq!(codes(&h.take_irc(c)), ["417"]);
}

#[test]
fn a_live_message_held_for_the_welcome_is_kept_if_the_connection_drops_first() {
    let mut h = harness();
    let bob = h.login("bob", "bpw");
    let c = h.irc_connect();
    say(
        &mut h,
        c,
        &[
            "CAP REQ :sasl",
            "NICK alice",
            "USER a 0 * :A",
            "AUTHENTICATE PLAIN",
            &plain("alice", "apw"),
        ],
    );
    assert_eq!(codes(&h.take_irc(c)), ["900", "903"]);
    h.send(bob, "message alice while you register");
    assert!(
        !h.take_irc(c).contains(" PRIVMSG "),
        "held until the welcome"
    );
    h.disconnect(c);
    let (_, got) = welcome(&mut h, "alice", Some("apw"), "");
    assert!(
        got.contains(":bob!bob@natter PRIVMSG alice :while you register\r\n"),
        "{got}"
    );
}
