//! The small faults a person notices in a client left open for days (issue 31's papercuts), each
//! pinned where the core decides it.

use super::*;
use crate::client::display::render;

fn rendered(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| render(i, false)).collect()
}

#[test]
fn a_span_past_any_history_is_said_as_at_any_time_not_as_a_huge_number() {
    let mut c = Client::online("alice");
    c.typed("whoelsesince 99999999999999999999");
    // The number typed is taken as the longest span, as the server takes it.
    assert_eq!(
        c.take_sent(),
        vec![format!("whoelsesince {}", crate::protocol::MAX_SPAN_SECS)]
    );
    for (users, said) in [
        (vec![name("bob")], "* Online at any time: bob"),
        (vec![], "* Nobody else was ever online."),
    ] {
        c.server(ServerMsg::WhoElseSince {
            secs: crate::protocol::MAX_SPAN_SECS,
            users,
        });
        assert_eq!(rendered(&c.take_shown()), vec![said.to_owned()]);
    }
    c.server(ServerMsg::WhoElseSince {
        secs: 60,
        users: vec![name("bob")],
    });
    assert_eq!(
        rendered(&c.take_shown()),
        vec!["* Online in the last 60 s: bob".to_owned()]
    );
}

#[test]
fn an_emoji_with_its_skin_tone_is_typed_erased_and_wrapped_whole() {
    use crate::client::screen::Key;
    use crate::client::wrap::{columns, wrap};
    let thumbs = "👍🏽";
    let family = "👨\u{200d}👩\u{200d}👧";
    let mut c = Client::full_screen("alice", &["bob"]);
    c.keys(&format!("a{thumbs}{family}"));
    // One Backspace erases the family, a Left steps over the hand with its tone.
    c.key(Key::Backspace);
    assert_eq!(c.screen().input_line().1, format!("a{thumbs}"));
    c.key(Key::Left);
    assert_eq!(c.screen().input_line().2, 1);
    c.key(Key::Delete);
    assert_eq!(c.screen().input_line().1, "a");
    // A line of them wraps between clusters, each as wide as ratatui draws it.
    let line = format!("{thumbs}{family}").repeat(10);
    for piece in wrap(&line, 7) {
        assert!(columns(&piece) <= 7, "{piece:?}");
        assert!(
            !piece.starts_with('\u{1f3fd}'),
            "a tone cut from its hand: {piece:?}"
        );
        assert!(
            !piece.starts_with('\u{200d}'),
            "a family cut apart: {piece:?}"
        );
    }
    assert_eq!(wrap(&line, 7).concat(), line);
}

#[test]
fn line_mode_help_breaks_at_words_under_its_summary_column() {
    use crate::client::display::render_for_width;
    use crate::client::wrap::columns;
    let mut c = Client::online("alice");
    c.typed("help");
    let rows = c.take_shown();
    assert!(rows.len() > 20);
    let mut wrapped = 0;
    for item in &rows {
        let whole = render(item, false);
        let fitted = render_for_width(item, false, 80);
        let lines: Vec<&str> = fitted.lines().collect();
        wrapped += usize::from(lines.len() > 1);
        let summary_at = lines[0].find(|ch: char| ch != ' ').unwrap();
        for line in &lines {
            assert!(columns(line) <= 80, "{line:?}");
        }
        for line in &lines[1..] {
            // Carried on under the summary, well right of the command.
            assert!(line.starts_with(&" ".repeat(summary_at + 20)), "{line:?}");
        }
        // Only line breaks were added: the words are whole, in order.
        let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(words(&fitted), words(&whole));
    }
    assert!(wrapped > 5, "some rows are longer than 80 columns");
}

#[test]
fn block_typed_in_the_status_window_answers_there() {
    use crate::client::screen::Key;
    let mut c = Client::full_screen("alice", &["bob", "dave"]);
    c.enter("/query dave");
    assert_eq!(c.active_label(), "dave");
    c.key(Key::Alt('1'));
    assert_eq!(c.active_label(), "status");
    c.enter("block dave");
    assert_eq!(c.take_sent(), ["block dave"]);
    c.server(ServerMsg::Blocked { user: name("dave") });
    c.enter("block dave");
    c.server(ServerMsg::Error(
        crate::protocol::ErrorReply::AlreadyBlocked { user: name("dave") },
    ));
    let status = c.window_lines("status");
    assert!(
        status.iter().any(|l| l.contains("blocked dave")),
        "{status:?}"
    );
    assert!(
        status.iter().any(|l| l.contains("already blocked dave")),
        "{status:?}"
    );
    assert!(
        !c.window_lines("dave").iter().any(|l| l.contains("blocked")),
        "{:?}",
        c.window_lines("dave")
    );
    // Typed in dave's window, it answers there.
    c.key(Key::Alt('2'));
    c.enter("/unblock dave");
    c.server(ServerMsg::Unblocked { user: name("dave") });
    assert!(
        c.window_lines("dave")
            .iter()
            .any(|l| l.contains("unblocked dave"))
    );
}

#[test]
fn an_accepted_invitation_reads_as_joining() {
    // The server names the one who joined as `by` when they joined with `group join`.
    let mut c = Client::online("alice");
    c.server(ServerMsg::GroupJoined {
        group: name("team"),
        user: name("bob"),
        by: name("bob"),
    });
    assert_eq!(rendered(&c.take_shown()), vec!["* [team] bob joined"]);
}

#[test]
fn a_line_client_at_a_terminal_says_who_is_online_at_login_a_script_is_not_told_unasked() {
    for (interactive, asks) in [(true, true), (false, false)] {
        let mut config = Config::new(P2P_PORT);
        config.interactive = interactive;
        let mut c = Client::with_config(config);
        c.login("alice");
        let sent = c.take_sent();
        assert_eq!(
            sent.iter().filter(|l| *l == "whoelse").count(),
            usize::from(asks),
            "interactive {interactive}: {sent:?}"
        );
        if asks {
            c.server(ServerMsg::WhoElse {
                users: vec![name("bob")],
            });
            assert!(rendered(&c.take_shown()).contains(&"* Online now: bob".to_owned()));
        }
    }
}

#[test]
fn ctrl_c_at_a_line_mode_prompt_asks_and_a_second_one_logs_out() {
    let mut config = Config::new(P2P_PORT);
    config.interactive = true;
    let mut c = Client::with_config(config);
    c.login("alice");
    c.clear();
    c.event(Event::User(UserEvent::Interrupt));
    assert!(!c.take_sent().contains(&"logout".to_owned()));
    assert_eq!(
        rendered(&c.take_shown()),
        vec!["- Press Ctrl-C again (or type /quit) to log out.".to_owned()]
    );
    assert!(
        matches!(c.reads.last(), Some(InputMode::Command { .. })),
        "the prompt is back: {:?}",
        c.reads
    );
    // A line typed takes the first Ctrl-C back.
    c.typed("whoelse");
    c.event(Event::User(UserEvent::Interrupt));
    assert_eq!(c.take_sent(), vec!["whoelse"]);
    c.event(Event::User(UserEvent::Interrupt));
    assert_eq!(c.take_sent(), vec!["logout"]);

    // A script's interrupt ends it at once.
    let mut script = Client::online("alice");
    script.event(Event::User(UserEvent::Interrupt));
    assert_eq!(script.take_sent(), vec!["logout"]);
}

#[test]
fn a_scripts_login_as_a_user_online_elsewhere_ends_before_its_password_is_read_as_a_username() {
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("alice");
    c.server(ServerMsg::Error(crate::protocol::ErrorReply::AlreadyOnline));
    assert_eq!(c.exit, Some(Exit::LoginRefused));
    // The server asks again, but the script's password is never sent as a username.
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("wonderland");
    assert_eq!(c.take_sent(), vec!["alice"]);
    assert_eq!(c.reads, vec![InputMode::Username]);
    assert_eq!(
        rendered(&c.take_shown()),
        vec![
            "error: That user is already logged in elsewhere; log out there first, or use another account."
                .to_owned()
        ]
    );
}

#[test]
fn a_scripts_local_answers_wait_for_earlier_answers_but_never_put_a_line_in_a_prompts_place() {
    let mut config = Config::new(P2P_PORT);
    config.script_order = true;
    let mut c = Client::with_config(config);
    c.login("alice");
    c.clear();
    c.typed("whoelse");
    c.typed("dance");
    // The error waits behind the port registered again (an answer never shown), sent after
    // whoelse; the login's own registration is answered first and releases nothing.
    assert_eq!(
        c.take_sent(),
        vec!["whoelse".to_owned(), format!("p2pport {P2P_PORT}")]
    );
    c.server(ServerMsg::P2pPort { port: P2P_PORT });
    assert!(c.take_shown().is_empty());
    c.server(ServerMsg::WhoElse { users: vec![] });
    c.server(ServerMsg::P2pPort { port: P2P_PORT });
    assert_eq!(
        rendered(&c.take_shown()),
        vec![
            "* Nobody else is online.".to_owned(),
            "error: 'dance' is not a command; type /help for the list".to_owned(),
        ]
    );
    // passwd: a mistyped second password is said at once, and nothing but the answers is sent
    // while the server prompts.
    c.typed("passwd");
    c.server(ServerMsg::Prompt(Prompt::CurrentPassword));
    c.typed("pw");
    c.server(ServerMsg::Prompt(Prompt::ChosenPassword));
    c.typed("new one");
    c.typed("new two");
    assert_eq!(c.take_sent(), vec!["passwd", "pw"]);
    assert_eq!(
        c.take_shown(),
        vec![client_error(ClientError::PasswordsDiffer)]
    );
}

#[test]
fn what_a_script_was_told_is_said_when_the_connection_is_lost() {
    let mut config = Config::new(P2P_PORT);
    config.script_order = true;
    let mut c = Client::with_config(config);
    c.login("alice");
    c.clear();
    c.typed("whoelse");
    c.typed("dance");
    assert!(c.take_shown().is_empty());
    c.event(Event::Server(ServerEvent::Closed));
    let shown = rendered(&c.take_shown());
    assert_eq!(
        shown.first().map(String::as_str),
        Some("error: 'dance' is not a command; type /help for the list"),
        "{shown:?}"
    );
}
