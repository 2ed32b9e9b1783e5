//! The full-screen windows kept across a restart, through the core as the shell drives it: read at
//! the first login, saved a little after a change and at exit, restored in order with their lines.

use super::*;
use crate::client::screen::{Keep, Key, LineStyle, SAVE_AFTER_SECS};
use crate::protocol::ByeReason;

fn message(user: &str, text: &str, id: u64) -> ServerMsg {
    ServerMsg::Message {
        id,
        sent_at: Timestamp(id),
        from: name(user),
        text: text.into(),
    }
}

/// A full-screen client keeping `keep`, whose earlier run kept `kept`, logged in as alice.
fn alice(keep: Keep, kept: Option<Vec<u8>>) -> Client {
    let mut config = Config::new(P2P_PORT);
    config.full_screen = true;
    config.servers = vec!["127.0.0.1:4000".into()];
    config.interactive = true;
    config.keep_windows = Some(keep);
    let mut c = Client::with_config(config);
    c.windows_kept = kept;
    c.event(Event::User(UserEvent::Resize { rows: 24 }));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.enter("alice");
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.enter("pw");
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    c.server(ServerMsg::WhoElse {
        users: vec![name("bob")],
    });
    c.server(ServerMsg::GroupList { groups: vec![] });
    c
}

/// alice's first run: bob's window and the group's, bob's shown; then Ctrl-C and the goodbye.
fn first_run() -> Client {
    let mut c = alice(Keep::Scrollback, None);
    c.server(message("bob", "are you there?", 1));
    c.server(ServerMsg::GroupMessage {
        id: 2,
        sent_at: Timestamp(2),
        group: name("crew"),
        from: name("carol"),
        text: "standup in 5".into(),
    });
    c.key(Key::Alt('2'));
    c.enter("right here");
    c
}

fn quit(c: &mut Client) {
    c.key(Key::Ctrl('c'));
    c.server(ServerMsg::Bye(ByeReason::Logout));
    assert!(c.exit.is_some());
}

#[test]
fn windows_come_back_in_order_with_their_lines_and_the_window_shown() {
    let mut c = first_run();
    quit(&mut c);
    let kept = c.windows_kept.clone().expect("saved at exit");
    assert_eq!(
        c.windows_saves, 1,
        "once, at exit: the deadline had not come"
    );

    let mut c = alice(Keep::Scrollback, Some(kept));
    assert_eq!(c.window_labels(), ["status", "bob", "#crew"]);
    assert_eq!(c.active_label(), "bob");
    let bob = c.window_lines("bob");
    let sep = bob.iter().position(|l| l == "restored from").unwrap();
    assert_eq!(
        bob[..sep],
        ["are you there?", "right here", "* Logged out. Goodbye!"],
        "the earlier lines, then the separator"
    );
    let w = &c.screen().windows()[1];
    assert_eq!(w.lines[sep].style, LineStyle::Separator);
    assert_eq!(w.lines[1].seq, None, "a message's number was its session's");
    assert_eq!(
        w.lines[1].outcome.as_deref(),
        None,
        "not settled then, shown as it was"
    );
    // The group's line was never read: its window is still marked.
    let crew = &c.screen().windows()[2];
    assert_eq!(crew.activity.unread, 1);
    // The status window holds the earlier run's lines above this run's.
    let status = c.window_lines("status");
    let sep = status.iter().position(|l| l == "restored from").unwrap();
    assert!(status[..sep].iter().any(|l| l.contains("Welcome")));
    assert!(status[sep..].iter().any(|l| l.contains("Welcome")));
    // What comes now goes after, and a new conversation opens after the kept ones.
    c.server(message("bob", "welcome back", 3));
    c.server(message("dave", "hello", 4));
    assert_eq!(c.window_labels(), ["status", "bob", "#crew", "dave"]);
    assert_eq!(c.window_lines("bob").last().unwrap(), "welcome back");
    // And the next run restores this one's, with one separator per restart.
    quit(&mut c);
    let c = alice(Keep::Scrollback, c.windows_kept.clone());
    let seps = c
        .window_lines("bob")
        .iter()
        .filter(|l| *l == "restored from")
        .count();
    assert_eq!(seps, 2);
    assert_eq!(c.window_labels(), ["status", "bob", "#crew", "dave"]);
}

#[test]
fn windows_opened_before_the_kept_ones_were_read_come_after_them() {
    use crate::client::screen::Screen;
    let mut c = first_run();
    quit(&mut c);
    let kept =
        crate::client::screen::SavedWindows::decode(&c.windows_kept.clone().unwrap()).unwrap();
    // A screen that already shows dave's window and a line of bob's when the kept ones come.
    let mut screen = Screen::new("s".into(), Vec::new(), START);
    for (id, from, text) in [(20, "dave", "while you were out"), (21, "bob", "and again")] {
        screen.show(&Item::Server(message(from, text, id)), START);
    }
    screen.restore(kept);
    let labels: Vec<String> = screen.windows().iter().map(|w| w.key.label()).collect();
    assert_eq!(labels, ["status", "bob", "#crew", "dave"]);
    assert_eq!(screen.active_window().key.label(), "bob");
    let bob: Vec<&str> = screen.windows()[1]
        .lines
        .iter()
        .map(|l| l.text.as_str())
        .collect();
    let sep = bob.iter().position(|l| *l == "restored from").unwrap();
    assert_eq!(bob[..2], ["are you there?", "right here"]);
    assert_eq!(bob[sep + 1..], ["and again"]);
    assert_eq!(
        screen.windows()[3].activity.unread,
        1,
        "dave's is still unread"
    );
}

#[test]
fn saves_come_a_few_seconds_after_a_burst_never_before_the_kept_ones_are_read() {
    let mut c = alice(Keep::Scrollback, None);
    c.advance_secs(SAVE_AFTER_SECS);
    assert_eq!(c.windows_saves, 1, "what the login showed");
    for id in 10..60 {
        c.server(message("bob", "spam", id));
    }
    assert_eq!(c.windows_saves, 1, "not per line");
    c.advance_secs(SAVE_AFTER_SECS - 1);
    assert_eq!(c.windows_saves, 1);
    c.advance_secs(1);
    assert_eq!(c.windows_saves, 2, "one for the burst");
    // Typing, scrolling and resizing keep nothing new.
    c.keys("half typed");
    c.key(Key::PageUp);
    c.event(Event::User(UserEvent::Resize { rows: 30 }));
    c.advance_secs(60);
    assert_eq!(c.windows_saves, 2);

    // A client that is not full screen, or keeps nothing, never asks nor saves.
    let mut config = Config::new(P2P_PORT);
    config.keep_windows = Some(Keep::Scrollback);
    let mut line = Client::with_config(config);
    line.login("alice");
    line.server(message("bob", "hi", 70));
    line.advance_secs(60);
    assert_eq!(line.windows_saves, 0);
}

#[test]
fn the_layout_alone_keeps_no_text() {
    let mut c = alice(Keep::Layout, None);
    c.server(message("bob", "a secret", 1));
    c.key(Key::Alt('2'));
    quit(&mut c);
    let kept = c.windows_kept.clone().unwrap();
    assert!(!String::from_utf8_lossy(&kept).contains("a secret"));
    let c = alice(Keep::Layout, Some(kept));
    assert_eq!(c.window_labels(), ["status", "bob"]);
    assert_eq!(c.active_label(), "bob");
    assert!(
        !c.window_lines("bob").iter().any(|l| l == "restored from"),
        "no separator over nothing"
    );
}

#[test]
fn a_damaged_or_newer_file_is_said_set_aside_and_the_windows_start_fresh() {
    let mut c = first_run();
    quit(&mut c);
    let good = String::from_utf8(c.windows_kept.clone().unwrap()).unwrap();
    for (bytes, says) in [
        (good.as_bytes()[..good.len() / 2].to_vec(), "damaged"),
        (b"\xff\x00garbage".to_vec(), "damaged"),
        (
            good.replace("\"format\":1", "\"format\":2").into_bytes(),
            "newer natter",
        ),
    ] {
        let mut c = alice(Keep::Scrollback, Some(bytes));
        assert_eq!(c.window_labels(), ["status"], "fresh");
        assert_eq!(c.windows_set_aside, 1);
        let warning = c
            .window_lines("status")
            .into_iter()
            .find(|l| l.contains("could not be restored"))
            .expect("said");
        assert!(warning.contains(says), "{warning}");
        // This run's windows are kept in their place.
        c.advance_secs(SAVE_AFTER_SECS);
        assert!(c.windows_kept.is_some());
    }
}

#[test]
fn an_unreadable_file_is_said_and_the_windows_start_fresh() {
    let mut config = Config::new(P2P_PORT);
    config.full_screen = true;
    config.servers = vec!["127.0.0.1:4000".into()];
    config.keep_windows = Some(Keep::Scrollback);
    let mut c = Client::with_config(config);
    c.windows_unreadable = Some("permission denied".into());
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.enter("alice");
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.enter("pw");
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    assert!(
        c.window_lines("status")
            .iter()
            .any(|l| l.contains("could not be read (permission denied)")),
        "{:?}",
        c.window_lines("status")
    );
    assert_eq!(c.window_labels(), ["status"]);
    assert_eq!(c.windows_set_aside, 0, "nothing to set aside");
}
