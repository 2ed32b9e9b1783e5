//! The full-screen client's view model, driven through the core as the terminal drives it: keys and
//! pastes in, the server's lines in, windows and what was sent out.

use super::*;
use crate::client::screen::{Key, LineStyle, PASTE_VERIFY_LINES};
use crate::protocol::{ByeReason, Command, ErrorReply, MAX_LINE};

/// A fresh message id (and send time): each message a test makes is a new one, not a redelivery
/// the client would hide.
fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn from(user: &str, text: &str) -> ServerMsg {
    ServerMsg::Message {
        id: next_id(),
        sent_at: crate::time::Timestamp(next_id()),
        from: name(user),
        text: text.into(),
    }
}

/// alice, logged in full screen with bob and carol online, in bob's window (he wrote first).
fn in_bobs_window() -> Client {
    let mut c = Client::full_screen("alice", &["bob", "carol"]);
    c.server(from("bob", "hi"));
    c.key(Key::Alt('2'));
    c.clear();
    c
}

#[test]
fn the_core_asks_who_is_online_and_the_groups_after_login_and_keeps_the_groups_quiet() {
    let mut config = Config::new(P2P_PORT);
    config.full_screen = true;
    let mut c = Client::with_config(config);
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.enter("alice");
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.enter("pw");
    c.take_sent();
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    let sent = c.take_sent();
    assert!(
        sent.contains(&"whoelse".to_owned()) && sent.contains(&"grouplist".to_owned()),
        "{sent:?}"
    );
    c.server(ServerMsg::WhoElse {
        users: vec![name("bob")],
    });
    c.clear();
    c.server(ServerMsg::GroupList {
        groups: vec![(name("crew"), vec![name("alice"), name("bob")])],
    });
    assert!(
        c.take_shown().is_empty(),
        "the client's own grouplist is not shown"
    );
    let nicks: Vec<String> = c.screen().nicks().iter().map(|n| n.to_string()).collect();
    assert_eq!(nicks, ["bob"], "the status window lists who is online");
    // The user's own grouplist is shown as ever.
    c.enter("grouplist");
    c.server(ServerMsg::GroupList { groups: vec![] });
    assert_eq!(c.take_shown().len(), 1);
}

#[test]
fn a_message_opens_a_window_marked_for_me_and_news_elsewhere_is_marked_apart() {
    let mut c = Client::full_screen("alice", &["bob", "carol"]);
    c.server(from("bob", "are you there?"));
    c.server(ServerMsg::GroupMessage {
        id: next_id(),
        sent_at: crate::time::Timestamp(next_id()),
        group: name("crew"),
        from: name("carol"),
        text: "standup in 5".into(),
    });
    assert_eq!(c.window_labels(), ["status", "bob", "#crew"]);
    let w = &c.screen().windows()[1];
    assert_eq!((w.activity.unread, w.activity.for_me), (1, true));
    let w = &c.screen().windows()[2];
    assert_eq!((w.activity.unread, w.activity.for_me), (1, false));
    c.key(Key::Alt('2'));
    assert_eq!(c.active_label(), "bob");
    assert_eq!(c.screen().windows()[1].activity.unread, 0);
    // Presence goes to the status window; an answer to a command where the user looks.
    c.server(ServerMsg::Presence {
        user: name("dave"),
        online: true,
    });
    assert!(
        c.window_lines("status")
            .last()
            .unwrap()
            .contains("dave logged in")
    );
    c.enter("/whoelse");
    c.server(ServerMsg::WhoElse {
        users: vec![name("bob")],
    });
    assert!(
        c.window_lines("bob")
            .last()
            .unwrap()
            .contains("Online now: bob")
    );
}

#[test]
fn in_a_conversation_only_slash_starts_a_command_and_double_slash_says_one() {
    let mut c = in_bobs_window();
    for text in [
        "ping me when you are back",
        "logout is what I did yesterday",
        "whoelse",
    ] {
        c.enter(text);
        assert_eq!(c.take_sent(), [format!("message bob {text}")], "{text}");
    }
    assert!(c.exit.is_none() && c.state.user().is_some());
    c.enter("//etc/hosts is where it lives");
    assert_eq!(c.take_sent(), ["message bob /etc/hosts is where it lives"]);
    c.enter("/whoelse");
    assert_eq!(c.take_sent(), ["whoelse"]);
    c.enter("/msg carol psst");
    assert_eq!(c.take_sent(), ["message carol psst"]);
    // What was said shows in the window, as sent.
    assert!(
        c.window_lines("bob")
            .contains(&"ping me when you are back".to_owned())
    );
}

#[test]
fn the_status_window_keeps_bare_commands() {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.enter("whoelse");
    assert_eq!(c.take_sent(), ["whoelse"]);
    c.enter("hello there");
    assert!(c.take_sent().is_empty());
    assert!(
        c.window_lines("status")
            .last()
            .unwrap()
            .contains("'hello' is not a command"),
        "{:?}",
        c.window_lines("status")
    );
}

#[test]
fn window_commands_open_switch_and_close() {
    let mut c = in_bobs_window();
    c.enter("/query carol");
    assert_eq!(c.active_label(), "carol");
    c.enter("hi carol");
    assert_eq!(c.take_sent(), ["message carol hi carol"]);
    c.key(Key::Ctrl('n'));
    assert_eq!(c.active_label(), "status");
    c.key(Key::Ctrl('p'));
    assert_eq!(c.active_label(), "carol");
    c.enter("/win 2");
    assert_eq!(c.active_label(), "bob");
    c.enter("/close");
    assert_eq!(c.window_labels(), ["status", "carol"]);
    assert_eq!(c.active_label(), "status");
    c.enter("/close");
    assert_eq!(
        c.window_labels(),
        ["status", "carol"],
        "the status window stays"
    );
    c.enter("/win 9");
    assert!(
        c.window_lines("status")
            .last()
            .unwrap()
            .contains("no window")
    );
    // Starting a private chat brings its window up (where, this client having no end-to-end keys to
    // prove who it is, it is refused).
    c.enter("startprivate bob");
    assert_eq!(c.active_label(), "~bob");
    assert!(c.take_sent().is_empty());
    assert!(
        c.window_lines("~bob")
            .iter()
            .any(|l| l.contains("needs your end-to-end keys")),
        "{:?}",
        c.window_lines("~bob")
    );
}

#[test]
fn talking_to_oneself_is_refused_without_opening_a_window() {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.enter("message alice note to self");
    c.enter("/query alice");
    assert!(c.take_sent().is_empty(), "nothing goes to the server");
    assert_eq!(c.window_labels(), ["status"], "no window with oneself");
    let status = c.window_lines("status");
    let refusals = status.iter().filter(|l| l.contains("yourself")).count();
    assert_eq!(refusals, 2, "{status:?}");
    // Someone else is fine.
    c.enter("message bob hi");
    assert_eq!(c.take_sent(), ["message bob hi"]);
}

#[test]
fn a_control_character_typed_is_refused_and_nothing_is_sent() {
    let mut c = in_bobs_window();
    c.enter("hi\u{7}");
    assert!(c.take_sent().is_empty());
    assert!(
        matches!(c.take_shown()[..], [Item::Error(ClientError::Input(_))]),
        "said, not sent"
    );
    c.enter("hi");
    assert_eq!(c.take_sent(), ["message bob hi"]);
}

#[test]
fn ctrl_j_and_ctrl_m_end_a_line_like_enter() {
    let mut c = in_bobs_window();
    c.keys("one");
    c.key(Key::Ctrl('j'));
    c.keys("two");
    c.key(Key::Ctrl('m'));
    assert_eq!(c.take_sent(), ["message bob one", "message bob two"]);
}

#[test]
fn a_short_paste_is_said_line_by_line_and_never_run() {
    let mut c = in_bobs_window();
    c.paste("whoelse\n/logout\nlast line\n");
    assert_eq!(
        c.take_sent(),
        [
            "message bob whoelse",
            "message bob /logout",
            "message bob last line"
        ]
    );
    assert!(c.state.user().is_some(), "nothing was run");
    // One line without a line break goes into the input line, to be edited.
    c.paste("half a thought");
    assert!(c.take_sent().is_empty());
    assert_eq!(c.screen().input_line().1, "half a thought");
    c.keys(" more");
    c.key(Key::Enter);
    assert_eq!(c.take_sent(), ["message bob half a thought more"]);
}

#[test]
fn a_long_paste_waits_for_the_word_and_goes_out_paced() {
    let mut c = in_bobs_window();
    let lines: Vec<String> = (1..=PASTE_VERIFY_LINES + 15)
        .map(|i| format!("line {i}"))
        .collect();
    c.paste(&lines.join("\n"));
    assert!(c.take_sent().is_empty(), "held until confirmed");
    let (prompt, ..) = c.screen().input_line();
    assert!(prompt.contains("Paste 20 lines to bob?"), "{prompt}");
    // Other keys do nothing meanwhile; Enter sends.
    c.keys("x");
    c.key(Key::Enter);
    // (What the client sends of its own accord, acknowledging bob's message, is not the paste.)
    let pasted = |sent: Vec<String>| -> Vec<String> {
        sent.into_iter()
            .filter(|l| !l.starts_with("ack "))
            .collect()
    };
    let first = pasted(c.take_sent());
    assert_eq!(first.len(), 5, "a few at once: {first:?}");
    assert_eq!(first[0], "message bob line 1");
    c.advance_secs(1);
    let more = pasted(c.take_sent());
    assert!(
        (9..=11).contains(&more.len()),
        "ten a second: {}",
        more.len()
    );
    c.advance_secs(5);
    let rest = pasted(c.take_sent());
    assert_eq!(first.len() + more.len() + rest.len(), 20);
    assert_eq!(rest.last().unwrap(), "message bob line 20");

    // Esc cancels one, and says so.
    c.paste(&lines.join("\n"));
    c.key(Key::Esc);
    c.advance_secs(5);
    assert!(c.take_sent().is_empty());
    assert!(c.window_lines("bob").last().unwrap().contains("cancelled"));
}

#[test]
fn a_paste_in_the_status_window_is_refused_not_run() {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.paste("whoelse\nlogout\n");
    assert!(c.take_sent().is_empty());
    assert!(c.state.user().is_some());
    assert!(
        c.window_lines("status")
            .last()
            .unwrap()
            .contains("never run as one")
    );
}

#[test]
fn completion_of_query_commands_and_a_nick_at_the_start_of_a_line() {
    let mut c = in_bobs_window();
    c.keys("/que");
    c.key(Key::Tab);
    assert_eq!(c.screen().input_line().1, "/query ");
    c.keys("ca");
    c.key(Key::Tab);
    assert_eq!(c.screen().input_line().1, "/query carol ");
    c.key(Key::Ctrl('u'));
    c.keys("ca");
    c.key(Key::Tab);
    assert_eq!(
        c.screen().input_line().1,
        "carol: ",
        "irssi's nick completion"
    );
    c.keys("look");
    c.key(Key::Enter);
    assert_eq!(c.take_sent(), ["message bob carol: look"]);
}

#[test]
fn a_group_window_lists_the_groups_members() {
    let mut c = Client::full_screen("alice", &["bob", "carol", "dave"]);
    c.server(ServerMsg::GroupCreated {
        group: name("crew"),
        members: vec![name("alice"), name("bob")],
    });
    c.key(Key::Alt('2'));
    assert_eq!(c.active_label(), "#crew");
    let nicks =
        |c: &Client| -> Vec<String> { c.screen().nicks().iter().map(|n| n.to_string()).collect() };
    assert_eq!(nicks(&c), ["alice", "bob"]);
    c.server(ServerMsg::GroupJoined {
        group: name("crew"),
        user: name("carol"),
        by: name("bob"),
    });
    assert_eq!(nicks(&c), ["alice", "bob", "carol"]);
    c.server(ServerMsg::GroupLeft {
        group: name("crew"),
        user: name("bob"),
        reason: String::new(),
    });
    assert_eq!(nicks(&c), ["alice", "carol"]);
    // Elsewhere the list is who is online.
    c.key(Key::Alt('1'));
    assert_eq!(nicks(&c), ["bob", "carol", "dave"]);

    // Added to a group, the client asks who is in it (quietly) to fill its list.
    c.clear();
    c.server(ServerMsg::GroupJoined {
        group: name("ops"),
        user: name("alice"),
        by: name("dave"),
    });
    assert_eq!(c.take_sent(), ["group members ops"]);
    c.server(ServerMsg::GroupMembers {
        group: name("ops"),
        members: vec![name("alice"), name("dave"), name("erin")],
    });
    assert_eq!(
        c.take_shown().len(),
        1,
        "the reply is not shown, the join is"
    );
    c.key(Key::Alt('3'));
    assert_eq!(c.active_label(), "#ops");
    assert_eq!(nicks(&c), ["alice", "dave", "erin"]);
}

#[test]
fn offline_messages_are_marked_with_their_original_time() {
    let mut c = Client::full_screen("alice", &[]);
    c.now = START.plus_secs(3 * 86_400);
    c.server(ServerMsg::OfflineMessage {
        id: 1,
        sent_at: START,
        from: name("bob"),
        group: None,
        text: "while you were out".into(),
    });
    c.server(ServerMsg::OfflineMessage {
        id: 2,
        sent_at: c.now.minus_millis(60_000),
        from: name("bob"),
        group: None,
        text: "just now".into(),
    });
    let w = &c.screen().windows()[1];
    let old = &w.lines[0];
    assert_eq!(old.at, START, "when it was sent");
    assert_eq!(old.style, LineStyle::Offline);
    assert_eq!(old.outcome.as_deref(), Some("offline, sent 3 days ago"));
    assert_eq!(w.lines[1].outcome.as_deref(), Some("offline"));
}

#[test]
fn a_message_too_long_for_one_line_is_split_into_several() {
    let mut c = in_bobs_window();
    let text = "x".repeat(9_000);
    c.paste(&text);
    c.key(Key::Enter);
    let sent = c.take_sent();
    let room = MAX_LINE - "message bob ".len();
    assert_eq!(
        sent,
        [
            format!("message bob {}", "x".repeat(room)),
            format!("message bob {}", "x".repeat(9_000 - room)),
        ]
    );
    assert!(
        !c.take_shown().iter().any(|i| matches!(i, Item::Error(_))),
        "nothing refused"
    );
    // Exactly at the limit it goes as one.
    let fits = "y".repeat(room);
    c.paste(&fits);
    c.key(Key::Enter);
    assert_eq!(c.take_sent().len(), 1);
    // A server with a smaller limit says so once; the client keeps to it.
    c.server(ServerMsg::Error(ErrorReply::LineTooLong { max: 100 }));
    c.paste(&"z ".repeat(60));
    c.key(Key::Enter);
    let sent = c.take_sent();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|l| l.len() <= 100), "{sent:?}");
}

#[test]
fn the_history_keeps_commands_not_private_text_nor_passwords() {
    let mut config = Config::new(P2P_PORT);
    config.full_screen = true;
    let mut c = Client::with_config(config);
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.enter("alice");
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.enter("hunter2");
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    c.enter("/whoelse");
    c.enter("private bob the door code is 4711");
    c.event(Event::User(UserEvent::Input(input::Input::Command(
        Command::StartPrivate { user: "bob" },
    ))));
    c.key(Key::Alt('2'));
    assert_eq!(c.active_label(), "~bob");
    c.enter("also secret");
    let history = c.screen().history().to_vec();
    assert_eq!(history, ["/whoelse", "private bob "], "{history:?}");
}

#[test]
fn reconnecting_keeps_the_windows_and_says_so_in_the_status_window() {
    let mut c = in_bobs_window();
    c.enter("before");
    c.take_sent();
    c.event(Event::Server(ServerEvent::Closed));
    assert_eq!(c.exit, None, "a person at a terminal keeps the session");
    assert_eq!(c.server_conns, [Some(0)], "the same server, at once");
    assert!(
        c.window_lines("status")
            .last()
            .unwrap()
            .contains("Lost the connection to 127.0.0.1:4000; reconnecting")
    );
    assert_eq!(
        c.screen().link(),
        crate::client::screen::Link::Reconnecting {
            since: c.now,
            next_try: None
        }
    );
    assert!(
        c.screen().nicks().is_empty(),
        "nobody is known to be online"
    );
    // What is typed meanwhile is not sent, and the user is told.
    c.enter("during");
    assert!(c.take_sent().is_empty());
    // Back: the password goes by itself only to a verified server.
    c.event(Event::Server(ServerEvent::ConnectedVerified));
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    let sent = c.take_sent();
    assert_eq!(&sent[..2], ["alice", "pw"]);
    assert!(sent.contains(&"whoelse".to_owned()));
    assert_eq!(c.window_labels(), ["status", "bob"]);
    assert!(
        c.window_lines("bob").contains(&"before".to_owned()),
        "scrollback kept"
    );
    assert!(
        c.window_lines("status")
            .last()
            .unwrap()
            .contains("Reconnected to 127.0.0.1:4000; logged in again as alice.")
    );
    assert_eq!(c.screen().link(), crate::client::screen::Link::Up);
    c.enter("after");
    assert_eq!(c.take_sent(), ["message bob after"]);
}

#[test]
fn the_idle_countdown_starts_at_the_warning_and_ends_with_a_command() {
    let mut c = in_bobs_window();
    c.server(ServerMsg::IdleWarning { secs_left: 60 });
    assert_eq!(c.screen().idle_left(c.now.plus_secs(30)), Some(30));
    c.enter("still here");
    assert_eq!(c.screen().idle_left(c.now), None);
    c.server(ServerMsg::IdleWarning { secs_left: 60 });
    c.server(ServerMsg::Bye(ByeReason::Timeout { secs: 300 }));
    assert_eq!(c.exit, None, "the client stays open (see tests/staying.rs)");
    assert_eq!(c.screen().idle_left(c.now), None, "nothing more to count");
}

#[test]
fn what_the_session_learns_unshown_is_drawn_at_once() {
    // The nick lists are the session's facts, drawn beside the screen: a reply the screen is never
    // shown (the members of a group the user was just added to, asked for quietly) still redraws.
    let mut c = in_bobs_window();
    c.server(ServerMsg::GroupJoined {
        group: name("crew"),
        user: name("alice"),
        by: name("bob"),
    });
    assert!(c.take_sent().contains(&"group members crew".to_owned()));
    c.clear();
    let before = c.screen().version();
    c.server(ServerMsg::GroupMembers {
        group: name("crew"),
        members: vec![name("alice"), name("bob"), name("carol")],
    });
    assert!(c.take_shown().is_empty(), "asked quietly, not shown");
    assert_ne!(c.screen().version(), before, "but drawn");
    c.server(ServerMsg::GroupMessage {
        id: next_id(),
        sent_at: crate::time::Timestamp(next_id()),
        group: name("crew"),
        from: name("bob"),
        text: "welcome".into(),
    });
    assert_eq!(c.window_labels(), ["status", "bob", "#crew"]);
    c.key(Key::Alt('3'));
    let nicks: Vec<String> = c.screen().nicks().iter().map(|n| n.to_string()).collect();
    assert_eq!(nicks, ["alice", "bob", "carol"]);
}

#[test]
fn own_messages_show_as_sent_then_settle() {
    let mut c = in_bobs_window();
    c.enter("ping");
    c.server(ServerMsg::Stored {
        id: 4,
        to: name("bob"),
    });
    let line = c.screen().windows()[1].lines.last().unwrap().clone();
    assert_eq!(line.style, LineStyle::Own);
    assert_eq!(line.from.as_deref(), Some("alice"));
    assert_eq!(line.outcome.as_deref(), Some("stored: offline"));
    // A group's counts fold into the mark, with no line of their own.
    c.server(ServerMsg::GroupCreated {
        group: name("crew"),
        members: vec![name("alice"), name("bob")],
    });
    c.key(Key::Alt('3'));
    let before = c.screen().windows()[2].lines.len();
    c.enter("standup");
    c.server(ServerMsg::GroupSent {
        group: name("crew"),
        delivered: 1,
        stored: 0,
        skipped: true,
    });
    let w = &c.screen().windows()[2];
    assert_eq!(w.lines.len(), before + 1);
    assert_eq!(
        w.lines.last().unwrap().outcome.as_deref(),
        Some("sent: 1 now, 0 later, not to all")
    );
}
