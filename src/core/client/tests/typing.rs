//! Typing notices: the server's typing signals shown in the status bar for the conversation in
//! view, never as a line, ended by a pause, a message from the typist, or after a few seconds.

use super::*;
use crate::client::screen::Key;

fn status_bar(c: &Client) -> String {
    c.screen()
        .status_bar(200, c.now, "12:00")
        .into_iter()
        .map(|s| s.text)
        .collect()
}

fn signal(from: &str, tags: &str) -> ServerMsg {
    ServerMsg::Signal {
        id: 9,
        sent_at: crate::time::Timestamp(9),
        from: name(from),
        tags: tags.into(),
    }
}

/// alice, full screen, in bob's window.
fn in_bobs_window() -> Client {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.server(ServerMsg::Message {
        id: 1,
        sent_at: crate::time::Timestamp(1),
        from: name("bob"),
        text: "hi".into(),
    });
    c.key(Key::Alt('2'));
    assert_eq!(c.active_label(), "bob");
    c.clear();
    c
}

#[test]
fn typing_shows_in_the_status_bar_of_its_conversation_and_ends_by_itself() {
    let mut c = in_bobs_window();
    c.server(signal("bob", "typing=active"));
    assert!(
        status_bar(&c).contains("[bob is typing]"),
        "{}",
        status_bar(&c)
    );
    assert!(c.window_lines("bob").iter().all(|l| !l.contains("typing")));
    // Renewed, it stays; not renewed, it ends.
    c.advance_secs(4);
    c.server(signal("bob", "typing=active"));
    c.advance_secs(4);
    assert!(status_bar(&c).contains("[bob is typing]"));
    c.advance_secs(3);
    assert!(!status_bar(&c).contains("typing"), "{}", status_bar(&c));
}

#[test]
fn a_pause_or_a_message_ends_it_and_other_signals_show_nothing() {
    let mut c = in_bobs_window();
    c.server(signal("bob", "typing=active"));
    c.server(signal("bob", "typing=paused"));
    assert!(!status_bar(&c).contains("typing"));
    c.server(signal("bob", "typing=active"));
    c.server(ServerMsg::Message {
        id: 2,
        sent_at: crate::time::Timestamp(2),
        from: name("bob"),
        text: "done typing".into(),
    });
    assert!(!status_bar(&c).contains("typing"));
    c.clear();
    c.server(signal("bob", "draft/react=👍"));
    assert!(!status_bar(&c).contains("typing"));
    assert!(
        c.window_lines("bob").iter().all(|l| !l.contains("react")),
        "{:?}",
        c.window_lines("bob")
    );
}

#[test]
fn typing_in_another_conversation_is_not_shown_here() {
    let mut c = in_bobs_window();
    c.server(signal("carol", "typing=active"));
    c.server(ServerMsg::GroupSignal {
        id: 3,
        sent_at: crate::time::Timestamp(3),
        group: name("crew"),
        from: name("dave"),
        tags: "typing=active".into(),
    });
    assert!(!status_bar(&c).contains("typing"), "{}", status_bar(&c));
}
