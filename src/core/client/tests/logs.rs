//! The conversation logs: every line said or shown in a conversation, with its conversation and time,
//! handed to the shell to write; nothing when they are off.

use super::*;
use crate::client::chatlog::LogLine;

fn line_mode(logs: bool) -> Client {
    let mut config = Config::new(P2P_PORT);
    config.logs = logs;
    let mut c = Client::with_config(config);
    c.login("alice");
    c.clear();
    c
}

#[test]
fn line_mode_logs_what_it_shows_and_what_the_user_says() {
    let mut c = line_mode(true);
    c.server(ServerMsg::Message {
        id: 1,
        sent_at: c.now,
        from: name("bob"),
        text: "hi alice".into(),
    });
    c.typed("message bob hi bob");
    c.typed("whoelse");
    c.server(ServerMsg::GroupMessage {
        id: 2,
        sent_at: c.now,
        from: name("carol"),
        group: name("crew"),
        text: "standup".into(),
    });
    let bob = Conversation::User(name("bob"));
    assert_eq!(
        c.logged,
        [
            LogLine {
                conversation: bob.clone(),
                at: c.now,
                text: "<bob> hi alice".into()
            },
            LogLine {
                conversation: bob,
                at: c.now,
                text: "<alice> hi bob".into()
            },
            LogLine {
                conversation: Conversation::Group(name("crew")),
                at: c.now,
                text: "<carol> standup".into()
            },
        ]
    );
}

#[test]
fn the_full_screen_client_logs_its_own_lines_once() {
    let mut config = Config::new(P2P_PORT);
    config.full_screen = true;
    config.logs = true;
    let mut c = Client::with_config(config);
    c.login("alice");
    c.logged.clear();
    c.typed("message bob hello");
    let texts: Vec<&str> = c.logged.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["<alice> hello"]);
}

#[test]
fn nothing_is_logged_when_logs_are_off() {
    let mut c = line_mode(false);
    c.server(ServerMsg::Message {
        id: 1,
        sent_at: c.now,
        from: name("bob"),
        text: "hi".into(),
    });
    c.typed("message bob hi");
    assert!(c.logged.is_empty());
}
