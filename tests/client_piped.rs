//! End-to-end: the real `natter-server` and real `natter` clients in piped mode (stdin and stdout are
//! pipes, as when scripted). Each test checks what a user reads.

mod kit;

use kit::{PEOPLE, Piped, Relay, Server, free_port, natter};

#[test]
fn login_messages_presence_block_and_offline_delivery() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let port = server.port();
    let mut alice = Piped::login("alice", "wonderland", port, &dir.path().join("a"));
    let mut bob = Piped::login("bob", "builder", port, &dir.path().join("b"));

    // Presence, and a message each way.
    alice.expect("* bob logged in");
    alice.send("message bob hello  bob");
    bob.expect("[message] alice: hello  bob");
    bob.send("message alice hi alice");
    alice.expect("[message] bob: hi alice");
    bob.send("broadcast anyone there?");
    alice.expect("[broadcast] bob: anyone there?");
    bob.expect("- broadcast sent to 1 user");
    bob.send("whoelse");
    bob.expect("* Online now: alice");

    // A message for carol, who is offline and never logged in (so has no encryption keys), waits in
    // alice's client until she says it may go unencrypted; then it waits for carol at the server.
    alice.send("message carol see you later");
    alice.expect("The server says carol has never published encryption keys");
    alice.send("sendclear carol");
    alice.expect("1 message to carol went NOT ENCRYPTED, as you asked");
    alice.expect("- carol is offline; they will get it when they log in");

    // A block: bob's messages no longer reach alice, and bob is told.
    alice.send("block bob");
    alice.expect(
        "- blocked bob (they are told so if they message you; /ignore bob hides them silently instead)",
    );
    bob.send("message alice are you there?");
    bob.expect("error: alice has blocked you; nothing was delivered or stored.");

    // Usage errors read like the server's, and are local.
    bob.send("message alice");
    bob.expect("error: Usage: message <user> <text>");
    bob.send("dance");
    bob.expect("error: 'dance' is not a command; type /help for the list");

    // carol logs in: the stored message is delivered, marked as such.
    let carol_dir = dir.path().join("c");
    let mut carol = Piped::login("carol", "christmas", port, &carol_dir);
    // Delivered right after the welcome (so before the reply the login helper waits for).
    assert!(
        carol
            .seen
            .iter()
            // carol had never logged in, so had no keys: it went unencrypted (as alice said), and
            // says so.
            .any(|l| l.starts_with("[offline, ")
                && l.ends_with(" ago] alice: (not encrypted) see you later")),
        "{:?}",
        carol.seen
    );
    alice.expect("* carol logged in");
    carol.send("logout");
    carol.expect("* Logged out. Goodbye!");
    assert_eq!(carol.wait().code(), Some(0));
    // It was acknowledged: not delivered again at the next login.
    let mut carol = Piped::login("carol", "christmas", port, &carol_dir);
    carol.send("whoelse");
    carol.expect("* Online now:");
    assert!(!carol.saw("see you later"), "{:?}", carol.seen);

    // The end of the script logs out cleanly.
    bob.close_stdin();
    bob.expect("* Logged out. Goodbye!");
    assert_eq!(bob.wait().code(), Some(0));
    carol.expect("* bob logged out");
    // Piped output is plain: no colour codes anywhere.
    for c in [&alice, &bob, &carol] {
        assert!(!c.seen.iter().any(|l| l.contains('\u{1b}')), "{:?}", c.seen);
    }
}

/// A port free now (for a client's private-chat listener whose number the test must know).
#[test]
fn a_private_chat_never_crosses_the_server_and_a_relay_on_its_path_reads_nothing() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    // bob's private-chat listener is behind a second recording relay: bob's registration of his
    // listener is rewritten on its way to the server (as an attacker on the path could), so alice's
    // direct connection goes through that relay.
    let bob_p2p = free_port();
    let p2p_relay = Relay::start(bob_p2p);
    let rewrite = std::sync::Arc::new(std::sync::Mutex::new(vec![(
        format!("p2pport {bob_p2p}\n").into_bytes(),
        format!("p2pport {}\n", p2p_relay.port).into_bytes(),
    )]));
    // Every byte between the clients and the server goes through this recording relay.
    let relay = Relay::start_rewriting(server.port(), rewrite);
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::login("alice", "wonderland", relay.port, &dir.path().join("a"));
    let mut bob = Piped::spawn_with(
        "bob",
        relay.port,
        &dir.path().join("b"),
        &["--p2p-port", &bob_p2p.to_string()],
    );
    bob.send("bob");
    bob.send("builder");
    bob.expect("Welcome to natter, bob!");
    bob.send("whoelse");
    bob.expect("* Online now:");

    alice.send("private bob too soon");
    alice.expect("error: You have no private chat with bob.");

    alice.send("startprivate bob");
    alice.expect("- asked bob for a private chat");
    bob.expect("? alice asks for a private chat: type 'accept alice' or 'decline alice'");
    bob.send("accept alice");
    bob.expect("* Private chat with alice is open");
    alice.expect("* Private chat with bob is open");

    alice.send("private bob the eagle lands at midnight");
    bob.expect("[private] alice: the eagle lands at midnight");
    bob.send("private alice bring the red umbrella");
    alice.expect("[private] bob: bring the red umbrella");
    // A message goes through the server, encrypted end to end: the relay cannot read it either.
    alice.send("message bob sealed words");
    bob.expect("[message] alice: sealed words");
    // A broadcast, for contrast, is public by nature: the relay must see this one.
    alice.send("broadcast public words");
    bob.expect("[broadcast] alice: public words");

    bob.send("stopprivate alice");
    bob.expect("* Private chat with alice ended: you stopped it.");
    alice.expect("* Private chat with bob ended: bob stopped it.");
    alice.send("private bob one more");
    alice.expect("error: You have no private chat with bob.");
    // The server's record of the session was ended too: a new one can start.
    alice.send("startprivate bob");
    bob.expect("? alice asks for a private chat");
    bob.send("decline alice");
    alice.expect("* bob declined your private-chat request.");

    let wire = relay.recorded();
    assert!(
        wire.contains("broadcast public words"),
        "the relay records traffic"
    );
    assert!(
        wire.contains("message bob e2e1:") && !wire.contains("sealed words"),
        "a message's text is encrypted end to end"
    );
    assert!(wire.contains("startprivate bob") && wire.contains("accept alice"));
    assert!(
        wire.contains("\nactive\n"),
        "private use is reported as activity"
    );
    for secret in ["eagle lands", "red umbrella", "one more", "too soon"] {
        assert!(
            !wire.contains(secret),
            "{secret:?} crossed the server:\n{wire}"
        );
    }
    // The private chat did go through the second relay, which saw neither the text, nor who the two
    // users are, nor the token the server gave for it.
    let p2p = p2p_relay.recorded_bytes();
    assert!(
        p2p.len() > 2 * 86,
        "the chat went through the relay on its path: {} bytes",
        p2p.len()
    );
    let p2p_text = String::from_utf8_lossy(&p2p);
    for secret in [
        "eagle lands",
        "red umbrella",
        "MSG",
        "OK bob",
        "BYE",
        "HELLO",
        "alice",
        "bob",
    ] {
        assert!(
            !p2p_text.contains(secret),
            "{secret:?} readable on the path"
        );
    }
    let tokens: Vec<String> = wire
        .lines()
        .filter(|l| l.starts_with("PRIVATE-ACCEPTED") || l.starts_with("PRIVATE-EXPECT"))
        .filter_map(|l| {
            l.split(' ')
                .find(|w| w.len() == 32 && w.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .map(str::to_owned)
        .collect();
    assert!(
        !tokens.is_empty(),
        "the server's lines carry the token:\n{wire}"
    );
    for token in tokens {
        let raw = u128::from_str_radix(&token, 16).unwrap().to_be_bytes();
        assert!(
            !p2p_text.contains(&token) && !p2p.windows(16).any(|w| w == raw),
            "the token {token} crossed the direct connection"
        );
    }
}

#[test]
fn a_private_session_survives_a_later_block_and_ends_when_a_peer_leaves() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::login("alice", "wonderland", server.port(), &dir.path().join("a"));
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    alice.send("startprivate bob");
    bob.expect("? alice asks");
    bob.send("accept alice");
    alice.expect("* Private chat with bob is open");
    bob.expect("* Private chat with alice is open");

    // bob blocks alice after the session started: the session keeps working.
    bob.send("block alice");
    bob.expect("- blocked alice");
    alice.send("private bob still friends?");
    bob.expect("[private] alice: still friends?");
    bob.send("private alice for this chat, yes");
    alice.expect("[private] bob: for this chat, yes");
    alice.send("startprivate bob");
    alice.expect("error: bob has blocked you");

    // alice logs out: bob is told over the direct link.
    alice.send("logout");
    alice.expect("* Logged out. Goodbye!");
    bob.expect("* Private chat with alice ended: alice logged out.");
    bob.send("private alice hello?");
    bob.expect("error: You have no private chat with alice.");
    assert_eq!(alice.wait().code(), Some(0));
}

#[test]
fn private_chat_errors_come_from_the_server() {
    let server = Server::cmd()
        .accounts(PEOPLE)
        .args(&["60", "300", "--private-timeout", "1"])
        .start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::login("alice", "wonderland", server.port(), &dir.path().join("a"));
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    // Nobody answers: both are told when the request expires.
    alice.send("startprivate bob");
    bob.expect("? alice asks for a private chat");
    alice.expect("* The private-chat request between you and bob expired unanswered.");
    bob.expect("* The private-chat request between you and alice expired unanswered.");
    bob.send("logout");
    bob.wait();
    alice.send("startprivate zed");
    alice.expect("error: There is no user named 'zed'.");
    alice.send("startprivate alice");
    alice.expect("error: You cannot use 'startprivate' on yourself.");
    alice.send("startprivate carol");
    alice.expect("error: carol is not online");
    alice.send("accept bob");
    alice.expect("error: bob has not asked you for a private chat.");
    alice.send("startprivate bob");
    alice.expect("error: bob is not online");
    alice.send("stopprivate bob");
    alice.expect("error: You have no private chat with bob.");
}

#[test]
fn lockout_exits_non_zero() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut c = Piped::spawn("bob", server.port(), dir.path());
    for line in ["bob", "wrong1", "wrong2", "wrong3"] {
        c.send(line);
    }
    c.expect("error: Wrong password. 2 attempts left");
    c.expect("error: Wrong password again: this account is now locked for 60 s.");
    assert_eq!(c.wait().code(), Some(3));
}

#[test]
fn no_server_is_a_clear_message_and_exit_1() {
    // A port nothing listens on: bind one, note it, and free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let out = natter(port, dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot connect to the server at 127.0.0.1:{port}"))
            && err.contains("Is natter-server running there?"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let out = natter(0, dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "port 0 is a usage error");
}

#[test]
fn server_timeout_shutdown_and_loss_say_so_and_exit() {
    // Idle timeout of 2 s.
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "2"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut c = Piped::login("alice", "wonderland", server.port(), dir.path());
    c.expect("* You were logged out by the server after 2 s without a command.");
    assert_eq!(c.wait().code(), Some(4));

    let mut server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let mut a = Piped::login("alice", "wonderland", server.port(), dir.path());
    let mut b = Piped::login("bob", "builder", server.port(), dir.path());
    a.send("startprivate bob");
    b.expect("? alice asks");
    b.send("accept alice");
    a.expect("* Private chat with bob is open");
    b.expect("* Private chat with alice is open");
    server.interrupt();
    a.expect("* The server is shutting down; disconnected.");
    b.expect("* The server is shutting down; disconnected.");
    assert_eq!(a.wait().code(), Some(4));
    assert_eq!(b.wait().code(), Some(4));

    // A server that just vanishes: a clear error, exit 1.
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let mut c = Piped::login("carol", "christmas", server.port(), dir.path());
    drop(server);
    c.expect("error: Lost the connection to the server.");
    assert_eq!(c.wait().code(), Some(1));
}

#[test]
fn a_damaged_state_file_is_a_warning_not_a_crash() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seen"), b"\xff\xfe not text").unwrap();
    let mut c = Piped::spawn("alice", server.port(), dir.path());
    c.expect("warning: state file");
    c.send("alice");
    c.send("wonderland");
    c.expect("Welcome to natter, alice!");
}

#[test]
fn groups_ping_wholasthr_and_offline_as_a_user_reads_them() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let port = server.port();
    let mut alice = Piped::login("alice", "wonderland", port, &dir.path().join("a"));
    let mut bob = Piped::login("bob", "builder", port, &dir.path().join("b"));

    // bob is invited and accepts; carol (offline) is added directly, once alice allows it.
    alice.send("create group team bob");
    alice.expect("- created group team: alice");
    alice.expect("- invited bob to team");
    bob.expect("alice invites you to group team: type 'group join team' or 'group decline team'");
    bob.send("group join team");
    // Accepting is joining: nobody reads that alice added bob.
    bob.expect("* [team] bob joined");
    alice.expect("* [team] bob joined");
    alice.send("group set team add direct");
    alice.send("group add team carol");
    alice.expect("* [team] alice added carol");
    alice.send("message group team  hello, team");
    // carol never logged in, so has no keys: she is left out of the group's key (nothing goes to
    // anyone unencrypted), alice is told, and bob reads it, encrypted.
    let left_out = alice.expect("warning: Left out of your messages to team");
    assert!(
        left_out.contains("carol (no encryption keys)"),
        "{left_out}"
    );
    bob.expect("[team] alice:  hello, team");
    alice.expect("- sent to team: 1 now, 1 at their next login");
    // A direct message reads differently from a group one.
    alice.send("message bob just you");
    bob.expect("[message] alice: just you");

    bob.send("grouplist");
    bob.expect("* team: alice, bob, carol");
    bob.send("group members team");
    bob.expect("* team: alice, bob, carol");
    bob.send("ping carol");
    bob.expect("* carol is offline: messages wait for their next login.");
    bob.send("ping alice");
    bob.expect("* alice is online (idle ");
    bob.send("message group nope hi");
    bob.expect("error: There is no group named 'nope'.");
    bob.send("group");
    bob.expect(
        "error: Usage: group add <name> <user> or group join <name> [<key>] or group decline <name> or group leave <name> [<reason>]",
    );

    // carol was offline: the group message waited for her, but she never got its key (she had none
    // to get it with), and her client says so rather than showing nothing.
    let mut carol = Piped::login("carol", "christmas", port, &dir.path().join("c"));
    assert!(
        carol
            .seen
            .iter()
            .any(|l| l.contains("no key from alice for this group message")),
        "{:?}",
        carol.seen
    );
    carol.send("offline");
    carol.expect("* 1 message waited for you at this login:");
    carol.expect("[team, offline ");
    carol.send("group leave team");
    carol.expect("* [team] carol left");
    alice.expect("* [team] carol left");

    bob.send("logout");
    bob.expect("Logged out");
    alice.send("wholasthr");
    alice.expect("* Online in the last 3600 s: bob, carol");
    alice.send("help");
    alice.expect("message group <name> <text>");
    alice.expect("create group <name> [<member>...]");
    alice.expect("ping <user>");
    alice.expect("wholasthr");
    alice.expect("offline");
    for c in [&alice, &carol] {
        assert!(!c.seen.iter().any(|l| l.contains('\u{1b}')), "{:?}", c.seen);
    }
}

#[test]
fn no_timestamps_when_asked() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::spawn_with(
        "alice",
        server.port(),
        &dir.path().join("a"),
        &["--no-timestamps"],
    );
    alice.send("alice");
    alice.send("wonderland");
    alice.expect("Welcome to natter, alice!");
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    bob.send("message alice plain");
    let line = alice.expect("bob: plain");
    assert_eq!(line, "[message] bob: plain");
    // Without the flag, a live message starts with the time.
    alice.send("message bob back");
    let line = bob.expect("alice: back");
    assert!(
        line.len() > 6 && &line[2..3] == ":" && line[6..].starts_with("[message]"),
        "{line:?}"
    );
}

/// A script handed over all at once, ending in `logout`: every answer is shown before the goodbye
/// (the end of the input must not cut the wait for them short).
#[test]
fn a_script_that_ends_with_logout_sees_every_answer() {
    let server = Server::cmd().accounts(PEOPLE).start();
    let dir = tempfile::tempdir().unwrap();
    let mut c = Piped::spawn("alice", server.port(), dir.path());
    for line in ["alice", "wonderland", "whoelse", "ping bob", "logout"] {
        c.send(line);
    }
    c.close_stdin();
    assert!(c.wait().success());
    for want in [
        "Welcome to natter, alice!",
        "Nobody else is online.",
        "bob",
        "Logged out. Goodbye!",
    ] {
        assert!(c.saw(want), "no {want:?} in {:?}", c.seen);
    }
}

/// Characters that reorder text or take no room could make a message say something other than what
/// it looks like; the reader sees them as markers.
#[test]
fn deceptive_characters_are_shown_not_hidden() {
    let server = Server::cmd().accounts(PEOPLE).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::login("alice", "wonderland", server.port(), &dir.path().join("a"));
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    bob.send("message alice open the file invoice\u{202E}fdp.exe and pay\u{200B}pal");
    let line = alice.expect("[message] bob: open the file invoice");
    assert!(
        line.contains("invoice⟨U+202E⟩fdp.exe and pay⟨U+200B⟩pal"),
        "{line:?}"
    );
    assert!(
        !line.contains('\u{202E}'),
        "the override itself never reaches the terminal"
    );
    bob.send("message alice family 👨\u{200D}👩\u{200D}👧");
    let line = alice.expect("[message] bob: family");
    assert!(
        line.contains("👨\u{200D}👩\u{200D}👧"),
        "emoji sequences are left alone"
    );
}

/// A line longer than one message can carry once encrypted goes as several, cut at word boundaries,
/// each within the server's line limit, and arrives whole and in order.
#[test]
fn a_20000_character_line_arrives_as_several_messages_in_order() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let port = server.port();
    let mut alice = Piped::login("alice", "wonderland", port, &dir.path().join("a"));
    let mut bob = Piped::login("bob", "builder", port, &dir.path().join("b"));
    alice.expect("* bob logged in");
    // The keys first, as any first message sets them up.
    alice.send("message bob hello");
    bob.expect("[message] alice: hello");
    let words: Vec<String> = (0..2_500).map(|i| format!("word{i:04}")).collect();
    let text = words.join(" ");
    assert!(text.len() >= 20_000, "{}", text.len());
    alice.send(&format!("message bob {text}"));
    let mut received = Vec::new();
    while received.join(" ").len() < text.len() {
        let line = bob.expect("[message] alice: word");
        received.push(
            line.split_once("[message] alice: ")
                .unwrap()
                .1
                .trim_end()
                .to_owned(),
        );
        assert!(received.len() <= 10, "far more pieces than needed");
    }
    assert!(
        received.len() >= 4,
        "20,000 bytes need at least 4 messages of at most ~5,800"
    );
    assert_eq!(received.join(" "), text, "every word, in order");
    assert!(
        !alice.seen.iter().any(|l| l.contains("error")),
        "nothing refused: {:?}",
        alice
            .seen
            .iter()
            .filter(|l| l.contains("error"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn conversations_are_logged_unless_no_logs() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let mut alice = Piped::login("alice", "wonderland", server.port(), &dir.path().join("a"));
    let mut bob = Piped::spawn_with("bob", server.port(), &dir.path().join("b"), &["--no-logs"]);
    bob.send("bob");
    bob.send("builder");
    bob.expect("Welcome to natter, bob!");
    bob.send("message alice hello from bob");
    alice.expect("[message] bob: hello from bob");
    alice.send("message bob hello back");
    bob.expect("[message] alice: hello back");
    alice.send("logout");
    assert_eq!(alice.wait().code(), Some(0));
    bob.send("logout");
    assert_eq!(bob.wait().code(), Some(0));
    let logs = dir
        .path()
        .join("a/logs")
        .join(format!("127.0.0.1:{}", server.port()))
        .join("alice/bob");
    let file = std::fs::read_dir(&logs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let log = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(lines[0].ends_with(" <bob> hello from bob"), "{log}");
    assert!(lines[1].ends_with(" <alice> hello back"), "{log}");
    assert!(!dir.path().join("b/logs").exists(), "--no-logs");
}

#[test]
fn a_scripts_output_keeps_the_order_of_its_lines_and_its_last_answers() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let port = server.port();
    let mut bob = Piped::login("bob", "builder", port, &dir.path().join("b"));
    // One script, written at once: answers from the server and the client's own interleave as the
    // lines do.
    let mut alice = Piped::spawn("alice", port, &dir.path().join("a"));
    for line in [
        "alice",
        "wonderland",
        "whoelse",
        "dance",
        "whoelsesince 99999999999999999999",
        "block zork",
        "message bob",
        "whoelse",
    ] {
        alice.send(line);
    }
    // Many lines, which flood control paces: the last answers still come before the goodbye.
    for i in 0..120 {
        alice.send(&format!("whoelsesince {i}"));
    }
    alice.close_stdin();
    assert_eq!(alice.wait().code(), Some(0), "{:?}", alice.seen);
    let said: Vec<&str> = alice
        .seen
        .iter()
        .map(String::as_str)
        .filter(|l| !l.starts_with("- Messages with") && !l.starts_with("warning:"))
        .collect();
    assert_eq!(
        &said[..7],
        &[
            "* Welcome to natter, alice! Type 'help' for the list of commands.",
            "* Online now: bob",
            "error: 'dance' is not a command; type /help for the list",
            "* Online at any time: bob",
            "error: There is no user named 'zork'.",
            "error: Usage: message <user> <text> or message group <name> <text>",
            "* Online now: bob",
        ],
        "{said:#?}"
    );
    assert!(
        said.contains(&"* Online in the last 119 s: bob"),
        "the last answer is shown: {said:#?}"
    );
    assert_eq!(said.last(), Some(&"* Logged out. Goodbye!"), "{said:#?}");
    assert!(!alice.saw("did not confirm"), "{:?}", alice.seen);
    // Each error once.
    assert_eq!(alice.seen.iter().filter(|l| l.contains("zork")).count(), 1);
    bob.send("logout");
    bob.wait();
}

#[test]
fn a_second_login_of_a_user_online_ends_the_script_without_a_failed_login() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let port = server.port();
    let mut alice = Piped::login("alice", "wonderland", port, &dir.path().join("a"));
    let mut again = Piped::spawn("again", port, &dir.path().join("a2"));
    again.send("alice");
    again.send("wonderland");
    again.send("whoelse");
    again.expect("error: That user is already logged in elsewhere");
    assert_eq!(again.wait().code(), Some(3), "{:?}", again.seen);
    assert!(
        !again.saw("No account has that username"),
        "{:?}",
        again.seen
    );
    // No failed login was counted against the address: three wrong passwords still lock only at
    // the third.
    let mut carol = Piped::spawn("carol", port, &dir.path().join("c"));
    carol.send("carol");
    carol.send("wrong1");
    carol.expect("Wrong password. 2 attempts left");
    carol.send("christmas");
    carol.expect("Welcome to natter, carol!");
    alice.send("whoelse");
    alice.expect("* Online now: carol");
}

/// The settings file turns the logs off as `--no-logs` does; a key natter does not know stops it
/// at once, named, with the keys it takes.
#[test]
fn the_settings_file_turns_logs_off_and_a_misspelt_key_is_named() {
    let server = Server::cmd().accounts(PEOPLE).args(&["60", "300"]).start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("natter.toml");
    std::fs::write(&config, "logs = false\n").unwrap();
    let config_arg = config.to_str().unwrap();
    let mut alice = Piped::spawn_with(
        "alice",
        server.port(),
        &dir.path().join("a"),
        &["--config", config_arg],
    );
    alice.send("alice");
    alice.send("wonderland");
    alice.expect("Welcome to natter, alice!");
    let mut bob = Piped::login("bob", "builder", server.port(), &dir.path().join("b"));
    bob.send("message alice not for the disk");
    alice.expect("[message] bob: not for the disk");
    alice.send("logout");
    assert_eq!(alice.wait().code(), Some(0));
    bob.send("logout");
    bob.wait();
    assert!(!dir.path().join("a/logs").exists(), "logs = false");
    assert!(dir.path().join("b/logs").exists(), "logged by default");

    std::fs::write(&config, "log = false\n").unwrap();
    let mut carol = Piped::spawn_with(
        "carol",
        server.port(),
        &dir.path().join("c"),
        &["--config", config_arg],
    );
    assert_eq!(carol.wait().code(), Some(2));
    assert!(
        carol.saw("the keys are logs, bell, timestamps and hilights"),
        "{:?}",
        carol.seen
    );
}
