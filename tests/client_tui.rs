//! End-to-end: the full-screen client (`natter --tui`) in a pseudo-terminal against the real server.
//! What it draws is read back through a terminal emulator (vt100), so the checks are on the screen a
//! person would see, not on the escape sequences that drew it.

mod kit;

use std::num::NonZeroU16;
use std::path::Path;
use std::time::{Duration, Instant};

use kit::{
    PATIENCE as WAIT, PEOPLE, Piped, Server, free_port, natter, natter_tls, write_credentials,
};
use nix::sys::wait::WaitStatus;
use rexpect::session::PtySession;

const ROWS: u16 = 24;
const COLS: u16 = 100;

/// `natter --tui` in a pseudo-terminal of `ROWS` x `COLS`, with its screen as a terminal would keep it.
struct Tui {
    pty: PtySession,
    screen: vt100::Parser,
}

impl Tui {
    fn start(port: u16, state_dir: &Path) -> Tui {
        Tui::start_cmd(natter(port, state_dir))
    }

    /// `natter_cmd --tui` in the pseudo-terminal.
    fn start_cmd(natter_cmd: std::process::Command) -> Tui {
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c")
            .arg(format!("stty rows {ROWS} cols {COLS} && exec \"$@\""))
            .arg("sh")
            .arg(natter_cmd.get_program())
            .args(natter_cmd.get_args())
            .arg("--tui")
            .env("TERM", "xterm-256color")
            .env_remove("RUST_LOG");
        let pty = rexpect::session::spawn_command(cmd, Some(WAIT.as_millis() as u64))
            .expect("spawning natter --tui");
        Tui {
            pty,
            screen: vt100::Parser::new(
                NonZeroU16::new(ROWS).unwrap(),
                NonZeroU16::new(COLS).unwrap(),
                0,
            ),
        }
    }

    /// Feeds whatever the client has written into the emulator.
    fn pump(&mut self) {
        let mut bytes = Vec::new();
        // rexpect hands the output over one byte per `char`.
        while let Some(c) = self.pty.try_read() {
            bytes.push(c as u32 as u8);
        }
        self.screen.process(&bytes);
    }

    fn contents(&mut self) -> String {
        self.pump();
        self.screen.screen().contents()
    }

    /// Waits until the screen shows `needle`; returns the screen.
    fn shows(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.contents();
            if s.contains(needle) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {needle:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_line(&mut self, line: &str) {
        self.pty.send(line).unwrap();
        self.pty.send("\r").unwrap();
        self.pty.flush().unwrap();
    }

    fn key(&mut self, bytes: &str) {
        self.pty.send(bytes).unwrap();
        self.pty.flush().unwrap();
    }

    /// Waits until the screen no longer shows `needle`; returns the screen.
    fn shows_no(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.contents();
            if !s.contains(needle) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "the screen still shows {needle:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn row_with(&mut self, needle: &str) -> String {
        let s = self.shows(needle);
        s.lines().find(|l| l.contains(needle)).unwrap().to_owned()
    }

    fn exit_code(&mut self) -> i32 {
        match self.pty.process_mut().wait().unwrap() {
            WaitStatus::Exited(_, code) => code,
            other => panic!("natter did not exit normally: {other:?}"),
        }
    }
}

#[test]
fn windows_per_conversation_a_status_bar_and_the_terminal_given_back() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Tui::start(server.port(), &dir.path().join("a"));
    alice.shows("Username:");
    alice.type_line("alice");
    alice.shows("Password:");
    alice.key("wond");
    assert!(
        !alice.shows("Password:").contains("wond"),
        "a password being typed is not on the screen"
    );
    alice.type_line("erland");
    let s = alice.shows("Welcome to natter, alice!");
    assert!(!s.contains("wonderland"), "{s}");
    alice.shows("[alice @ 127.0.0.1:");

    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    alice.shows("bob logged in");
    bob.send("message alice are you there?");
    // A message to alice alone opens bob's window, marked in the status bar until she looks at it.
    alice.shows("2:bob*]");
    alice.key("\x1b2");
    let row = alice.row_with("bob: are you there?");
    assert!(row.contains("bob: are you there?"), "{row}");
    alice.shows("2:bob]");

    // Text typed in bob's window goes to bob, and alice's own line says it was delivered.
    alice.type_line("right here");
    bob.expect("[message] alice: right here");
    alice.shows("alice: right here  (delivered)");

    // A group message opens the group's window, marked as activity that is not hers alone.
    bob.send("create group crew");
    bob.expect("created group crew");
    bob.send("group set crew add direct");
    bob.send("group add crew alice");
    bob.expect("bob added alice");
    bob.send("message group crew standup in 5");
    alice.shows("#crew+");
    alice.key("\x0e"); // Ctrl-N: the next window
    alice.shows("bob: standup in 5");
    alice.type_line("/win 1");
    alice.shows("natter — status");

    // Ctrl-C leaves: the terminal comes back as it was, with the last words on it.
    alice.key("\x03");
    let s = alice.shows("Logged out. Goodbye!");
    assert!(
        !s.contains("natter — status"),
        "the full screen is gone: {s}"
    );
    alice.pty.exp_eof().unwrap();
    assert_eq!(alice.exit_code(), 0);
    bob.expect("* alice logged out");

    // Each conversation was logged, in a file of its own for the day, readable by alice alone.
    let logs = dir
        .path()
        .join("a/logs")
        .join(format!("127.0.0.1:{}", server.port()))
        .join("alice");
    let day_file = |conversation: &str| {
        let dir = logs.join(conversation);
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|f| f.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    };
    let bob_log = std::fs::read_to_string(day_file("bob")).unwrap();
    assert!(bob_log.contains("<bob> are you there?"), "{bob_log}");
    assert!(bob_log.contains("<alice> right here"), "{bob_log}");
    let crew_log = std::fs::read_to_string(day_file("#crew")).unwrap();
    assert!(crew_log.contains("<bob> standup in 5"), "{crew_log}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(day_file("bob"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Logs in at the full-screen prompts.
fn log_in(tui: &mut Tui, user: &str, password: &str) {
    tui.shows("Username:");
    tui.type_line(user);
    tui.shows("Password:");
    tui.type_line(password);
    tui.shows(&format!("Welcome to natter, {user}!"));
}

#[test]
fn an_idle_logout_keeps_the_windows_and_typing_logs_in_again() {
    let server = Server::cmd()
        .accounts(PEOPLE)
        .tls()
        .args(&["60", "5", "--idle-warning", "2"])
        .start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Tui::start_cmd(natter_tls(server.port(), &dir.path().join("a")));
    log_in(&mut alice, "alice", "wonderland");
    let mut bob = Piped::spawn_tls("bob", server.port(), &dir.path().join("b"), &[]);
    bob.send("bob");
    bob.send("builder");
    bob.expect("Welcome to natter, bob!");
    bob.send("message alice read this later");
    alice.shows("2:bob*]");
    alice.key("\x1b2");
    alice.shows("bob: read this later");
    alice.shows("[idle logout in ");
    // Logged out by the server: the client stays, with its windows, and says why where she looks.
    let s = alice.shows("You were logged out by the server after 5 s without a command.");
    let s = if s.contains("[logged out: type to log in again]") {
        s
    } else {
        alice.shows("[logged out: type to log in again]")
    };
    assert!(s.contains("bob: read this later"), "scrollback kept: {s}");
    assert!(s.contains("1:status 2:bob]"), "{s}");
    assert!(s.contains("Type anything to log in again as alice"), "{s}");
    alice.key("\x1b1");
    alice.shows("You were logged out by the server after 5 s without a command.");
    alice.key("\x1b2");
    let _ = bob.wait();

    // Typing logs in again by itself (the server's certificate is pinned), then says the line.
    let mut bob = Piped::spawn_tls("bob", server.port(), &dir.path().join("b"), &[]);
    bob.send("bob");
    bob.send("builder");
    bob.expect("Welcome to natter, bob!");
    alice.type_line("back now");
    bob.expect("[message] alice: back now");
    let s = alice.shows("alice: back now  (delivered)");
    assert!(s.contains("bob: read this later"), "{s}");
    assert!(
        !s.contains("Online now"),
        "the list beside is filled quietly: {s}"
    );
    alice.key("\x1b1");
    alice.shows("logged in again as alice.");
    alice.key("\x03");
    alice.shows("Logged out. Goodbye!");
    alice.pty.exp_eof().unwrap();
    assert_eq!(alice.exit_code(), 0);
}

/// Pastes `text` as a terminal does with bracketed paste on.
fn paste(tui: &mut Tui, text: &str) {
    tui.key(&format!("\x1b[200~{text}\x1b[201~"));
}

#[test]
fn a_paste_is_said_line_by_line_never_run_and_a_long_one_asks_first() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Tui::start(server.port(), &dir.path().join("a"));
    log_in(&mut alice, "alice", "wonderland");
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    bob.send("message alice paste me the steps");
    alice.shows("2:bob*]");
    alice.key("\x1b2");
    alice.shows("bob: paste me the steps");

    // Lines that read like commands are said, not run.
    paste(&mut alice, "whoelse\nlogout\n");
    bob.expect("[message] alice: whoelse");
    bob.expect("[message] alice: logout");
    alice.shows("alice: logout  (delivered)");
    assert!(alice.contents().contains("[alice @"), "still logged in");

    // More than five lines: held, and the input line asks.
    let steps: Vec<String> = (1..=7).map(|i| format!("step {i}")).collect();
    paste(&mut alice, &steps.join("\n"));
    alice.shows("Paste 7 lines to bob? Enter sends them, Esc cancels.");
    assert!(
        !bob.saw("[message] alice: step 1"),
        "nothing before the word"
    );
    alice.key("\r");
    bob.expect("[message] alice: step 7");
    // Esc cancels one.
    paste(&mut alice, &steps.join("\n"));
    alice.shows("Paste 7 lines to bob?");
    alice.key("\x1b");
    alice.shows("Paste of 7 lines cancelled.");

    // Ctrl-J ends a line as Enter does.
    alice.key("sent with ctrl-j\n");
    bob.expect("[message] alice: sent with ctrl-j");
    alice.key("\x03");
    alice.pty.exp_eof().unwrap();
}

#[test]
fn a_lost_server_is_reconnected_to_and_the_windows_are_kept() {
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
                "--credentials",
                credentials.to_str().unwrap(),
            ])
            .start()
    };
    let server = start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Tui::start_cmd(natter_tls(port, &dir.path().join("a")));
    alice.shows("First connection to 127.0.0.1:");
    log_in(&mut alice, "alice", "wonderland");
    let mut bob = Piped::spawn_tls("bob", port, &dir.path().join("b"), &[]);
    bob.send("bob");
    bob.send("builder");
    bob.expect("Welcome to natter, bob!");
    bob.send("message alice before the storm");
    alice.shows("2:bob*]");
    alice.key("\x1b2");
    alice.shows("bob: before the storm");

    server.kill9();
    let s = alice.shows("[reconnecting for ");
    assert!(s.contains("bob: before the storm"), "the window stays: {s}");
    alice.key("\x1b1");
    alice.shows("Lost the connection to 127.0.0.1:");
    let _ = bob.wait();

    // The server comes back with the same certificate: alice's client logs in again by itself.
    let _server = start();
    alice.shows("logged in again as alice.");
    let s = alice.shows("1:status 2:bob]");
    assert!(!s.contains("[reconnecting"), "{s}");
    let mut bob = Piped::spawn_tls("bob", port, &dir.path().join("b"), &[]);
    bob.send("bob");
    bob.send("builder");
    bob.expect("Welcome to natter, bob!");
    bob.send("message alice and after it");
    alice.key("\x1b2");
    let s = alice.shows("bob: and after it");
    assert!(s.contains("bob: before the storm"), "scrollback kept: {s}");

    // A line half typed when the user leaves is kept in the history.
    alice.key("half a thou");
    alice.shows("> half a thou");
    alice.key("\x03");
    alice.shows("Logged out. Goodbye!");
    alice.pty.exp_eof().unwrap();
    assert_eq!(alice.exit_code(), 0);
    let history = std::fs::read_to_string(dir.path().join("a").join("history")).unwrap();
    assert!(history.lines().any(|l| l == "half a thou"), "{history}");
}

#[test]
fn irssis_words_join_topic_me_whois_and_ignore() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Tui::start(server.port(), &dir.path().join("a"));
    log_in(&mut alice, "alice", "wonderland");
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    alice.shows("bob logged in");

    // /join of a group nobody made creates it, owned by alice, and brings its window up.
    alice.type_line("/join #team");
    alice.shows("created group team");
    alice.shows("natter — #team");
    // /topic in its window sets the topic, which the title line shows.
    alice.type_line("/topic standup at ten");
    alice.shows("topic (set by alice): standup at ten");
    let deadline = Instant::now() + WAIT;
    loop {
        let title = alice.contents().lines().next().unwrap_or("").to_owned();
        if title.contains("#team") && title.contains(": standup at ten") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the title never showed the topic: {title}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    alice.type_line("/group mode #team open");
    alice.shows("anyone may join");

    // bob joins from line mode, with the same word, and is told the topic.
    bob.send("/join #team");
    bob.expect("standup at ten");
    alice.shows("bob joined");

    // An action, both ways, encrypted end to end.
    alice.type_line("/me waves");
    alice.shows("* alice waves");
    bob.expect("[team] * alice waves");
    bob.send("/msg #team /me waves back");
    alice.shows("* bob waves back");

    // /whois, /names, and words natter does not have.
    // (Its answer goes to bob's window, open since the keys for the group went to him.)
    alice.type_line("/whois bob");
    alice.type_line("/window 3");
    alice.shows("groups you share: team");
    alice.type_line("/names #team");
    alice.shows("2:#team+");
    alice.type_line("/win 2");
    alice.shows("team: alice, bob");
    alice.type_line("/nick al");
    alice.shows("/nick: natter has no nicknames");
    alice.type_line("/frob");
    alice.shows("'frob' is not a command; type /help for the list");
    alice.type_line("/help verify");
    alice.shows("verify <user> [yes <digits>|no]");

    // /ignore is silent: bob's next line does not show, a later one from carol does.
    alice.type_line("/ignore bob");
    alice.shows("ignoring bob");
    bob.send("/msg #team can you hear me");
    let mut carol = Piped::login("carol", "christmas", server.port(), &dir.path().join("c"));
    carol.send("message alice hi from carol");
    alice.shows("4:carol*");
    assert!(
        !alice.contents().contains("can you hear me"),
        "an ignored user's message is hidden"
    );
    alice.type_line("/part");
    bob.expect("alice left");
    alice.type_line("/bye");
    alice.shows("Logged out. Goodbye!");
    alice.pty.exp_eof().unwrap();
    assert_eq!(alice.exit_code(), 0);
}

#[test]
fn a_server_down_past_the_old_two_minute_bound_is_waited_for_and_disconnect_stays_open() {
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
                "--credentials",
                credentials.to_str().unwrap(),
            ])
            .start()
    };
    let server = start();
    let dir = tempfile::tempdir().unwrap();
    // Waits of at most 2 s (the default is a minute), so the return is seen soon after it.
    let mut cmd = natter_tls(port, &dir.path().join("a"));
    cmd.args(["--reconnect-max-wait", "2"]);
    let mut alice = Tui::start_cmd(cmd);
    log_in(&mut alice, "alice", "wonderland");
    let mut bob = Piped::spawn_tls("bob", port, &dir.path().join("b"), &[]);
    bob.send("bob");
    bob.send("builder");
    bob.expect("Welcome to natter, bob!");
    bob.send("message alice before the upgrade");
    alice.shows("2:bob*]");
    alice.key("\x1b2");
    alice.shows("bob: before the upgrade");

    server.kill9();
    let _ = bob.wait();
    alice.shows("[reconnecting for ");
    // Past the two minutes after which the client used to give up.
    std::thread::sleep(Duration::from_secs(125));
    let s = alice.shows("[reconnecting for 2m ");
    assert!(s.contains("next try in") || s.contains("trying now"), "{s}");
    assert!(
        s.contains("bob: before the upgrade"),
        "the window stays: {s}"
    );
    assert!(
        alice
            .pty
            .process_mut()
            .status()
            .is_some_and(|st| matches!(st, WaitStatus::StillAlive))
    );

    // The server is back: the client logs in again by itself within the cap.
    let _server = start();
    alice.key("\x1b1");
    alice.shows("logged in again as alice.");
    let s = alice.shows("1:status 2:bob]");
    assert!(!s.contains("[reconnecting"), "{s}");

    // /disconnect logs out and stays, trying nothing, until /reconnect.
    alice.type_line("/disconnect");
    alice.shows("[disconnected: /reconnect]");
    alice.shows("not trying again until you type /reconnect");
    std::thread::sleep(Duration::from_secs(3));
    assert!(alice.contents().contains("[disconnected: /reconnect]"));
    alice.key("\x1b2");
    alice.type_line("hello?");
    alice.shows("Disconnected: 'hello?' was not sent.");
    alice.type_line("/reconnect");
    let s = alice.shows_no("[disconnected");
    assert!(s.contains(" 2:bob]"), "the windows stay: {s}");
    let s = alice.shows_no("[reconnecting");
    assert!(s.contains("bob: before the upgrade"), "{s}");
    alice.key("\x1b1");
    alice.shows("Logging in again at 127.0.0.1:");
    alice.key("\x03");
    alice.shows("Logged out. Goodbye!");
    alice.pty.exp_eof().unwrap();
    assert_eq!(alice.exit_code(), 0);
}

#[test]
fn windows_their_lines_and_the_window_shown_are_kept_across_a_restart() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("a");
    let mut alice = Tui::start(server.port(), &state);
    log_in(&mut alice, "alice", "wonderland");
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    alice.shows("bob logged in");
    bob.send("message alice are you there?");
    alice.shows("2:bob*]");
    bob.send("create group crew");
    bob.expect("created group crew");
    bob.send("group set crew add direct");
    bob.send("group add crew alice");
    bob.expect("bob added alice");
    bob.send("message group crew standup in 5");
    alice.shows("3:#crew+");
    alice.key("\x1b2");
    alice.shows("bob: are you there?");
    alice.type_line("right here");
    alice.shows("alice: right here  (delivered)");
    alice.key("\x03");
    alice.shows("Logged out. Goodbye!");
    alice.pty.exp_eof().unwrap();
    assert_eq!(alice.exit_code(), 0);

    // Kept for alice at this server, readable by her alone.
    let file = state
        .join("windows")
        .join(format!("127.0.0.1:{}", server.port()))
        .join("alice");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", file.display());

    // Started again: the same windows in the same order, bob's shown, with its lines above the
    // separator; the group's line, never read, still marked.
    let mut alice = Tui::start(server.port(), &state);
    alice.shows("Username:");
    alice.type_line("alice");
    alice.shows("Password:");
    alice.type_line("wonderland");
    let s = alice.shows("— restored from ");
    assert!(s.contains("natter — bob"), "bob's window is shown: {s}");
    assert!(s.contains("[1:status 2:bob 3:#crew+]"), "{s}");
    let rows: Vec<&str> = s.lines().collect();
    let at = |needle: &str| {
        rows.iter()
            .position(|r| r.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{s}"))
    };
    assert!(at("bob: are you there?") < at("alice: right here  (delivered)"));
    assert!(at("alice: right here") < at("— restored from "));
    alice.key("\x1b3");
    alice.shows("bob: standup in 5");
    // What comes now goes below, in the window it belongs to.
    bob.send("message alice welcome back");
    alice.shows("2:bob*");
    alice.key("\x1b2");
    let s = alice.shows("bob: welcome back");
    let rows: Vec<&str> = s.lines().collect();
    let at = |needle: &str| rows.iter().position(|r| r.contains(needle)).unwrap();
    assert!(at("— restored from ") < at("bob: welcome back"), "{s}");
    alice.key("\x03");
    alice.shows("Logged out. Goodbye!");
    alice.pty.exp_eof().unwrap();

    // A damaged file: said, set aside, and a fresh start.
    std::fs::write(&file, b"{\"format\":1,\"wind").unwrap();
    let mut alice = Tui::start(server.port(), &state);
    log_in(&mut alice, "alice", "wonderland");
    let s = alice.shows("could not be restored");
    assert!(s.contains("[1:status]"), "fresh: {s}");
    assert!(file.with_file_name("alice.unreadable").exists());
    alice.key("\x03");
    alice.shows("Logged out. Goodbye!");
    alice.pty.exp_eof().unwrap();
}

#[test]
fn block_typed_in_the_status_window_answers_there() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Tui::start(server.port(), dir.path());
    log_in(&mut alice, "alice", "wonderland");
    alice.type_line("/query dave");
    alice.shows("natter — dave");
    alice.key("\x1b1");
    alice.shows("natter — status");
    alice.type_line("block dave");
    let s = alice.shows("- blocked dave");
    assert!(s.contains("natter — status"), "{s}");
    assert!(s.contains("2:dave]"), "dave's window has no news: {s}");
    alice.key("\x1b2");
    let s = alice.shows("natter — dave");
    assert!(!s.contains("blocked dave"), "{s}");
}
