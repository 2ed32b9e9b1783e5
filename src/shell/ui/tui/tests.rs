//! The full-screen client rendered into ratatui's test backend: the core's view model, driven as the
//! terminal drives it, drawn as the terminal would show it, window by window.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use natter_core::client::{ClientState, Config, Event, ServerEvent, UserEvent};
use natter_core::protocol::{Name, Prompt, ServerMsg, render_line};

const T: Timestamp = Timestamp(1_700_000_000_000);

/// A full-screen core, fed as the driver feeds it.
struct Tui {
    core: ClientState,
    sent: Vec<String>,
}

impl Tui {
    fn new(servers: &[&str]) -> Tui {
        let mut config = Config::new(5555);
        config.full_screen = true;
        config.interactive = true;
        config.servers = servers.iter().map(|s| s.to_string()).collect();
        let mut t = Tui {
            core: ClientState::new(config, T),
            sent: Vec::new(),
        };
        t.event(Event::Server(ServerEvent::Connected));
        t
    }

    fn event(&mut self, event: Event<'_>) {
        let mut out = Vec::new();
        self.core.handle(event, T, &mut out);
        for e in out {
            if let natter_core::client::Effect::Send(line) = e {
                self.sent.push(line);
            }
        }
    }

    fn server(&mut self, msg: ServerMsg) {
        let line = render_line(&msg);
        self.event(Event::Server(ServerEvent::Line(&line[..line.len() - 1])));
    }

    fn key(&mut self, key: Key) {
        self.event(Event::User(UserEvent::Key(key)));
    }

    fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.key(Key::Char(c));
        }
    }

    fn enter(&mut self, text: &str) {
        self.typed(text);
        self.key(Key::Enter);
    }

    /// The screen, `width` x `height`, as text.
    fn screen(&mut self, width: u16, height: u16) -> String {
        self.event(Event::User(UserEvent::Resize { rows: height }));
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let screen = self.core.screen().expect("full screen");
        terminal.draw(|f| draw(f, &screen, T)).unwrap();
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
}

fn logged_in() -> Tui {
    let mut t = Tui::new(&["127.0.0.1:4000"]);
    t.server(ServerMsg::Prompt(Prompt::Username));
    t.enter("alice");
    t.server(ServerMsg::Prompt(Prompt::Password));
    t.enter("pw");
    t.server(ServerMsg::Welcome {
        user: "alice".into(),
    });
    t.server(ServerMsg::WhoElse {
        users: vec!["bob".into(), "carol".into()],
    });
    t.server(ServerMsg::GroupList { groups: vec![] });
    t
}

/// A fresh message id (and send time): each message a test makes is a new one, not a redelivery
/// the client would hide.
fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn msg(from: &str, text: &str) -> ServerMsg {
    ServerMsg::Message {
        id: next_id(),
        sent_at: natter_core::time::Timestamp(next_id()),
        from: from.into(),
        text: text.into(),
    }
}

#[test]
fn the_screen_has_a_title_conversation_online_list_status_bar_and_input() {
    let mut t = logged_in();
    let s = t.screen(80, 10);
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
    let mut t = logged_in();
    t.server(msg("bob", "are you there?"));
    t.server(ServerMsg::GroupMessage {
        id: next_id(),
        sent_at: natter_core::time::Timestamp(next_id()),
        group: "team".into(),
        from: "carol".into(),
        text: "standup in 5".into(),
    });
    let s = t.screen(80, 10);
    assert!(s.contains("[1:status 2:bob* 3:#team+]"), "{s}");
    // Switching to bob's window shows the message and clears its marker.
    t.key(Key::Alt('2'));
    let s = t.screen(80, 10);
    assert!(s.contains(" natter — bob"), "{s}");
    assert!(s.contains("bob: are you there?"), "{s}");
    assert!(s.contains("[1:status 2:bob 3:#team+]"), "{s}");
    t.key(Key::Ctrl('n'));
    let s = t.screen(80, 10);
    assert!(s.contains("carol: standup in 5"), "{s}");
    assert!(s.contains("[1:status 2:bob 3:#team]"), "{s}");
}

#[test]
fn a_group_window_lists_its_members_beside_the_conversation() {
    let mut t = logged_in();
    t.server(ServerMsg::GroupCreated {
        group: "crew".into(),
        members: vec!["alice".into(), "dave".into()],
    });
    t.key(Key::Alt('2'));
    let s = t.screen(80, 8);
    let rows: Vec<&str> = s.lines().collect();
    assert!(rows[1].contains("│alice"), "{s}");
    assert!(rows[2].contains("│dave"), "{s}");
    assert!(!s.contains("│bob"), "not everyone online: {s}");
}

#[test]
fn long_lines_wrap_under_their_text_and_a_resize_rewraps() {
    let mut t = logged_in();
    t.server(msg(
        "bob",
        "this is a rather long message that will not fit on one row of a narrow screen",
    ));
    t.key(Key::Alt('2'));
    let narrow = t.screen(40, 12);
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
    let wide = t.screen(120, 12);
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
    let mut t = logged_in();
    for i in 0..30 {
        t.server(msg("bob", &format!("line {i}")));
    }
    t.key(Key::Alt('2'));
    let s = t.screen(60, 10);
    assert!(s.contains("line 29") && !s.contains("line 20 "), "{s}");
    t.key(Key::PageUp);
    let s = t.screen(60, 10);
    assert!(!s.contains("line 29"), "{s}");
    assert!(s.contains("[scrolled"), "{s}");
    t.key(Key::PageDown);
    let s = t.screen(60, 10);
    assert!(s.contains("line 29"), "{s}");
}

#[test]
fn own_messages_show_in_the_conversation_with_their_outcome() {
    let mut t = logged_in();
    t.server(msg("bob", "hi"));
    t.key(Key::Alt('2'));
    t.sent.clear();
    t.enter("hello bob");
    assert_eq!(t.sent, ["message bob hello bob"]);
    // Queued for bob, then his client has it.
    t.server(ServerMsg::Sent {
        id: 7,
        to: "bob".into(),
    });
    let s = t.screen(80, 10);
    assert!(s.contains("alice: hello bob  (sent)"), "{s}");
    t.server(ServerMsg::Delivered {
        id: 7,
        to: "bob".into(),
    });
    let s = t.screen(80, 10);
    assert!(s.contains("alice: hello bob  (delivered)"), "{s}");
}

#[test]
fn offline_messages_are_marked_offline() {
    let mut t = logged_in();
    t.server(ServerMsg::OfflineMessage {
        id: 1,
        sent_at: T.minus_millis(300_000),
        from: "bob".into(),
        group: None,
        text: "left you a note".into(),
    });
    t.key(Key::Alt('2'));
    let s = t.screen(80, 8);
    assert!(s.contains("bob: left you a note  (offline)"), "{s}");
}

#[test]
fn the_idle_countdown_shows_when_the_logout_is_near() {
    let mut t = logged_in();
    t.server(ServerMsg::IdleWarning { secs_left: 60 });
    let s = t.screen(100, 8);
    assert!(s.contains("[idle logout in 60 s]"), "{s}");
    assert!(s.contains("You will be logged out in 60 s"), "{s}");
}

/// Six windows, a message to alice alone in one, news in another, the idle countdown running: at 60
/// columns the names shrink, then collapse to numbers with their markers; the countdown stays.
#[test]
fn the_status_bar_fits_sixty_columns_and_keeps_the_countdown() {
    let mut t = logged_in();
    t.server(ServerMsg::GroupCreated {
        group: "engineering".into(),
        members: vec!["alice".into(), "bob".into()],
    });
    t.server(msg("bob", "hi"));
    t.server(msg("carol", "hey"));
    t.server(ServerMsg::Broadcast {
        from: "dave".into(),
        text: "all hands".into(),
    });
    t.enter("/query christopher");
    t.key(Key::Alt('1'));
    t.server(msg("bob", "you there?"));
    t.server(ServerMsg::IdleWarning { secs_left: 60 });
    let wide = t.screen(140, 8);
    let bar = |s: &str| s.lines().nth_back(1).unwrap().trim_end().to_owned();
    assert_eq!(
        bar(&wide).split_once("] ").unwrap().1,
        "[alice @ 127.0.0.1:4000] [1:status 2:#engineering+ 3:bob* 4:carol* 5:broadcasts+ 6:christopher] [idle logout in 60 s]",
    );
    let narrow = t.screen(60, 8);
    let b = bar(&narrow);
    assert!(b.chars().count() <= 60, "{b:?}");
    assert!(b.contains("[idle logout in 60 s]"), "{b:?}");
    assert!(
        b.contains("2+") && b.contains("3*") && b.contains("4*") && b.contains("5+"),
        "{b:?}"
    );
    assert!(b.contains('6'), "every window: {b:?}");
    let middle = t.screen(90, 8);
    let b = bar(&middle);
    assert!(
        b.chars().count() <= 90 && b.contains("…"),
        "names shortened first: {b:?}"
    );
    assert!(b.contains("[idle logout in 60 s]"), "{b:?}");
}

#[test]
fn the_status_bar_names_only_the_server_in_use() {
    let mut t = Tui::new(&["a.example:4000", "b.example:4000"]);
    t.server(ServerMsg::Prompt(Prompt::Username));
    t.enter("alice");
    t.server(ServerMsg::Prompt(Prompt::Password));
    t.enter("pw");
    t.server(ServerMsg::Welcome {
        user: Name::from("alice"),
    });
    let s = t.screen(100, 6);
    assert!(s.contains("[alice @ a.example:4000]"), "{s}");
    assert!(!s.contains("b.example"), "{s}");
    // The server is lost: the client moves to the other, and the bar says so.
    t.event(Event::Server(ServerEvent::Closed));
    let s = t.screen(100, 6);
    assert!(
        s.contains("@ b.example:4000]") && s.contains("[reconnecting for 0s, trying now]"),
        "{s}"
    );
}

#[test]
fn a_held_paste_asks_on_the_input_line() {
    let mut t = logged_in();
    t.server(msg("bob", "send me the log"));
    t.key(Key::Alt('2'));
    let log: Vec<String> = (0..12).map(|i| format!("log line {i}")).collect();
    t.event(Event::User(UserEvent::Paste(&log.join("\n"))));
    let s = t.screen(80, 8);
    assert!(
        s.lines()
            .last()
            .unwrap()
            .starts_with("Paste 12 lines to bob? Enter sends them, Esc cancels."),
        "{s}"
    );
}

#[test]
fn the_password_prompt_shows_nothing_of_what_is_typed() {
    let mut t = Tui::new(&["h:1"]);
    t.server(ServerMsg::Prompt(Prompt::Username));
    t.enter("alice");
    t.server(ServerMsg::Prompt(Prompt::Password));
    t.typed("hunter2");
    let s = t.screen(40, 5);
    assert!(s.contains("Password: "), "{s}");
    assert!(!s.contains("hunter2"), "{s}");
}

#[test]
fn any_terminal_size_draws_without_a_panic() {
    let mut t = logged_in();
    t.server(msg(
        "bob",
        "wide characters 日本語 and emoji 🎉 in a message",
    ));
    t.key(Key::Alt('2'));
    t.typed("half-typed 日本");
    for width in 1..40 {
        for height in 1..8 {
            let _ = t.screen(width, height);
        }
    }
    let s = t.screen(30, 6);
    assert!(
        s.contains('>'),
        "the input line survives a small screen: {s}"
    );
}

#[test]
fn emoji_with_skin_tones_and_zwj_families_are_whole_cells_and_the_nick_list_stays_aligned() {
    let thumbs = "👍🏽";
    let family = "👨\u{200d}👩\u{200d}👧";
    let mut t = logged_in();
    t.key(Key::Alt('1'));
    let long = format!("{thumbs} ok {family} ").repeat(12);
    t.server(msg("bob", &long));
    t.key(Key::Alt('2'));
    t.event(Event::User(UserEvent::Resize { rows: 12 }));
    let mut terminal = Terminal::new(TestBackend::new(60, 12)).unwrap();
    let screen = t.core.screen().expect("full screen");
    terminal.draw(|f| draw(f, &screen, T)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut borders = Vec::new();
    let mut whole = 0;
    for y in 1..10 {
        let cells: Vec<&str> = (0..60).map(|x| buffer[(x, y)].symbol()).collect();
        whole += cells
            .iter()
            .filter(|c| **c == thumbs || **c == family)
            .count();
        assert!(
            !cells
                .iter()
                .any(|c| *c == "\u{1f3fd}" || c.starts_with('\u{200d}')),
            "a cluster cut apart on row {y}: {cells:?}"
        );
        if let Some(x) = cells.iter().position(|c| *c == "│") {
            borders.push(x);
        }
    }
    assert!(
        whole >= 12,
        "the emoji are drawn whole, each in its cell: {whole}"
    );
    assert!(borders.len() >= 8, "{borders:?}");
    assert!(
        borders.iter().all(|x| *x == borders[0]),
        "the nick list's border moved: {borders:?}"
    );
}
