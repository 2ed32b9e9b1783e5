//! irssi's words with natter's meaning, typed in the full-screen client and in line mode: what each
//! sends, shows and keeps.

use super::*;
use crate::protocol::ErrorReply;

fn message(id: u64, from: &str, text: &str) -> ServerMsg {
    ServerMsg::Message {
        id,
        sent_at: START,
        from: name(from),
        text: text.into(),
    }
}

fn group_message(id: u64, group: &str, from: &str, text: &str) -> ServerMsg {
    ServerMsg::GroupMessage {
        id,
        sent_at: START,
        group: name(group),
        from: name(from),
        text: text.into(),
    }
}

/// The lines of the window shown.
fn active_lines(c: &Client) -> Vec<String> {
    c.window_lines(&c.active_label())
}

#[test]
fn me_sends_an_action_and_shows_one_both_ways() {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.enter("/query bob");
    c.enter("/me waves");
    assert_eq!(c.take_sent(), ["message bob /me waves"]);
    c.server(message(1, "bob", "/me waves back"));
    let bob = c.screen().active_window().lines.clone();
    assert_eq!(bob[0].text, "* alice waves");
    assert_eq!(bob[1].text, "* bob waves back");
    assert_eq!(bob[1].from, None, "an action has no sender column");
    // In a group's window, and in line mode's rendering.
    c.server(group_message(2, "team", "bob", "/me is here"));
    assert!(
        c.window_lines("#team")
            .contains(&"* bob is here".to_owned())
    );
    assert_eq!(
        display::render(&Item::Server(message(3, "bob", "/me nods")), false),
        "[message] * bob nods"
    );
    // A message merely containing "/me" is not an action.
    c.server(message(4, "bob", "type /me to act"));
    assert_eq!(c.window_lines("bob").last().unwrap(), "type /me to act");
}

#[test]
fn me_in_line_mode_says_where_actions_go() {
    let mut c = Client::online("alice");
    c.typed("/me waves");
    assert!(c.take_sent().is_empty());
    let shown = display::render(&c.take_shown()[0], false);
    assert!(
        shown.contains("/me") && shown.contains("message <user> /me <text>"),
        "{shown}"
    );
    // The way it travels works there too.
    c.typed("message bob /me waves");
    assert_eq!(c.take_sent(), ["message bob /me waves"]);
}

#[test]
fn join_opens_the_group_window_and_creates_a_group_that_does_not_exist() {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.enter("/join #team");
    assert_eq!(c.active_label(), "#team");
    assert_eq!(c.take_sent(), ["group join team"]);
    c.server(ServerMsg::Error(ErrorReply::NoSuchGroup {
        group: "team".into(),
    }));
    assert_eq!(c.take_sent(), ["create group team"]);
    assert!(
        c.window_lines("#team").is_empty(),
        "the no-such-group answer is taken up, not shown: {:?}",
        c.window_lines("#team")
    );
    c.server(ServerMsg::GroupCreated {
        group: name("team"),
        members: vec![name("alice")],
    });
    assert_eq!(c.window_labels(), ["status", "#team"]);
    // Joined now: /join only brings the window up.
    c.enter("/win 1");
    c.enter("/join team");
    assert_eq!(c.active_label(), "#team");
    assert!(c.take_sent().is_empty());
    // A later no-such-group (another command's) is shown as it is.
    c.enter("/names #gone");
    c.server(ServerMsg::Error(ErrorReply::NoSuchGroup {
        group: "gone".into(),
    }));
    assert_eq!(c.take_sent(), ["group members gone"]);
}

#[test]
fn join_of_an_invite_only_group_says_why_in_its_window() {
    let mut c = Client::full_screen("alice", &[]);
    c.enter("/join #club");
    c.take_sent();
    c.server(ServerMsg::Error(ErrorReply::InviteOnly {
        group: name("club"),
    }));
    assert!(c.take_sent().is_empty(), "nothing is created");
    assert!(c.window_lines("#club")[0].contains("invite-only"));
}

#[test]
fn part_names_topic_and_whois() {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.server(ServerMsg::GroupCreated {
        group: name("team"),
        members: vec![name("alice"), name("bob")],
    });
    c.enter("/win 2");
    c.enter("/names");
    c.enter("/topic");
    c.enter("/topic ship it friday");
    c.enter("/whois bob");
    c.enter("/part");
    assert_eq!(
        c.take_sent(),
        [
            "group members team",
            "group topic team",
            "group topic team ship it friday",
            "whois bob",
            "group leave team"
        ]
    );
    c.server(ServerMsg::GroupTopic {
        group: name("team"),
        by: name("alice"),
        topic: "ship it friday".into(),
    });
    assert!(
        c.screen().title().ends_with("#team: ship it friday"),
        "{}",
        c.screen().title()
    );
}

#[test]
fn a_message_to_a_hash_name_goes_to_the_groups_window() {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.server(ServerMsg::GroupCreated {
        group: name("team"),
        members: vec![name("alice"), name("bob")],
    });
    c.enter("/msg #team hi");
    c.enter("/msg group team hello");
    assert_eq!(
        c.take_sent(),
        ["message group team hi", "message group team hello"]
    );
    assert_eq!(c.window_labels(), ["status", "#team"]);
}

#[test]
fn typing_a_message_while_away_marks_you_back() {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.enter("/away lunch");
    assert_eq!(c.take_sent(), ["away lunch"]);
    c.server(ServerMsg::Away {
        reason: "lunch".into(),
    });
    c.enter("/query bob");
    c.enter("back now");
    assert_eq!(c.take_sent(), ["away", "message bob back now"]);
    c.server(ServerMsg::Back);
    c.enter("again");
    assert_eq!(c.take_sent(), ["message bob again"], "only once");
    // Others' away: the nick list knows.
    c.server(ServerMsg::PresenceAway {
        user: name("bob"),
        reason: "gym".into(),
    });
    assert_eq!(c.screen().away("bob"), Some("gym"));
    c.server(ServerMsg::PresenceBack { user: name("bob") });
    assert_eq!(c.screen().away("bob"), None);
}

#[test]
fn ignore_hides_messages_silently_and_is_kept() {
    let mut c = Client::full_screen("alice", &["bob", "carol"]);
    c.enter("/ignore bob");
    assert!(c.take_sent().is_empty(), "the server is not told");
    assert_eq!(
        c.ignored_saved,
        [(name("alice"), vec![name("bob")])],
        "kept by the shell"
    );
    c.server(message(1, "bob", "hello?"));
    c.server(group_message(2, "team", "bob", "hi team"));
    c.server(message(3, "carol", "hi"));
    assert!(!c.window_labels().contains(&"bob".to_owned()));
    assert!(!c.window_labels().contains(&"#team".to_owned()));
    assert_eq!(c.window_lines("carol"), ["hi"]);
    // Still acknowledged: the server does not keep them for later.
    c.advance_secs(5);
    assert!(c.take_sent().iter().any(|l| l == "ack 3"));
    c.enter("/ignore");
    assert!(active_lines(&c).last().unwrap().contains("you ignore: bob"));
    c.enter("/unignore bob");
    assert_eq!(c.ignored_saved.last().unwrap(), &(name("alice"), vec![]));
    c.server(message(4, "bob", "now?"));
    assert_eq!(c.window_lines("bob"), ["now?"]);
    c.enter("/ignore alice");
    assert!(active_lines(&c).last().unwrap().contains("yourself"));
}

#[test]
fn whom_you_ignore_comes_back_at_the_next_start() {
    let mut config = Config::new(P2P_PORT);
    config.ignored = [(name("alice"), [name("bob")].into())].into();
    let mut c = Client::with_config(config);
    c.login("alice");
    c.clear();
    c.server(message(1, "bob", "hello?"));
    c.server(ServerMsg::OfflineMessage {
        id: 2,
        sent_at: START,
        from: name("bob"),
        group: None,
        text: "while you were out".into(),
    });
    c.server(ServerMsg::Broadcast {
        from: name("bob"),
        text: "all".into(),
    });
    assert!(c.take_shown().is_empty());
    // Another account on this machine ignores nobody.
    let mut c = Client::with_config({
        let mut config = Config::new(P2P_PORT);
        config.ignored = [(name("alice"), [name("bob")].into())].into();
        config
    });
    c.login("carol");
    c.clear();
    c.server(message(1, "bob", "hello?"));
    assert_eq!(c.take_shown().len(), 1);
}

#[test]
fn window_list_clear_lastlog_and_the_short_forms() {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.server(message(1, "bob", "the deploy is done"));
    c.server(message(2, "bob", "lunch?"));
    c.enter("/q bob");
    c.enter("/lastlog DEPLOY");
    let lines = active_lines(&c);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("lastlog \"DEPLOY\": 1 line"))
    );
    assert_eq!(
        lines.iter().filter(|l| *l == "the deploy is done").count(),
        2
    );
    c.enter("/clear");
    assert!(active_lines(&c).is_empty());
    c.enter("/window list");
    assert_eq!(active_lines(&c), ["Windows: 1 status, 2 bob"]);
    c.enter("/window 1");
    assert_eq!(c.active_label(), "status");
    c.enter("/window 2");
    c.enter("/wc");
    assert_eq!(c.window_labels(), ["status"]);
    c.enter("/q #team");
    assert_eq!(c.active_label(), "#team");
    c.enter("/window close");
    assert_eq!(c.window_labels(), ["status"]);
}

#[test]
fn help_for_one_command_shows_its_usage() {
    let mut c = Client::online("alice");
    c.typed("/help verify");
    assert_eq!(
        c.take_shown(),
        [Item::Help {
            usage: "verify <user> [yes <digits>|no]",
            summary: input::CLIENT_WORDS
                .iter()
                .find(|w| w.word == "verify")
                .unwrap()
                .summary
        }]
    );
    c.typed("help group topic");
    let shown = c.take_shown();
    assert!(matches!(
        shown[..],
        [Item::Help {
            usage: "group topic <name> [<text>]",
            ..
        }]
    ));
    c.typed("help nick");
    assert!(matches!(&c.take_shown()[..], [Item::Note(n)] if n.starts_with("/nick: ")));
    c.typed("help dance");
    assert_eq!(
        c.take_shown(),
        [client_error(ClientError::UnknownCommand("dance".into()))]
    );
    assert!(c.take_sent().is_empty(), "help is the client's");
}

#[test]
fn every_word_answers_something() {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.server(ServerMsg::GroupCreated {
        group: name("team"),
        members: vec![name("alice"), name("bob")],
    });
    c.enter("/win 2");
    for line in [
        "/me waves",
        "/join #team",
        "/part",
        "/names",
        "/whois bob",
        "/topic",
        "/away",
        "/ignore",
        "/unignore bob",
        "/window list",
        "/clear",
        "/lastlog x",
        "/q bob",
        "/win 2",
        "/wc",
        "/msg #team hi",
        "/nick bob2",
        "/set beep off",
        "/list",
        "/help me",
        "/frob",
        "/say hi",
    ] {
        c.clear();
        let before = c.screen().version();
        c.enter(line);
        let answered = !c.take_sent().is_empty()
            || !c.take_shown().is_empty()
            || c.screen().version() != before + line.chars().count() as u64 + 1;
        assert!(answered, "{line} answered nothing");
    }
    c.enter("/exit");
    assert_eq!(c.take_sent().last().map(String::as_str), Some("logout"));
}

#[test]
fn line_mode_speaks_the_same_words() {
    let mut c = Client::online("alice");
    for (line, sent) in [
        ("/join #team", "group join team"),
        ("/part #team", "group leave team"),
        ("/names #team", "group members team"),
        ("/topic #team lunch", "group topic team lunch"),
        ("/whois bob", "whois bob"),
        ("/away", "away"),
        ("/msg #team hi", "message group team hi"),
        ("/bye", "logout"),
    ] {
        c.typed(line);
        assert_eq!(c.take_sent(), [sent], "{line}");
    }
    let mut c = Client::online("alice");
    c.typed("/window 2");
    assert_eq!(
        c.take_shown(),
        [client_error(ClientError::FullScreenOnly("window"))]
    );
}

#[test]
fn a_line_naming_you_is_a_highlight() {
    let mut c = Client::full_screen("alice", &["bob"]);
    c.server(ServerMsg::GroupCreated {
        group: name("team"),
        members: vec![name("alice"), name("bob")],
    });
    c.enter("/win 1");
    c.server(group_message(1, "team", "bob", "lunch anyone?"));
    let team = |c: &Client| c.screen().windows()[1].activity;
    assert!(!team(&c).for_me, "activity, not addressed");
    c.server(group_message(2, "team", "bob", "Alice: you coming?"));
    assert!(team(&c).for_me, "marked * as a direct message is");
    let shown = c.take_shown();
    let last = shown.last().unwrap();
    assert!(
        matches!(last, Item::Highlight(_)) && last.addressed_to_me(),
        "{last:?}"
    );
    assert_eq!(
        display::render(last, false),
        "[team] bob: Alice: you coming?",
        "shown as the message it wraps"
    );
    // Not inside another word, nor one's own.
    c.server(group_message(3, "team", "bob", "malice"));
    c.server(ServerMsg::Broadcast {
        from: name("bob"),
        text: "alice, the build broke".into(),
    });
    assert!(matches!(
        c.take_shown()[..],
        [Item::Server(_), Item::Highlight(_)]
    ));
    c.enter("/hilights");
    let lines = active_lines(&c);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("- #team bob: Alice: you coming? (")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("- broadcasts bob: alice, the build broke"))
    );
    // Words of one's choosing.
    c.enter("/hilight deploy");
    c.server(group_message(4, "team", "bob", "the deploy is done"));
    assert!(matches!(c.take_shown().last(), Some(Item::Highlight(_))));
    c.enter("/hilight");
    assert!(active_lines(&c).last().unwrap().contains("alice, deploy"));
}

#[test]
fn configured_words_highlight_and_offline_direct_messages_are_addressed() {
    let mut config = Config::new(P2P_PORT);
    config.hilights = vec!["oncall".into()];
    let mut c = Client::with_config(config);
    c.login("alice");
    c.clear();
    c.server(group_message(1, "ops", "bob", "who is ONCALL?"));
    assert!(matches!(c.take_shown()[..], [Item::Highlight(_)]));
    c.server(ServerMsg::OfflineMessage {
        id: 2,
        sent_at: START,
        from: name("bob"),
        group: None,
        text: "while you were out".into(),
    });
    assert!(
        c.take_shown()[0].addressed_to_me(),
        "rings, and marks its window *"
    );
}
