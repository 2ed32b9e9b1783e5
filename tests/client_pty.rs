//! End-to-end: real `natter` clients in pseudo-terminals, driven like a person at a keyboard (the line
//! editor, password entry, colour, history, completion, Ctrl-C and Ctrl-D), against the real server.

mod kit;

use std::path::Path;

use kit::{PATIENCE as WAIT, PEOPLE, Piped, Server, free_port, natter, write_credentials};
use nix::sys::wait::WaitStatus;
use rexpect::session::PtySession;

/// `natter` in a pseudo-terminal. rexpect turns the terminal's echo off before starting the program;
/// `stty echo` turns it back on, as in a real terminal, so a password that was not hidden would show.
fn pty(port: u16, state_dir: &Path, color: bool) -> PtySession {
    let natter_cmd = natter(port, state_dir);
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("stty echo && exec \"$@\"")
        .arg("sh")
        .arg(natter_cmd.get_program())
        .args(natter_cmd.get_args())
        .env("TERM", "xterm")
        .env_remove("RUST_LOG");
    if color {
        cmd.env_remove("NO_COLOR");
    } else {
        cmd.env("NO_COLOR", "1");
    }
    rexpect::session::spawn_command(cmd, Some(WAIT.as_millis() as u64)).expect("spawning natter")
}

/// Logs in at the prompts; returns what the terminal showed from the password prompt to the welcome.
fn login(p: &mut PtySession, user: &str, password: &str) -> String {
    p.exp_string("Username: ").unwrap();
    p.send_line(user).unwrap();
    p.exp_string("Password: ").unwrap();
    p.send_line(password).unwrap();
    let shown = p
        .exp_string(&format!("Welcome to natter, {user}!"))
        .unwrap();
    // Who is online, said unasked at login.
    p.exp_regex(r"(Online now|Nobody else is online)").unwrap();
    // Wait for the command prompt, so the p2p port is registered before anyone asks for a chat.
    p.send_line("whoelse").unwrap();
    p.exp_regex(r"(Online now|Nobody else is online)").unwrap();
    shown
}

fn exit_code(p: &mut PtySession) -> i32 {
    match p.process_mut().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("natter did not exit normally: {other:?}"),
    }
}

#[test]
fn password_is_hidden_and_messages_print_above_the_line_being_typed() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = pty(server.port(), &dir.path().join("a"), false);
    let shown = login(&mut alice, "alice", "wonderland");
    assert!(
        !shown.contains("wonderland"),
        "the password was echoed: {shown:?}"
    );
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    alice.exp_string("* bob logged in").unwrap();

    // alice is half-way through a line when bob's message arrives.
    alice.send("message bob hel").unwrap();
    alice.flush().unwrap();
    // The line editor has drawn it: it is on alice's screen, unfinished.
    alice.exp_string("message bob hel").unwrap();
    bob.send("message alice ping");
    alice.exp_string("[message] bob: ping").unwrap();
    // The half-typed line is intact: finishing it sends exactly what was meant.
    alice.send_line("lo there").unwrap();
    bob.expect("[message] alice: hello there");

    // Ctrl-D logs out cleanly.
    alice.send_control('d').unwrap();
    alice.exp_string("Logged out. Goodbye!").unwrap();
    alice.exp_eof().unwrap();
    assert_eq!(exit_code(&mut alice), 0);
    bob.expect("* alice logged out");
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    for color in [true, false] {
        let mut alice = pty(server.port(), dir.path(), color);
        login(&mut alice, "alice", "wonderland");
        let mut bob = Piped::login("bob", "builder", server.port(), dir.path());
        bob.send("message alice hi");
        if color {
            // The tag and the sender are styled, each reset before the plain text.
            let line = alice.exp_string("\u{1b}[1mbob\u{1b}[0m: hi").unwrap();
            assert!(line.ends_with("[message]\u{1b}[0m "), "{line:?}");
        } else {
            let before = alice.exp_string("[message] bob: hi").unwrap();
            let line = before.rsplit('\n').next().unwrap_or("");
            assert!(
                !line.contains("\u{1b}[0m"),
                "colour with NO_COLOR: {line:?}"
            );
        }
        alice.send_control('c').unwrap();
        alice.exp_string("Press Ctrl-C again").unwrap();
        alice.send_control('c').unwrap();
        alice.exp_string("Logged out. Goodbye!").unwrap();
        alice.exp_eof().unwrap();
        assert_eq!(exit_code(&mut alice), 0, "Ctrl-C twice logs out cleanly");
        bob.send("logout");
        bob.wait();
    }
}

#[test]
fn history_and_tab_completion_of_commands_and_usernames() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = pty(server.port(), &dir.path().join("a"), false);
    login(&mut alice, "alice", "wonderland");
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    alice.exp_string("* bob logged in").unwrap();

    // "messa<Tab>" completes the command, "bo<Tab>" the username alice has seen.
    alice.send("messa\t").unwrap();
    alice.flush().unwrap();
    alice.exp_string("message ").unwrap();
    alice.send("bo\t").unwrap();
    alice.flush().unwrap();
    alice.exp_string("bob ").unwrap();
    alice.send_line("completed").unwrap();
    bob.expect("[message] alice: completed");

    // Up arrow brings the last command back.
    alice.send_line("whoelse").unwrap();
    alice.exp_string("* Online now: bob").unwrap();
    alice.send("\u{1b}[A").unwrap();
    alice.flush().unwrap();
    alice.send_line("").unwrap();
    alice.exp_string("* Online now: bob").unwrap();
}

#[test]
fn group_messages_in_their_own_colour_and_group_names_completed() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = pty(server.port(), &dir.path().join("a"), true);
    login(&mut alice, "alice", "wonderland");
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    bob.send("create group team alice");
    alice.exp_string("bob invites you to group team").unwrap();
    alice.send_line("group join team").unwrap();
    alice.exp_string("[team] alice joined").unwrap();
    bob.send("message group team hi all");
    // The group tag is styled (blue, bold), then the sender, then the plain text.
    let line = alice.exp_string("\u{1b}[1mbob\u{1b}[0m: hi all").unwrap();
    assert!(
        line.ends_with("\u{1b}[1m\u{1b}[34m[team]\u{1b}[0m "),
        "{line:?}"
    );
    // "message group te<Tab>" completes the group alice has seen.
    alice.send("message group te\t").unwrap();
    alice.flush().unwrap();
    alice.exp_string("team ").unwrap();
    alice.send_line("back at you").unwrap();
    bob.expect("[team] alice: back at you");
}

#[test]
fn a_private_chat_between_two_terminals_and_a_server_shutdown() {
    let mut server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = pty(server.port(), &dir.path().join("a"), false);
    login(&mut alice, "alice", "wonderland");
    let mut bob = pty(server.port(), &dir.path().join("b"), false);
    login(&mut bob, "bob", "builder");

    alice.send_line("startprivate bob").unwrap();
    bob.exp_string("? alice asks for a private chat").unwrap();
    bob.send_line("accept alice").unwrap();
    alice.exp_string("* Private chat with bob is open").unwrap();
    bob.exp_string("* Private chat with alice is open").unwrap();
    alice.send_line("private bob just between us").unwrap();
    bob.exp_string("[private] alice: just between us").unwrap();
    bob.send_line("private alice agreed").unwrap();
    alice.exp_string("[private] bob: agreed").unwrap();
    alice.send_line("stopprivate bob").unwrap();
    alice
        .exp_string("* Private chat with bob ended: you stopped it.")
        .unwrap();
    bob.exp_string("* Private chat with alice ended: alice stopped it.")
        .unwrap();

    // The server goes away while both are at their prompts: each says so and tries to get back (a
    // person at a terminal keeps the session); Ctrl-C stops that and quits.
    server.interrupt();
    for p in [&mut alice, &mut bob] {
        p.exp_string("The server is shutting down; disconnected.")
            .unwrap();
        p.exp_string("reconnecting to log in again").unwrap();
        p.send_control('c').unwrap();
        p.exp_string("Not connected; stopped trying and quit.")
            .unwrap();
        p.exp_eof().unwrap();
        assert_eq!(exit_code(p), 1);
    }
}

#[test]
fn live_messages_have_the_time_and_a_bell_and_a_half_typed_line_is_kept_in_the_history() {
    let mut server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("a");
    let mut alice = pty(server.port(), &state, false);
    login(&mut alice, "alice", "wonderland");
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    bob.send("message alice ring ring");
    // HH:MM, then the line, then the terminal bell (a message to alice alone).
    alice
        .exp_regex(r"[0-2][0-9]:[0-5][0-9] \[message\] bob: ring ring\x07")
        .unwrap();
    bob.send("broadcast no bell for this");
    let (before, _) = alice
        .exp_regex(r"\[broadcast\] bob: no bell for this")
        .unwrap();
    assert!(!before.contains('\u{7}'), "{before:?}");

    // Typing, not sent, when the server goes away: the line is kept in the history.
    alice.send("half typed thought").unwrap();
    alice.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    server.interrupt();
    alice.exp_string("The server is shutting down").unwrap();
    alice.exp_string("reconnecting to log in again").unwrap();
    alice.send_control('c').unwrap();
    alice.exp_eof().unwrap();
    let history = std::fs::read_to_string(state.join("history")).unwrap();
    assert!(
        history.lines().any(|l| l == "half typed thought"),
        "{history:?}"
    );
    assert!(history.lines().any(|l| l == "whoelse"), "{history:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(state.join("history"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the history is its owner's alone: {mode:o}"
    );

    // The next run has it: the up arrow brings it back.
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let mut alice = pty(server.port(), &state, false);
    login(&mut alice, "alice", "wonderland");
    alice.send("\u{1b}[A\u{1b}[A").unwrap();
    alice.flush().unwrap();
    alice.exp_string("half typed thought").unwrap();
}

#[test]
fn the_idle_warning_reaches_the_screen_and_a_command_after_the_logout_logs_in_again() {
    let server = Server::cmd()
        .accounts(PEOPLE)
        .args(&["60", "4", "--idle-warning", "2"])
        .start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = pty(server.port(), dir.path(), false);
    login(&mut alice, "alice", "wonderland");
    alice
        .exp_string(
            "warning: You will be logged out in 2 s for inactivity unless you type a command.",
        )
        .unwrap();
    alice
        .exp_string("You were logged out by the server after 4 s without a command.")
        .unwrap();
    // The client stays, says once what to do, and a command typed logs in again, then runs.
    alice
        .exp_string("Press Enter, or type a command, to log in again as alice")
        .unwrap();
    alice.send_line("whoelse").unwrap();
    // Plain text: nothing proves it is the same server, so the password is asked for.
    alice.exp_string("Password: ").unwrap();
    alice.send_line("wonderland").unwrap();
    alice.exp_string("logged in again as alice.").unwrap();
    alice.exp_string("Nobody else is online.").unwrap();
    alice.send_line("logout").unwrap();
    alice.exp_string("Logged out. Goodbye!").unwrap();
    alice.exp_eof().unwrap();
    assert_eq!(exit_code(&mut alice), 0);
}

#[test]
fn a_lost_server_is_reconnected_to_and_a_plain_text_one_gets_the_password_only_from_the_user() {
    let data = tempfile::tempdir().unwrap();
    let credentials = write_credentials(data.path(), PEOPLE);
    let port = free_port();
    let start = || {
        Server::cmd()
            .in_dir(data.path())
            .raw(&[
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--plaintext",
                "--credentials",
                credentials.to_str().unwrap(),
            ])
            .start()
    };
    let server = start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = pty(port, dir.path(), false);
    login(&mut alice, "alice", "wonderland");
    server.kill9();
    alice
        .exp_string(&format!(
            "Lost the connection to 127.0.0.1:{port}; reconnecting to log in again as alice"
        ))
        .unwrap();
    let _server = start();
    // Plain text: nothing proves it is the same server, so the password is asked for, unseen.
    alice
        .exp_string("so your password is not sent to it by itself")
        .unwrap();
    alice.exp_string("Password: ").unwrap();
    alice.send_line("wonderland").unwrap();
    let shown = alice.exp_string("Reconnected to 127.0.0.1:").unwrap();
    assert!(
        !shown.contains("wonderland"),
        "the password was echoed: {shown:?}"
    );
    alice.send_line("whoelse").unwrap();
    alice.exp_string("Nobody else is online.").unwrap();
    // No prompt is drawn between the logout and the goodbye.
    alice.send_line("logout").unwrap();
    let before = alice.exp_string("Logged out. Goodbye!").unwrap();
    let after_logout = before.rsplit("logout").next().unwrap();
    assert!(
        !after_logout.contains("alice> "),
        "a prompt before the goodbye: {before:?}"
    );
    alice.exp_eof().unwrap();
    assert_eq!(exit_code(&mut alice), 0);
    let history = std::fs::read_to_string(dir.path().join("history")).unwrap_or_default();
    assert!(!history.contains("wonderland"), "{history}");
}

#[test]
fn register_asks_for_the_new_password_twice() {
    let server = Server::cmd().accounts(PEOPLE).args(&["--register"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut zed = pty(server.port(), dir.path(), false);
    zed.exp_string("Username: ").unwrap();
    zed.send_line("zed").unwrap();
    zed.exp_string("New password for zed: ").unwrap();
    zed.send_line("first try").unwrap();
    zed.exp_string("New password for zed, again: ").unwrap();
    zed.send_line("first tyr").unwrap();
    zed.exp_string("The passwords differ").unwrap();
    zed.exp_string("New password for zed: ").unwrap();
    zed.send_line("second-try").unwrap();
    zed.exp_string("New password for zed, again: ").unwrap();
    zed.send_line("second-try").unwrap();
    let shown = zed.exp_string("Welcome to natter, zed!").unwrap();
    assert!(!shown.contains("second-try"), "{shown:?}");
    zed.send_control('d').unwrap();
    zed.exp_eof().unwrap();
}

/// `natter` in an 80-column pseudo-terminal, as `pty` starts it.
fn pty_80(port: u16, state_dir: &Path) -> PtySession {
    let natter_cmd = natter(port, state_dir);
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("stty echo cols 80 rows 24 && exec \"$@\"")
        .arg("sh")
        .arg(natter_cmd.get_program())
        .args(natter_cmd.get_args())
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    rexpect::session::spawn_command(cmd, Some(WAIT.as_millis() as u64)).expect("spawning natter")
}

#[test]
fn line_mode_papercuts_online_at_login_delivered_help_at_80_columns_and_ctrl_c_twice() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    let mut alice = pty_80(server.port(), &dir.path().join("a"));
    alice.exp_string("Username: ").unwrap();
    alice.send_line("alice").unwrap();
    alice.exp_string("Password: ").unwrap();
    alice.send_line("wonderland").unwrap();
    alice.exp_string("Welcome to natter, alice!").unwrap();
    // Who is online, unasked.
    alice.exp_string("* Online now: bob").unwrap();

    // A message that reached bob says so.
    alice.send_line("message bob hello").unwrap();
    bob.expect("[message] alice: hello");
    alice.exp_string("- delivered to bob").unwrap();

    // help's rows break between words, under the summary column, within 80 columns.
    alice.send_line("help").unwrap();
    let (_, row) = alice
        .exp_regex(r"  verify <user> \[yes <digits>\|no\][^\n]*\n[^\n]*\n")
        .unwrap();
    let lines: Vec<&str> = row.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert!(lines.iter().all(|l| l.chars().count() <= 80), "{lines:?}");
    assert!(
        lines[1].starts_with("                                   "),
        "{lines:?}"
    );
    let summary = "show the safety number you and <user> compare out of band";
    let joined: String = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
    assert!(joined.contains(summary), "a word cut in two: {lines:?}");

    // Ctrl-C drops the line being typed and asks; a second one logs out.
    alice.send("message bob never sent").unwrap();
    alice.flush().unwrap();
    alice.exp_string("never sent").unwrap();
    alice.send_control('c').unwrap();
    alice
        .exp_string("Press Ctrl-C again (or type /quit) to log out.")
        .unwrap();
    alice.send_control('c').unwrap();
    alice.exp_string("Logged out. Goodbye!").unwrap();
    alice.exp_eof().unwrap();
    assert_eq!(exit_code(&mut alice), 0);
    bob.expect("* alice logged out");
    assert!(!bob.saw("never sent"), "{:?}", bob.seen);
}
