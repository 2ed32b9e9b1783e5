//! Logging in: prompts, retries, refusals, and what ends the client before a session starts.

use super::*;
use crate::protocol::{ByeReason, ErrorReply};

#[test]
fn prompts_become_reads_and_answers_go_to_the_server() {
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    assert_eq!(c.reads, vec![InputMode::Username]);
    c.typed("alice");
    assert_eq!(c.take_sent(), vec!["alice"]);
    c.server(ServerMsg::Prompt(Prompt::Password));
    assert!(c.reads[1].is_secret());
    c.typed("wonderland");
    assert_eq!(c.take_sent(), vec!["wonderland"]);
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    assert_eq!(
        c.take_shown(),
        vec![Item::Server(ServerMsg::Welcome {
            user: name("alice")
        })]
    );
    // The private-chat listener is registered right after login; then commands are read.
    assert_eq!(
        c.take_sent(),
        vec!["acks on".to_owned(), format!("p2pport {P2P_PORT}")],
        "it acknowledges what it shows, and says so first"
    );
    assert_eq!(
        c.reads.last(),
        Some(&InputMode::Command {
            user: name("alice")
        })
    );
    assert_eq!(c.state.user(), Some(&name("alice")));
    // The registration's confirmation is bookkeeping, not shown.
    c.server(ServerMsg::P2pPort { port: P2P_PORT });
    assert!(c.take_shown().is_empty());
}

#[test]
fn wrong_password_is_shown_and_asked_again() {
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("alice");
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.typed("nope");
    c.server(ServerMsg::Error(ErrorReply::WrongPassword {
        attempts_left: 2,
    }));
    c.server(ServerMsg::Prompt(Prompt::Password));
    assert_eq!(
        c.take_shown(),
        vec![Item::Server(ServerMsg::Error(ErrorReply::WrongPassword {
            attempts_left: 2
        }))]
    );
    assert_eq!(c.reads.len(), 3);
    assert!(c.reads[2].is_secret());
    assert_eq!(c.exit, None);
}

#[test]
fn new_account_password_is_secret_too() {
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("zed");
    c.server(ServerMsg::Prompt(Prompt::NewPassword { user: name("zed") }));
    let mode = c.reads.last().unwrap().clone();
    assert_eq!(mode, InputMode::NewPassword { user: name("zed") });
    assert!(mode.is_secret());
    c.typed("s3cret");
    c.typed("s3cret");
    c.server(ServerMsg::Registered { user: name("zed") });
    c.server(ServerMsg::Welcome { user: name("zed") });
    assert!(matches!(
        c.shown[..],
        [
            Item::Server(ServerMsg::Registered { .. }),
            Item::Server(ServerMsg::Welcome { .. })
        ]
    ));
}

#[test]
fn a_new_password_is_asked_twice_and_sent_once_they_agree() {
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("zed");
    c.take_sent();
    c.server(ServerMsg::Prompt(Prompt::NewPassword { user: name("zed") }));
    c.typed("s3cret");
    assert!(c.take_sent().is_empty(), "not before it is typed again");
    let again = InputMode::ConfirmPassword { user: name("zed") };
    assert_eq!(c.reads.last(), Some(&again));
    assert!(again.is_secret());
    // A slip: said, and both asked again.
    c.typed("s3cert");
    assert!(c.take_sent().is_empty());
    assert_eq!(c.take_shown(), [client_error(ClientError::PasswordsDiffer)]);
    assert_eq!(
        c.reads.last(),
        Some(&InputMode::NewPassword { user: name("zed") })
    );
    c.typed("better one");
    c.typed("better one");
    assert_eq!(c.take_sent(), ["better one"]);
}

#[test]
fn lockout_prints_the_reason_and_exits_refused() {
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("alice");
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.typed("nope");
    c.server(ServerMsg::Error(ErrorReply::LockedNow { secs: 60 }));
    c.server(ServerMsg::Bye(ByeReason::Locked));
    assert_eq!(
        c.take_shown(),
        vec![
            Item::Server(ServerMsg::Error(ErrorReply::LockedNow { secs: 60 })),
            Item::Server(ServerMsg::Bye(ByeReason::Locked))
        ]
    );
    assert_eq!(c.exit, Some(Exit::LoginRefused));
    assert_ne!(Exit::LoginRefused.code(), 0);
}

#[test]
fn already_online_asks_a_person_for_another_username() {
    let mut config = Config::new(P2P_PORT);
    config.interactive = true;
    let mut c = Client::with_config(config);
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("alice");
    c.server(ServerMsg::Error(ErrorReply::AlreadyOnline));
    c.server(ServerMsg::Prompt(Prompt::Username));
    assert_eq!(
        c.shown,
        vec![Item::Server(ServerMsg::Error(ErrorReply::AlreadyOnline))]
    );
    assert_eq!(c.exit, None, "another username, as the server asks");
    assert_eq!(
        c.reads,
        vec![InputMode::Username, InputMode::Username],
        "the username is asked for again"
    );
}

#[test]
fn server_gone_during_login_is_a_clear_error() {
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.event(Event::Server(ServerEvent::Closed));
    assert_eq!(
        c.shown,
        vec![client_error(ClientError::ServerClosedAtLogin)]
    );
    assert_eq!(c.exit, Some(Exit::ConnectionLost));
}

#[test]
fn login_timeout_by_the_server() {
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.server(ServerMsg::Bye(ByeReason::LoginTimeout { secs: 30 }));
    assert_eq!(c.exit, Some(Exit::EndedByServer));
}

#[test]
fn quitting_before_login_exits_without_sending() {
    for ev in [UserEvent::Eof, UserEvent::Interrupt] {
        let mut c = Client::new();
        c.server(ServerMsg::Prompt(Prompt::Username));
        c.event(Event::User(ev));
        assert!(c.sent.is_empty());
        assert_eq!(c.exit, Some(Exit::NotLoggedIn));
    }
}

#[test]
fn a_typed_control_character_is_refused_and_the_prompt_repeated() {
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("al\u{1b}[2Jice");
    assert!(c.sent.is_empty());
    assert_eq!(c.reads, vec![InputMode::Username, InputMode::Username]);
    assert!(matches!(c.shown[..], [Item::Error(ClientError::Input(_))]));
}

#[test]
fn garbage_from_the_server_is_reported_not_fatal() {
    let mut c = Client::new();
    c.server_raw(b"HELLO THERE");
    c.server_raw(b"MSG bob \x1b[31mred");
    c.server_raw(b"\xff\xfe");
    c.event(Event::Server(ServerEvent::LineTooLong));
    assert_eq!(c.shown.len(), 4);
    assert!(
        c.shown
            .iter()
            .all(|i| matches!(i, Item::Error(ClientError::BadServerLine(_))))
    );
    assert_eq!(c.exit, None);
}

#[test]
fn a_newer_servers_error_is_shown_in_its_own_words_and_the_login_goes_on() {
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.typed("yuki");
    c.server(ServerMsg::Prompt(Prompt::NewPassword {
        user: "yuki".into(),
    }));
    c.shown.clear();
    // A code this natter does not know, and text with a reordering character in it.
    c.server_raw("ERROR brand-new Not now:\u{202e} try again.".as_bytes());
    c.server(ServerMsg::Prompt(Prompt::NewPassword {
        user: "yuki".into(),
    }));
    let [Item::Error(e @ ClientError::NewerError { code, text })] = &c.shown[..] else {
        panic!("{:?}", c.shown);
    };
    assert_eq!(code, "brand-new");
    assert!(
        text.starts_with("Not now:") && !text.contains('\u{202e}'),
        "{text:?}"
    );
    assert!(e.to_string().contains("a newer one may"), "{e}");
    assert!(matches!(
        c.reads.last(),
        Some(InputMode::NewPassword { .. })
    ));
    // A goodbye with a reason it does not know says so too; a known code with bad fields is
    // still a line natter does not understand.
    c.shown.clear();
    c.server_raw(b"ERROR wrong-password lots Wrong.");
    c.server_raw(b"BYE moved Connect to the other server.");
    assert!(matches!(
        &c.shown[..],
        [
            Item::Error(ClientError::BadServerLine(_)),
            Item::Error(ClientError::NewerBye { reason, text })
        ] if reason == "moved" && text == "Connect to the other server."
    ));
}

#[test]
fn a_server_that_never_prompts_is_given_up_on() {
    let mut c = Client::new();
    c.advance_secs(9);
    assert_eq!(c.exit, None);
    c.advance_secs(1);
    assert_eq!(
        c.shown,
        vec![client_error(ClientError::NoGreeting { secs: 10 })]
    );
    assert_eq!(c.exit, Some(Exit::ConnectionLost));

    // One that does prompt is not timed out, however long the user takes to answer.
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.advance_secs(600);
    assert_eq!(c.exit, None);
}

/// `passwd` once logged in: the server's two prompts are answered with secret input, the new password
/// asked twice, and neither is read as a command.
#[test]
fn passwd_asks_for_secrets_and_sends_them_as_typed() {
    let mut c = Client::online("zed");
    c.take_sent();
    let reads = c.reads.len();
    c.typed("passwd");
    assert_eq!(c.take_sent(), ["passwd"]);
    assert_eq!(
        c.reads.len(),
        reads,
        "no line is read (as a command) before the server asks"
    );
    c.server(ServerMsg::Prompt(Prompt::CurrentPassword));
    assert_eq!(c.reads.last(), Some(&InputMode::CurrentPassword));
    assert!(c.reads.last().unwrap().is_secret());
    c.typed("old one");
    assert_eq!(c.take_sent(), ["old one"]);
    let reads = c.reads.len();
    // An answer to an earlier line changes nothing.
    c.server(ServerMsg::Error(ErrorReply::NoSuchUser {
        user: "nobody".into(),
    }));
    assert_eq!(
        c.reads.len(),
        reads,
        "still waiting for the server's prompt"
    );
    c.server(ServerMsg::Prompt(Prompt::ChosenPassword));
    c.typed("new-secret");
    assert!(c.take_sent().is_empty(), "not before it is typed again");
    assert_eq!(
        c.reads.last(),
        Some(&InputMode::ChosenPassword { again: true })
    );
    c.typed("new-secret");
    assert_eq!(c.take_sent(), ["new-secret"]);
    assert_eq!(
        c.reads.last(),
        Some(&InputMode::ChosenPassword { again: true })
    );
    c.server(ServerMsg::PasswordChanged { user: name("zed") });
    // Back to commands.
    assert!(matches!(c.reads.last(), Some(InputMode::Command { .. })));
    c.typed("whoelse");
    assert_eq!(c.take_sent(), ["whoelse"]);
    // A wrong current password ends it too.
    c.typed("passwd");
    c.server(ServerMsg::Prompt(Prompt::CurrentPassword));
    c.typed("not it");
    c.take_sent();
    c.server(ServerMsg::Error(ErrorReply::WrongCurrentPassword));
    assert!(matches!(c.reads.last(), Some(InputMode::Command { .. })));
}

/// With end-to-end keys, a password changed with `passwd` locks them with the new one once the
/// server says it is the account's (the stored keys were locked with the password typed at login).
#[test]
fn passwd_locks_the_end_to_end_keys_with_the_new_password_once_it_is_the_accounts() {
    let mut config = Config::new(P2P_PORT);
    config.e2e = Some(crate::client::e2e::Setup {
        engine: std::sync::Arc::new(crate::client::e2e::test_engine::TestEngine::named("zed")),
    });
    let mut c = Client::with_config(config);
    c.login("zed");
    c.typed("passwd");
    c.server(ServerMsg::Prompt(Prompt::CurrentPassword));
    c.typed("pw");
    c.server(ServerMsg::Prompt(Prompt::ChosenPassword));
    c.typed("a-new-password");
    c.typed("a-new-password");
    assert!(c.rewraps.is_empty(), "not before the server says so");
    c.server(ServerMsg::Error(ErrorReply::WeakPassword { min: 20 }));
    c.server(ServerMsg::Prompt(Prompt::ChosenPassword));
    c.typed("a-longer-new-password");
    c.typed("a-longer-new-password");
    c.server(ServerMsg::PasswordChanged { user: name("zed") });
    assert_eq!(
        c.rewraps,
        vec![("pw".to_owned(), "a-longer-new-password".to_owned())]
    );
    // `e2e-unlock` and the next rewrap start from the new one.
    assert_eq!(c.state.e2e_password(), Some("a-longer-new-password"));
}
