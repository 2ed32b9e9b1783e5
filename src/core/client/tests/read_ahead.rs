//! A script's lines handed over together (piped input read a buffer at a time): taken in one at a
//! time, each where the client would have asked for it, as if read one by one.

use super::*;

fn lines(text: &[&str]) -> Vec<Vec<u8>> {
    text.iter().map(|l| l.as_bytes().to_vec()).collect()
}

#[test]
fn lines_read_ahead_are_taken_in_only_as_the_client_asks_for_them() {
    let mut c = Client::new();
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.reads.clear();
    // The whole script at once: the password waits for its prompt, the commands for the welcome.
    let script = lines(&["alice", "pw", "whoelse", "message bob hi", "logout"]);
    c.event(Event::User(UserEvent::Lines(&script)));
    assert_eq!(
        c.take_sent(),
        vec!["alice"],
        "only the answer to the prompt asked"
    );
    assert!(
        c.reads.is_empty(),
        "nothing more asked of the input: {:?}",
        c.reads
    );
    c.server(ServerMsg::Prompt(Prompt::Password));
    assert_eq!(c.take_sent(), vec!["pw"]);
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    let sent = c.take_sent();
    let commands: Vec<&String> = sent
        .iter()
        .filter(|l| {
            ["whoelse", "message", "logout"]
                .iter()
                .any(|w| l.starts_with(w))
        })
        .collect();
    assert_eq!(
        commands,
        ["whoelse", "message bob hi", "logout"],
        "the rest in order once logged in: {sent:?}"
    );
    assert!(
        c.reads.is_empty(),
        "no prompt after logout, and none was passed on for a line taken from the batch: {:?}",
        c.reads
    );
    c.server(ServerMsg::Bye(crate::protocol::ByeReason::Logout));
    assert_eq!(c.exit, Some(Exit::LoggedOut));
}

#[test]
fn the_input_is_asked_again_only_once_the_lines_read_ahead_are_all_taken() {
    let mut c = Client::online("alice");
    c.reads.clear();
    c.event(Event::User(UserEvent::Lines(&lines(&[
        "whoelse", "whoelse",
    ]))));
    assert_eq!(c.take_sent().iter().filter(|l| *l == "whoelse").count(), 2);
    assert_eq!(
        c.reads,
        [InputMode::Command {
            user: name("alice")
        }],
        "asked once, after the last"
    );
}

#[test]
fn lines_read_ahead_after_the_client_decided_to_end_are_not_taken() {
    let mut c = Client::online("alice");
    c.event(Event::User(UserEvent::Lines(&lines(&[
        "logout", "whoelse",
    ]))));
    c.server(ServerMsg::Bye(crate::protocol::ByeReason::Logout));
    assert_eq!(c.exit, Some(Exit::LoggedOut));
    assert!(
        !c.take_sent().iter().any(|l| l == "whoelse"),
        "nothing after the logout"
    );
}

#[test]
fn a_line_read_ahead_waits_for_the_keys_the_login_opens() {
    let mut config = Config::new(P2P_PORT);
    config.e2e = Some(crate::client::e2e::Setup {
        engine: std::sync::Arc::new(crate::client::e2e::test_engine::TestEngine::named("alice")),
    });
    let mut c = Client::with_config(config);
    c.server(ServerMsg::Prompt(Prompt::Username));
    c.event(Event::User(UserEvent::Lines(&lines(&[
        "alice",
        "pw",
        "message bob hello",
    ]))));
    c.server(ServerMsg::Prompt(Prompt::Password));
    c.server(ServerMsg::Welcome {
        user: name("alice"),
    });
    let said = c
        .shown
        .iter()
        .map(|i| crate::client::display::render(i, false))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        !said.contains("not open"),
        "the message was taken in before the keys were opened: {said}"
    );
}
