//! `WHO` (and WHOX), `WHOIS`, `WHOWAS` and `LUSERS` on the harness: the core's `who`, `whois`,
//! `whowas` and `lusers` as IRC's numerics, with natter's real data (who is online, idle, away,
//! groups, accounts and guests, what `USER` said) and its privacy rules (a user who blocked the
//! asker is not listed; a group's members are shown to its members).

use super::kit::{ACCOUNTS, codes, lines, say};
use crate::server::harness::Harness;
use crate::server::{Config, ConnId};

fn harness() -> Harness {
    Harness::new(
        Config {
            guests: true,
            timeout_secs: 600,
            ..Config::default()
        },
        ACCOUNTS,
    )
}

/// An IRC client registered as `nick` (an account's with `pass`, else a guest's), with the user
/// name and real name given; its welcome taken.
fn irc(h: &mut Harness, nick: &str, pass: Option<&str>, user: &str, real: &str) -> ConnId {
    let c = h.irc_connect();
    if let Some(p) = pass {
        h.send(c, &format!("PASS {p}"));
    }
    say(
        h,
        c,
        &[&format!("NICK {nick}"), &format!("USER {user} 0 * :{real}")],
    );
    let got = h.take_irc(c);
    assert!(got.contains(&format!(" 001 {nick} ")), "{got}");
    c
}

/// What `conn` is answered to `line`.
fn ask(h: &mut Harness, conn: ConnId, line: &str) -> String {
    h.take_irc(conn);
    h.send(conn, line);
    h.take_irc(conn)
}

#[test]
fn who_shows_a_nick_with_the_user_name_and_real_name_its_client_gave() {
    let mut h = harness();
    let bob = irc(&mut h, "bob", Some("bpw"), "bobu", "Bob Builder");
    let _zed = irc(&mut h, "zed", None, "zedu", "Zed Zedson");
    let got = ask(&mut h, bob, "WHO zed");
    assert_eq!(
        lines(&got),
        [
            ":natter 352 bob * zedu natter natter zed H :0 Zed Zedson",
            ":natter 315 bob zed :End of WHO list"
        ]
    );
    // Letter case aside, and patterns.
    assert_eq!(codes(&ask(&mut h, bob, "WHO ZED")), ["352", "315"]);
    assert_eq!(codes(&ask(&mut h, bob, "WHO z?d")), ["352", "315"]);
    // Everyone online, the asker too; a natter-protocol user shows its name as both names.
    let _alice = h.login("alice", "apw");
    let got = ask(&mut h, bob, "WHO *");
    assert!(
        got.contains(" 352 bob * alice natter natter alice H :0 alice\r\n"),
        "{got}"
    );
    assert!(
        got.contains(" 352 bob * bobu natter natter bob H :0 Bob Builder\r\n"),
        "{got}"
    );
    assert_eq!(codes(&got), ["352", "352", "352", "315"]);
    // Nobody by that name: only the end, the mask as typed.
    assert_eq!(
        lines(&ask(&mut h, bob, "WHO Nobody")),
        [":natter 315 bob Nobody :End of WHO list"]
    );
}

#[test]
fn who_leaves_out_a_user_who_blocked_the_asker_and_shows_away_as_g() {
    let mut h = harness();
    let bob = irc(&mut h, "bob", Some("bpw"), "bob", "Bob");
    let alice = h.login("alice", "apw");
    let carol = h.login("carol", "cpw");
    h.send(alice, "block bob");
    h.send(carol, "away lunch");
    let got = ask(&mut h, bob, "WHO *");
    assert!(!got.contains(" alice "), "{got}");
    assert!(got.contains(" carol G :0 carol\r\n"), "{got}");
    assert_eq!(codes(&ask(&mut h, bob, "WHO alice")), ["315"]);
    // Nor does WHOIS say more than natter's whois: blocked.
    let got = ask(&mut h, bob, "WHOIS alice");
    assert_eq!(codes(&got), ["401", "318"], "{got}");
}

#[test]
fn who_of_a_group_lists_its_members_to_members_with_the_owner_as_at() {
    let mut h = harness();
    let bob = irc(&mut h, "bob", Some("bpw"), "bob", "Bob");
    let zed = irc(&mut h, "zed", None, "z", "Zed");
    say(&mut h, bob, &["JOIN #team"]);
    say(&mut h, zed, &["JOIN #team"]);
    let carol = h.login("carol", "cpw");
    h.send(carol, "group join team");
    h.send(carol, "logout");
    let got = ask(&mut h, zed, "WHO #TEAM");
    assert_eq!(
        lines(&got),
        [
            ":natter 352 zed #team bob natter natter bob H@ :0 Bob",
            // A member who is offline is gone (G).
            ":natter 352 zed #team carol natter natter carol G :0 carol",
            ":natter 352 zed #team z natter natter zed H :0 Zed",
            ":natter 315 zed #TEAM :End of WHO list",
        ]
    );
    // Not a member: natter shows a group's members to its members only.
    let alice = irc(&mut h, "alice", Some("apw"), "a", "A");
    assert_eq!(codes(&ask(&mut h, alice, "WHO #team")), ["315"]);
}

#[test]
fn whox_answers_the_fields_asked_in_its_own_order_with_the_account() {
    let mut h = harness();
    let bob = irc(&mut h, "bob", Some("bpw"), "bobu", "Bob B");
    let _zed = irc(&mut h, "zed", None, "zedu", "Zed");
    let got = ask(&mut h, bob, "WHO zed %afnt,42");
    assert_eq!(
        lines(&got),
        [
            ":natter 354 bob 42 zed H :0",
            ":natter 315 bob zed :End of WHO list"
        ]
    );
    let got = ask(&mut h, bob, "WHO bob %tcuihsnfdlaor,7");
    assert_eq!(
        lines(&got)[0],
        ":natter 354 bob 7 * bobu 255.255.255.255 natter natter bob H 0 0 bob n/a :Bob B"
    );
}

#[test]
fn whois_puts_together_presence_shared_groups_account_and_away() {
    let mut h = harness();
    let bob = irc(&mut h, "bob", Some("bpw"), "bobu", "Bob B");
    let alice = irc(&mut h, "alice", Some("apw"), "al", "Alice A");
    say(&mut h, alice, &["JOIN #team"]);
    say(&mut h, bob, &["JOIN #team"]);
    h.advance_secs(5);
    // Away, said with natter's own `away` (the same state IRC's AWAY sets).
    let carol = h.login("carol", "cpw");
    h.send(carol, "away at lunch");
    h.send(carol, "group join team");
    let got = ask(&mut h, bob, "WHOIS alice");
    let l = lines(&got);
    assert_eq!(l[0], ":natter 311 bob alice al natter * :Alice A", "{got}");
    assert!(got.contains(":natter 319 bob alice :#team\r\n"), "{got}");
    assert!(
        got.contains(":natter 312 bob alice natter :natter\r\n"),
        "{got}"
    );
    assert!(
        got.contains(":natter 317 bob alice 5 1700000000 :seconds idle, signon time\r\n"),
        "{got}"
    );
    assert!(
        got.contains(":natter 330 bob alice alice :is logged in as\r\n"),
        "{got}"
    );
    assert_eq!(
        l.last().unwrap(),
        &":natter 318 bob alice :End of /WHOIS list"
    );
    let got = ask(&mut h, bob, "WHOIS carol");
    assert!(got.contains(":natter 301 bob carol :at lunch\r\n"), "{got}");
    // A guest has no account; one's own nick is answered too; no one, 401.
    let _zed = irc(&mut h, "zed", None, "z", "Zed");
    let got = ask(&mut h, bob, "WHOIS zed");
    assert_eq!(codes(&got), ["311", "312", "317", "318"], "{got}");
    assert_eq!(
        codes(&ask(&mut h, bob, "WHOIS bob")),
        ["311", "312", "317", "330", "318"]
    );
    let got = ask(&mut h, bob, "WHOIS nobody");
    assert_eq!(codes(&got), ["401", "318"], "{got}");
    assert!(got.contains(" 401 bob nobody :"), "{got}");
    // An account offline: 401, saying when it was last seen.
    h.send(carol, "logout");
    let got = ask(&mut h, bob, "WHOIS carol");
    assert_eq!(codes(&got), ["401", "318"], "{got}");
    assert!(got.contains("carol is offline (last seen "), "{got}");
    // WHOIS server nick: the nick is the last parameter.
    assert_eq!(
        codes(&ask(&mut h, bob, "WHOIS natter zed")),
        ["311", "312", "317", "318"]
    );
}

#[test]
fn whowas_tells_the_last_sessions_of_a_nick_newest_first() {
    let mut h = harness();
    let bob = irc(&mut h, "bob", Some("bpw"), "bob", "Bob");
    for ident in ["first", "second"] {
        let z = irc(&mut h, "zed", None, ident, "Zed");
        say(&mut h, z, &["QUIT :bye"]);
        assert!(h.is_closed(z));
        h.advance_secs(1);
    }
    let got = ask(&mut h, bob, "WHOWAS zed");
    assert_eq!(codes(&got), ["314", "312", "314", "312", "369"], "{got}");
    let l = lines(&got);
    assert_eq!(l[0], ":natter 314 bob zed second natter * :Zed");
    assert_eq!(l[2], ":natter 314 bob zed first natter * :Zed");
    assert_eq!(
        codes(&ask(&mut h, bob, "WHOWAS zed 1")),
        ["314", "312", "369"]
    );
    assert_eq!(codes(&ask(&mut h, bob, "WHOWAS zed -1")).len(), 5);
    assert_eq!(codes(&ask(&mut h, bob, "WHOWAS zed 0")).len(), 5);
    assert_eq!(codes(&ask(&mut h, bob, "WHOWAS nobody")), ["406", "369"]);
    assert_eq!(codes(&ask(&mut h, bob, "WHOWAS")), ["461"]);
    // An account's sessions too, logged out on natter's protocol.
    let carol = h.login("carol", "cpw");
    h.send(carol, "logout");
    let got = ask(&mut h, bob, "WHOWAS carol");
    assert!(
        got.contains(":natter 314 bob carol carol natter * :carol\r\n"),
        "{got}"
    );
    // Nothing of a user who has blocked the asker.
    let carol = h.login("carol", "cpw");
    h.send(carol, "block bob");
    assert_eq!(codes(&ask(&mut h, bob, "WHOWAS carol")), ["406", "369"]);
}

#[test]
fn lusers_counts_users_connections_logging_in_the_peak_and_groups() {
    let mut h = harness();
    let bob = irc(&mut h, "bob", Some("bpw"), "bob", "Bob");
    let zed = irc(&mut h, "zed", None, "z", "Zed");
    say(&mut h, bob, &["JOIN #team"]);
    let half = h.irc_connect();
    say(&mut h, half, &["NICK half"]);
    say(&mut h, zed, &["QUIT"]);
    let got = ask(&mut h, bob, "LUSERS");
    assert_eq!(
        lines(&got),
        [
            ":natter 251 bob :There are 1 users and 0 invisible on 1 servers",
            ":natter 253 bob 1 :unknown connection(s)",
            ":natter 254 bob 1 :channels formed",
            ":natter 255 bob :I have 1 clients and 1 servers",
            ":natter 265 bob 1 2 :Current local users 1, max 2",
            ":natter 266 bob 1 2 :Current global users 1, max 2",
        ]
    );
}

#[test]
fn whois_of_a_user_in_many_shared_groups_keeps_each_line_within_512_bytes() {
    let mut h = harness();
    let bob = irc(&mut h, "bob", Some("bpw"), "bob", "Bob");
    let alice = irc(&mut h, "alice", Some("apw"), "a", "A");
    for i in 0..40 {
        let join = format!("JOIN #a_rather_long_group_name_{i:02}");
        say(&mut h, alice, &[&join]);
        say(&mut h, bob, &[&join]);
        // Within flood control's rate.
        h.advance_secs(1);
    }
    let got = ask(&mut h, bob, "WHOIS alice");
    let groups = lines(&got).iter().filter(|l| l.contains(" 319 ")).count();
    assert!(groups > 1, "{got}");
    assert_eq!(got.matches("#a_rather_long_group_name_").count(), 40);
    for l in lines(&got) {
        assert!(l.len() + 2 <= 512, "{l}");
    }
    // WHO of a full mask matches its nick.
    assert_eq!(codes(&ask(&mut h, bob, "WHO alice!*@*")), ["352", "315"]);
}

#[test]
fn after_a_restart_whowas_begins_with_each_accounts_last_logout() {
    use crate::server::harness::START;
    use crate::server::{Account, Record, ServerState};
    let accounts = ACCOUNTS
        .iter()
        .map(|(u, p)| Account {
            username: (*u).into(),
            password: (*p).into(),
        })
        .collect();
    let mut state = ServerState::new(Config::default(), accounts, [7; 32]);
    let records = vec![Record::LoggedOut {
        user: "carol".into(),
        at: START.minus_millis(60_000),
    }];
    state.restore(records, START);
    let mut h = Harness::with_state(state, START);
    let bob = irc(&mut h, "bob", Some("bpw"), "bob", "Bob");
    let got = ask(&mut h, bob, "WHOWAS carol");
    assert_eq!(codes(&got), ["314", "312", "369"], "{got}");
    assert!(
        got.contains(":natter 314 bob carol carol natter * :carol\r\n"),
        "{got}"
    );
}
