//! A client people leave open: an idle logout keeps it open with its windows and logs in again as
//! soon as the user types (sending what they typed once it has); a lost server is tried for ever,
//! backing off to a minute with jitter, saying for how long; `reconnect` tries now, and `disconnect`
//! stays open without trying until `reconnect`. A script still ends, as its exit status tells it.

use super::*;
use crate::client::screen::{Key, Link};
use crate::protocol::ByeReason;

const IDLE: ByeReason = ByeReason::Timeout { secs: 600 };

fn from(user: &str, text: &str, id: u64) -> ServerMsg {
    ServerMsg::Message {
        id,
        sent_at: crate::time::Timestamp(id),
        from: name(user),
        text: text.into(),
    }
}

/// alice, full screen, in bob's window (he wrote first), and a group window too.
fn full_screen() -> Client {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.server(ServerMsg::GroupMessage {
        id: 1,
        sent_at: crate::time::Timestamp(1),
        from: name("bob"),
        group: name("crew"),
        text: "standup".into(),
    });
    c.server(from("bob", "hi", 2));
    c.key(Key::Alt('3'));
    assert_eq!(c.active_label(), "bob");
    c.clear();
    c
}

/// alice in line mode at a terminal, on one server, logged in.
fn line_mode() -> Client {
    let mut config = Config::new(P2P_PORT);
    config.servers = vec!["a:1".into()];
    config.interactive = true;
    let mut c = Client::with_config(config);
    c.login("alice");
    c.clear();
    c
}

/// The server answers a login again as a server whose certificate is pinned does.
fn welcomed_again(c: &mut Client) {
    c.event(Event::Server(ServerEvent::ConnectedVerified));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
}

fn texts(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| crate::client::display::render(i, false))
        .collect()
}

fn status_bar(c: &Client) -> String {
    c.screen()
        .status_bar(200, c.now, "12:00")
        .into_iter()
        .map(|s| s.text)
        .collect()
}

#[test]
fn an_idle_logout_keeps_every_window_and_says_why_in_each() {
    let mut c = full_screen();
    c.server(ServerMsg::IdleWarning { secs_left: 60 });
    c.server(ServerMsg::Bye(IDLE));
    assert_eq!(c.exit, None, "the client stays open");
    assert_eq!(
        c.server_conns,
        [None],
        "the connection the server ends is dropped"
    );
    assert_eq!(c.window_labels(), ["status", "#crew", "bob"]);
    for w in ["status", "#crew", "bob"] {
        assert!(
            c.window_lines(w)
                .iter()
                .any(|l| l.contains("logged out by the server after 600 s")),
            "{w}: {:?}",
            c.window_lines(w)
        );
    }
    assert!(
        c.window_lines("bob").contains(&"hi".to_owned()),
        "scrollback kept"
    );
    assert!(
        c.window_lines("bob")
            .last()
            .unwrap()
            .contains("Type anything to log in again as alice"),
        "{:?}",
        c.window_lines("bob")
    );
    assert_eq!(
        c.screen().link(),
        Link::Offline {
            wake_on_typing: true
        }
    );
    assert!(status_bar(&c).contains("[logged out: type to log in again]"));
    assert_eq!(c.screen().idle_left(c.now), None);
    // Time passing does nothing by itself: nobody is logged in again behind the user's back.
    c.advance_secs(3_600);
    assert_eq!(c.server_conns, [None]);
    assert!(c.sent.is_empty());
}

#[test]
fn typing_after_an_idle_logout_logs_in_again_and_then_sends_what_was_typed() {
    let mut c = full_screen();
    c.server(ServerMsg::Bye(IDLE));
    c.clear();
    // The first key logs in again, at the same server.
    c.keys("back ");
    assert_eq!(c.server_conns, [Some(0)]);
    c.enter("again");
    assert_eq!(c.server_conns, [Some(0)], "once");
    assert!(c.take_sent().is_empty(), "nothing before the login");
    assert!(
        !texts(&c.shown).iter().any(|t| t.contains("not sent")),
        "kept, not refused: {:?}",
        texts(&c.shown)
    );
    assert!(matches!(c.screen().link(), Link::Reconnecting { .. }));
    welcomed_again(&mut c);
    let sent = c.take_sent();
    assert_eq!(
        &sent[..2],
        ["alice", "pw"],
        "the login kept, to a verified server"
    );
    assert_eq!(
        sent.last().map(String::as_str),
        Some("message bob back again"),
        "what was typed goes once logged in, to the window it was typed in: {sent:?}"
    );
    assert_eq!(c.exit, None);
    assert_eq!(c.screen().link(), Link::Up);
    assert_eq!(c.window_labels(), ["status", "#crew", "bob"]);
    assert!(c.window_lines("bob").contains(&"hi".to_owned()));
    assert!(c.window_lines("bob").contains(&"back again".to_owned()));
    // A second idle logout is survived the same way.
    c.server(ServerMsg::Bye(IDLE));
    assert_eq!(c.exit, None);
}

#[test]
fn after_an_idle_logout_an_unverified_server_gets_the_password_only_from_the_user() {
    let mut c = full_screen();
    c.server(ServerMsg::Bye(IDLE));
    c.enter("/whoelse");
    c.clear();
    c.event(Event::Server(ServerEvent::Connected));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.server(ServerMsg::Prompt(Prompt::Password));
    assert_eq!(c.take_sent(), ["alice"], "no password by itself");
    assert_eq!(c.reads.last(), Some(&InputMode::Password));
    c.enter("pw");
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    let sent = c.take_sent();
    assert_eq!(sent[0], "pw");
    assert_eq!(sent.last().map(String::as_str), Some("whoelse"), "{sent:?}");
}

#[test]
fn line_mode_says_it_once_and_enter_logs_in_again() {
    let mut c = line_mode();
    c.server(ServerMsg::Bye(IDLE));
    assert_eq!(c.exit, None);
    let said = texts(&c.take_shown());
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].contains("logged out by the server"), "{said:?}");
    assert!(
        said[1].contains("Press Enter, or type a command, to log in again as alice"),
        "{said:?}"
    );
    // Enter alone logs in again, and sends nothing after.
    c.typed("");
    assert_eq!(c.server_conns, [None, Some(0)]);
    welcomed_again(&mut c);
    let sent = c.take_sent();
    assert_eq!(&sent[..2], ["alice", "pw"]);
    assert!(!sent.iter().any(|l| l.is_empty()), "{sent:?}");
    assert!(
        c.reads.contains(&InputMode::Command {
            user: name("alice")
        }),
        "commands are read again"
    );

    // A command typed then is sent once logged in again.
    c.server(ServerMsg::Bye(IDLE));
    c.typed("message bob are you still there?");
    c.take_sent();
    welcomed_again(&mut c);
    let sent = c.take_sent();
    assert_eq!(
        sent.last().map(String::as_str),
        Some("message bob are you still there?")
    );
}

#[test]
fn a_script_still_ends_at_an_idle_logout() {
    let mut config = Config::new(P2P_PORT);
    config.servers = vec!["a:1".into()];
    let mut c = Client::with_config(config);
    c.login("alice");
    c.server(ServerMsg::Bye(IDLE));
    assert_eq!(c.exit, Some(Exit::EndedByServer));
}

#[test]
fn quitting_after_an_idle_logout_ends_the_client() {
    let mut c = line_mode();
    c.server(ServerMsg::Bye(IDLE));
    c.typed("quit");
    assert_eq!(c.exit, Some(Exit::LoggedOut));
    assert!(
        c.server_conns.iter().all(Option::is_none),
        "no login for that"
    );
}

/// The waits a client lost at a terminal says between attempts, over `hours`, with `seed`.
fn waits_while_down(seed: [u8; 32], hours: u64) -> (Client, Vec<u64>) {
    let mut config = Config::new(P2P_PORT);
    config.full_screen = true;
    config.servers = vec!["127.0.0.1:4000".into()];
    config.interactive = true;
    config.seed = seed;
    let mut c = Client::with_config(config);
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.enter("alice");
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.enter("pw");
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    c.clear();
    let start = c.now;
    c.event(Event::Server(ServerEvent::Closed));
    let mut waits = Vec::new();
    while c.now.millis_since(start) < hours * 3_600_000 {
        c.event(Event::Server(ServerEvent::ConnectFailed {
            error: "connection refused",
        }));
        assert_eq!(c.exit, None, "never given up on");
        let before = c.now;
        let dials = c.server_conns.iter().filter(|s| s.is_some()).count();
        // The bar says for how long, and when the next try is.
        let at = c.state.poll_timeout().expect("a next try");
        waits.push(at.millis_since(before));
        c.advance_ms(at.millis_since(before));
        assert_eq!(
            c.server_conns.iter().filter(|s| s.is_some()).count(),
            dials + 1,
            "tried again when due"
        );
    }
    (c, waits)
}

#[test]
fn a_lost_server_is_tried_for_ever_backing_off_to_a_minute_with_jitter() {
    let (c, waits) = waits_while_down([3; 32], 3);
    assert!(waits.len() > 150, "{}", waits.len());
    assert!(waits.iter().all(|w| *w <= 60_000), "capped: {waits:?}");
    assert!(
        waits[8..].iter().all(|w| *w >= 45_000),
        "near a minute once capped: {waits:?}"
    );
    let distinct: std::collections::BTreeSet<_> = waits[8..].iter().collect();
    assert!(distinct.len() > 50, "jittered: {waits:?}");
    let (_, again) = waits_while_down([3; 32], 3);
    assert_eq!(
        waits, again,
        "the seed decides the jitter: replayed exactly"
    );
    let (_, other) = waits_while_down([4; 32], 3);
    assert_ne!(waits, other);
    assert_eq!(c.exit, None);
}

#[test]
fn the_status_bar_and_the_news_say_for_how_long_it_has_been_trying() {
    let (mut c, _) = waits_while_down([5; 32], 0);
    // Lost at once: dialling.
    assert!(
        status_bar(&c).contains("[reconnecting for 0s, trying now]"),
        "{}",
        status_bar(&c)
    );
    for _ in 0..7 {
        c.event(Event::Server(ServerEvent::ConnectFailed {
            error: "connection refused",
        }));
        let at = c.state.poll_timeout().unwrap();
        c.advance_ms(at.millis_since(c.now));
    }
    c.take_shown();
    c.advance_secs(130);
    c.event(Event::Server(ServerEvent::ConnectFailed {
        error: "connection refused",
    }));
    let news = texts(&c.take_shown());
    assert!(
        news.is_empty(),
        "the same failure is not said every minute: {news:?}"
    );
    c.advance_secs(300);
    c.event(Event::Server(ServerEvent::ConnectFailed {
        error: "connection refused",
    }));
    let bar = status_bar(&c);
    let Link::Reconnecting {
        since,
        next_try: Some(next),
    } = c.screen().link()
    else {
        panic!("{:?}", c.screen().link())
    };
    let secs = c.now.millis_since(since) / 1000;
    assert!(secs > 420, "{secs}");
    let expected = format!(
        "[reconnecting for {}m {}s, next try in {} s]",
        secs / 60,
        secs % 60,
        c.now.secs_until_ceil(next)
    );
    assert!(bar.contains(&expected), "{bar} vs {expected}");
    let news = texts(&c.take_shown());
    assert!(
        news.iter()
            .any(|t| t.contains("Still cannot log in again") && t.contains("(reconnecting for ")),
        "{news:?}"
    );
}

#[test]
fn reconnect_tries_now_rather_than_after_the_wait() {
    let (mut c, _) = waits_while_down([6; 32], 0);
    for _ in 0..6 {
        c.event(Event::Server(ServerEvent::ConnectFailed {
            error: "connection refused",
        }));
        let at = c.state.poll_timeout().unwrap();
        c.advance_ms(at.millis_since(c.now));
    }
    c.event(Event::Server(ServerEvent::ConnectFailed {
        error: "connection refused",
    }));
    let next = c.state.poll_timeout().unwrap();
    assert!(next.millis_since(c.now) >= 20_000);
    c.server_conns.clear();
    c.take_shown();
    c.enter("/reconnect");
    assert_eq!(c.server_conns, [Some(0)], "at once");
    assert!(texts(&c.take_shown()).iter().any(|t| t.contains("now")));
    // Under way: a second one says so and dials nothing more.
    c.enter("/reconnect");
    assert_eq!(c.server_conns, [Some(0)]);
    assert!(
        texts(&c.take_shown())
            .iter()
            .any(|t| t.contains("Already trying"))
    );
    // The old deadline does nothing.
    c.advance_ms(next.millis_since(c.now) + 1);
    assert_eq!(c.server_conns, [Some(0)]);
    welcomed_again(&mut c);
    assert_eq!(c.screen().link(), Link::Up);
    c.take_shown();
    c.enter("/reconnect");
    assert!(
        texts(&c.take_shown())
            .iter()
            .any(|t| t.contains("Connected to 127.0.0.1:4000 already"))
    );
    assert_eq!(c.server_conns, [Some(0)]);
}

#[test]
fn disconnect_logs_out_and_stays_open_until_reconnect() {
    let mut c = full_screen();
    c.enter("/disconnect");
    assert_eq!(c.take_sent().last().map(String::as_str), Some("logout"));
    c.server(ServerMsg::Bye(ByeReason::Logout));
    assert_eq!(c.exit, None, "stays open");
    assert_eq!(c.server_conns, [None]);
    assert_eq!(
        c.screen().link(),
        Link::Offline {
            wake_on_typing: false
        }
    );
    assert!(status_bar(&c).contains("[disconnected: /reconnect]"));
    assert_eq!(c.window_labels(), ["status", "#crew", "bob"]);
    // Typing does not log in again: only /reconnect does.
    c.clear();
    c.enter("anyone?");
    assert!(c.server_conns.is_empty());
    assert!(c.take_sent().is_empty());
    assert!(
        c.take_shown()
            .contains(&client_error(ClientError::Disconnected("anyone?".into())))
    );
    c.advance_secs(3_600);
    assert!(c.server_conns.is_empty(), "nothing tried by itself");
    c.enter("/reconnect");
    assert_eq!(c.server_conns, [Some(0)]);
    welcomed_again(&mut c);
    assert_eq!(c.screen().link(), Link::Up);
    assert_eq!(&c.take_sent()[..2], ["alice", "pw"]);
    c.enter("hello again");
    assert_eq!(c.take_sent(), ["message bob hello again"]);
}

#[test]
fn disconnect_without_the_servers_goodbye_still_drops_the_connection() {
    let mut c = line_mode();
    c.typed("disconnect");
    c.reads.clear();
    assert_eq!(c.take_sent().last().map(String::as_str), Some("logout"));
    c.advance_secs(10);
    assert_eq!(c.exit, None);
    assert_eq!(c.server_conns, [None]);
    assert_eq!(
        c.reads.last(),
        Some(&InputMode::Command {
            user: name("alice")
        }),
        "lines are read still"
    );
    c.typed("whoelse");
    assert!(c.take_sent().is_empty());
    c.typed("reconnect");
    assert_eq!(c.server_conns, [None, Some(0)]);
}

#[test]
fn disconnect_while_reconnecting_stops_trying() {
    let (mut c, _) = waits_while_down([9; 32], 0);
    c.event(Event::Server(ServerEvent::ConnectFailed {
        error: "connection refused",
    }));
    c.server_conns.clear();
    c.enter("/disconnect");
    assert_eq!(c.server_conns, [None]);
    assert_eq!(
        c.screen().link(),
        Link::Offline {
            wake_on_typing: false
        }
    );
    c.advance_secs(3_600);
    assert_eq!(c.server_conns, [None], "nothing tried by itself");
    assert_eq!(c.exit, None);
    c.enter("/reconnect");
    assert_eq!(c.server_conns, [None, Some(0)]);
}

#[test]
fn a_script_on_several_servers_keeps_its_bound() {
    let mut config = Config::new(P2P_PORT);
    config.servers = vec!["a:1".into(), "b:2".into()];
    let mut c = Client::with_config(config);
    c.login("alice");
    c.event(Event::Server(ServerEvent::Closed));
    for _ in 0..500 {
        if c.exit.is_some() {
            break;
        }
        c.event(Event::Server(ServerEvent::ConnectFailed { error: "down" }));
        if let Some(at) = c.state.poll_timeout() {
            c.advance_ms(at.millis_since(c.now));
        }
    }
    assert_eq!(c.exit, Some(Exit::ConnectionLost));
    assert!(c.shown.contains(&client_error(ClientError::NoServerLeft {
        secs: crate::client::SCRIPT_GIVE_UP_SECS
    })));
}

#[test]
fn a_login_again_left_at_the_password_prompt_stays_open_too() {
    let mut c = full_screen();
    c.server(ServerMsg::Bye(IDLE));
    c.keys("x");
    c.event(Event::Server(ServerEvent::Connected));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.server(ServerMsg::Prompt(Prompt::Password));
    assert_eq!(c.reads.last(), Some(&InputMode::Password));
    c.server(ServerMsg::Bye(ByeReason::LoginTimeout { secs: 120 }));
    assert_eq!(c.exit, None);
    assert_eq!(
        c.screen().link(),
        Link::Offline {
            wake_on_typing: true
        }
    );
    c.clear();
    c.keys("y");
    assert_eq!(c.server_conns, [Some(0)], "typing logs in again");
}
