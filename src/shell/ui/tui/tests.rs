//! The full-screen client rendered into ratatui's test backend: what the screen shows, window by window.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::protocol::ServerMsg;

const T: Timestamp = Timestamp(1_700_000_000_000);

fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, app, T)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        for x in 0..width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn logged_in() -> App {
    let mut app = App::new("127.0.0.1:4000".into(), vec![]);
    app.show(
        &Item::Server(ServerMsg::Welcome {
            user: "alice".into(),
        }),
        T,
    );
    app.read(InputMode::Command {
        user: "alice".into(),
    });
    app.show(
        &Item::Server(ServerMsg::WhoElse {
            users: vec!["bob".into(), "carol".into()],
        }),
        T,
    );
    app
}

fn msg(from: &str, text: &str) -> Item {
    Item::Server(ServerMsg::Message {
        from: from.into(),
        text: text.into(),
    })
}

#[test]
fn the_screen_has_a_title_conversation_online_list_status_bar_and_input() {
    let mut app = logged_in();
    let s = screen(&mut app, 80, 10);
    let rows: Vec<&str> = s.lines().collect();
    assert!(rows[0].starts_with(" natter — status"), "{s}");
    assert!(s.contains("Online now: bob, carol"), "{s}");
    assert!(rows[1].contains("│bob"), "online list on the right: {s}");
    assert!(rows[2].contains("│carol"), "{s}");
    assert!(
        rows[8].contains("[alice @ 127.0.0.1:4000] [1:status]"),
        "{s}"
    );
    assert!(rows[9].starts_with("> "), "{s}");
}

#[test]
fn unread_markers_tell_messages_to_me_from_other_activity() {
    let mut app = logged_in();
    app.show(&msg("bob", "are you there?"), T);
    app.show(
        &Item::Server(ServerMsg::GroupMessage {
            group: "team".into(),
            from: "carol".into(),
            text: "standup in 5".into(),
        }),
        T,
    );
    let s = screen(&mut app, 80, 10);
    assert!(s.contains("[1:status 2:bob* 3:#team+]"), "{s}");
    // Switching to bob's window shows the message and clears its marker.
    app.key(Key::Alt('2'));
    let s = screen(&mut app, 80, 10);
    assert!(s.contains(" natter — bob"), "{s}");
    assert!(s.contains("bob: are you there?"), "{s}");
    assert!(s.contains("[1:status 2:bob 3:#team+]"), "{s}");
    app.key(Key::Ctrl('n'));
    let s = screen(&mut app, 80, 10);
    assert!(s.contains("carol: standup in 5"), "{s}");
    assert!(s.contains("[1:status 2:bob 3:#team]"), "{s}");
}

#[test]
fn long_lines_wrap_under_their_text_and_a_resize_rewraps() {
    let mut app = logged_in();
    app.show(
        &msg(
            "bob",
            "this is a rather long message that will not fit on one row of a narrow screen",
        ),
        T,
    );
    app.key(Key::Alt('2'));
    let narrow = screen(&mut app, 40, 12);
    let rows: Vec<&str> = narrow
        .lines()
        .filter(|r| r.contains("message") || r.contains("narrow") || r.contains("fit"))
        .collect();
    assert!(rows.len() >= 2, "wrapped: {narrow}");
    // Continuation rows start under the text, after "HH:MM bob: ".
    let indent = "HH:MM bob: ".len();
    for r in &rows[1..] {
        assert!(
            r.starts_with(&" ".repeat(indent)),
            "indented: {r:?}\n{narrow}"
        );
    }
    let wide = screen(&mut app, 120, 12);
    assert!(
        wide.contains(
            "bob: this is a rather long message that will not fit on one row of a narrow screen"
        ),
        "one row when it fits: {wide}"
    );
    assert!(!narrow.contains('│'), "no online list on a narrow screen");
}

#[test]
fn scrollback_with_page_up_and_down() {
    let mut app = logged_in();
    for i in 0..30 {
        app.show(&msg("bob", &format!("line {i}")), T);
    }
    app.key(Key::Alt('2'));
    let s = screen(&mut app, 60, 10);
    assert!(s.contains("line 29") && !s.contains("line 20 "), "{s}");
    app.key(Key::PageUp);
    let s = screen(&mut app, 60, 10);
    assert!(!s.contains("line 29"), "{s}");
    assert!(s.contains("[scrolled"), "{s}");
    app.key(Key::PageDown);
    let s = screen(&mut app, 60, 10);
    assert!(s.contains("line 29"), "{s}");
}

#[test]
fn own_messages_show_in_the_conversation_with_their_outcome() {
    let mut app = logged_in();
    app.show(&msg("bob", "hi"), T);
    app.key(Key::Alt('2'));
    for c in "hello bob".chars() {
        app.key(Key::Char(c));
    }
    assert_eq!(
        app.key(Key::Enter),
        vec![Action::Send("message bob hello bob".into())]
    );
    app.show(
        &Item::Outgoing {
            seq: 1,
            to: crate::client::Conversation::User("bob".into()),
            text: "hello bob".into(),
        },
        T,
    );
    app.show(
        &Item::Outcome {
            seq: 1,
            outcome: crate::client::Outcome::Delivered,
        },
        T,
    );
    let s = screen(&mut app, 80, 10);
    assert!(s.contains("alice: hello bob  (delivered)"), "{s}");
}

#[test]
fn the_idle_countdown_shows_when_the_logout_is_near() {
    let mut app = logged_in();
    app.show(&Item::Server(ServerMsg::IdleWarning { secs_left: 60 }), T);
    let s = screen(&mut app, 100, 8);
    assert!(s.contains("[idle logout in 60 s]"), "{s}");
    assert!(s.contains("You will be logged out in 60 s"), "{s}");
}

#[test]
fn the_password_prompt_shows_nothing_of_what_is_typed() {
    let mut app = App::new("h:1".into(), vec![]);
    app.read(InputMode::Password);
    for c in "hunter2".chars() {
        app.key(Key::Char(c));
    }
    let s = screen(&mut app, 40, 5);
    assert!(s.contains("Password: "), "{s}");
    assert!(!s.contains("hunter2"), "{s}");
}

#[test]
fn any_terminal_size_draws_without_a_panic() {
    let mut app = logged_in();
    app.show(
        &msg("bob", "wide characters 日本語 and emoji 🎉 in a message"),
        T,
    );
    app.key(Key::Alt('2'));
    for c in "half-typed 日本".chars() {
        app.key(Key::Char(c));
    }
    for width in 1..40 {
        for height in 1..8 {
            let _ = screen(&mut app, width, height);
        }
    }
    let s = screen(&mut app, 30, 6);
    assert!(
        s.contains('>'),
        "the input line survives a small screen: {s}"
    );
}
