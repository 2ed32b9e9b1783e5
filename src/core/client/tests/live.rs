//! Client cores talking to the real server core (the harness), line by line, on one virtual clock:
//! what a user sees when the server answers exactly as natter's does, idle logouts and lost
//! connections included. The other client tests play the server by hand; these catch what only
//! the two together do.

use std::collections::BTreeMap;

use super::*;
use crate::server::ConnId;
use crate::server::harness::Harness;

/// The server's idle timeout in these tests, as `natter-server 4555 60 30` has it.
const IDLE_SECS: u64 = 30;

/// One user's client and its connection to the server, if one is open.
struct Seat {
    client: Client,
    conn: Option<ConnId>,
    /// Every line the client sent that reached the server, in order.
    wire: Vec<String>,
    /// Lines starting so are lost on the way, while set (a question whose connection went, or
    /// whose answer never came).
    losing: Option<String>,
}

/// A server core and the clients at it. Every client's password is `pw`.
struct Live {
    server: Harness,
    seats: BTreeMap<String, Seat>,
}

impl Live {
    fn new(users: &[&str]) -> Self {
        let config = crate::server::Config {
            timeout_secs: IDLE_SECS,
            ..crate::server::Config::default().unlimited()
        };
        let accounts: Vec<(&str, &str)> = users.iter().map(|u| (*u, "pw")).collect();
        let mut server = Harness::new(config, &accounts);
        server.advance(0);
        Live {
            server,
            seats: BTreeMap::new(),
        }
    }

    /// `user` starts a client with end-to-end keys (line mode, or full screen), at a terminal, and
    /// logs in.
    fn start(&mut self, user: &str, full_screen: bool) {
        let mut config = Config::new(P2P_PORT);
        config.servers = vec!["127.0.0.1:4555".into()];
        config.interactive = true;
        config.full_screen = full_screen;
        config.e2e = Some(crate::client::e2e::Setup {
            engine: std::sync::Arc::new(crate::client::e2e::test_engine::TestEngine::named(user)),
        });
        let conn = self.server.connect();
        let mut client = Client::with_config(config);
        client.now = self.server.now();
        if full_screen {
            client.event(Event::User(UserEvent::Resize { rows: 24 }));
        }
        self.seats.insert(
            user.to_owned(),
            Seat {
                client,
                conn: Some(conn),
                wire: Vec::new(),
                losing: None,
            },
        );
        self.pump();
        self.typed(user, user);
        self.typed(user, "pw");
        let shown = self.shown(user).join("\n");
        assert!(shown.contains("Welcome"), "{user} logged in: {shown}");
    }

    fn seat(&mut self, user: &str) -> &mut Seat {
        self.seats.get_mut(user).expect("a user at the table")
    }

    /// What `user`'s client was shown since the last call, rendered as line mode renders it.
    fn shown(&mut self, user: &str) -> Vec<String> {
        self.seat(user)
            .client
            .take_shown()
            .iter()
            .map(|i| crate::client::display::render(i, false))
            .collect()
    }

    /// `user` types `line` (and Enter); everything it leads to happens.
    fn typed(&mut self, user: &str, line: &str) {
        let seat = self.seat(user);
        if seat.client.state.screen().is_some() {
            seat.client.enter(line);
        } else {
            seat.client.typed(line);
        }
        self.pump();
    }

    /// Lines go both ways, connections open and close, until nothing moves.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for seat in self.seats.values_mut() {
                let c = &mut seat.client;
                if let Some(conn) = seat.conn {
                    for line in c.take_sent() {
                        moved = true;
                        if seat.losing.as_ref().is_some_and(|l| line.starts_with(l)) {
                            continue;
                        }
                        self.server.send(conn, &line);
                        seat.wire.push(line);
                    }
                    for msg in self.server.take(conn) {
                        c.server(msg);
                        moved = true;
                    }
                }
                for change in std::mem::take(&mut c.server_conns) {
                    moved = true;
                    match change {
                        None => {
                            if let Some(conn) = seat.conn.take() {
                                self.server.disconnect(conn);
                            }
                        }
                        Some(_) => {
                            seat.conn = Some(self.server.connect());
                            // The certificate is the one pinned at the first connection.
                            c.event(Event::Server(ServerEvent::ConnectedVerified));
                        }
                    }
                }
                if let Some(conn) = seat.conn
                    && self.server.is_closed(conn)
                    && self.server.peek(conn).is_empty()
                {
                    seat.conn = None;
                    c.event(Event::Server(ServerEvent::Closed));
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Time passes for everyone, a tenth of a second at a time.
    fn wait_secs(&mut self, secs: u64) {
        for _ in 0..secs * 10 {
            self.server.advance(100);
            for seat in self.seats.values_mut() {
                seat.client.advance_ms(100);
            }
            self.pump();
        }
    }

    /// The server loses `user`'s connection (a network cut): both ends see it close.
    fn cut(&mut self, user: &str) {
        let seat = self.seats.get_mut(user).expect("a user at the table");
        let conn = seat.conn.take().expect("connected");
        self.server.disconnect(conn);
        seat.client.event(Event::Server(ServerEvent::Closed));
        self.pump();
    }

    /// From now on, lines of `user`'s client starting with `prefix` are lost on the way (`None`:
    /// none are).
    fn lose(&mut self, user: &str, prefix: Option<&str>) {
        self.seat(user).losing = prefix.map(str::to_owned);
    }

    /// The lines `user`'s client sent that reached the server since the last call.
    fn wire(&mut self, user: &str) -> Vec<String> {
        std::mem::take(&mut self.seat(user).wire)
    }
}

/// alice (full screen) makes the group crew, invite-only, says things in it, writes to bob (so his
/// client has her keys) and invites him; bob (line mode) joins. As found by hand.
fn bob_joins_crew() -> Live {
    let mut live = Live::new(&["alice", "bob"]);
    live.start("alice", true);
    live.start("bob", false);
    for line in [
        "/join #crew",
        "/topic planning the trip",
        "/me waves",
        "/msg bob hi bob",
        "/group add crew bob",
    ] {
        live.typed("alice", line);
    }
    live.shown("alice");
    live.shown("bob");
    live
}

/// How many times `text` reached `user`'s screen as a message.
fn received(live: &mut Live, user: &str, text: &str) -> usize {
    live.shown(user)
        .iter()
        .filter(|l| l.contains(&format!("bob: {text}")))
        .count()
}

/// The group message lines among `lines`.
fn group_lines(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| l.starts_with("message group crew "))
        .count()
}

#[test]
fn a_group_message_typed_right_after_joining_by_invitation_goes_at_once() {
    let mut live = bob_joins_crew();
    live.typed("bob", "/join #crew");
    let joined = live.shown("bob");
    assert!(
        joined
            .iter()
            .any(|l| l.contains("Members of crew") && l.contains("alice")),
        "the members are learnt at the join, to encrypt for: {joined:?}"
    );
    live.typed("bob", "message #crew hello crew, I'm here");
    let bob = live.shown("bob");
    assert!(
        bob.iter().any(|l| l.contains("sent to crew: 1 now")),
        "{bob:?}"
    );
    assert_eq!(received(&mut live, "alice", "hello crew, I'm here"), 1);
}

/// bob joins crew, but his client's questions for its members are lost; he writes `texts` to crew,
/// each told waiting for the member list.
fn waiting_for_members(live: &mut Live, texts: &[&str]) {
    live.lose("bob", Some("group members "));
    live.typed("bob", "/join #crew");
    for text in texts {
        live.typed("bob", &format!("message #crew {text}"));
        let bob = live.shown("bob");
        assert!(
            bob.iter()
                .any(|l| l.contains("crew") && l.contains("member list")),
            "said waiting, and for what: {bob:?}"
        );
    }
    live.lose("bob", None);
    assert_eq!(group_lines(&live.wire("bob")), 0, "nothing left yet");
}

/// After bob's client logged in again: each of `texts` left once, no answer to its own question
/// was shown as the user's, and alice gets each once.
fn each_sent_once(live: &mut Live, bob: &[String], texts: &[&str]) {
    let wire = live.wire("bob");
    assert_eq!(group_lines(&wire), texts.len(), "{wire:#?}");
    assert_eq!(
        wire.iter()
            .filter(|l| l.starts_with("group members crew"))
            .count(),
        1,
        "one question for the members: {wire:#?}"
    );
    assert_eq!(
        bob.iter().filter(|l| l.contains("sent to crew")).count(),
        texts.len(),
        "{bob:#?}"
    );
    assert!(
        !bob.iter().any(|l| l.starts_with("* crew:")),
        "the answer to the client's own question is not the user's: {bob:#?}"
    );
    assert!(
        !bob.iter().any(|l| l.contains("alice is offline")),
        "the group's key stored for alice is not a message bob wrote to her: {bob:#?}"
    );
    // alice logs in again (her idle logout too) and reads them, each once.
    live.typed("alice", "/whois bob");
    live.wait_secs(2);
    let alice = live.shown("alice");
    for text in texts {
        assert_eq!(
            alice
                .iter()
                .filter(|l| l.contains(&format!("bob: {text}")))
                .count(),
            1,
            "{text}: {alice:#?}"
        );
    }
}

#[test]
fn a_group_message_waiting_for_the_members_goes_once_after_an_idle_logout() {
    for texts in [&["hello crew, I'm here"][..], &["one", "two"]] {
        let mut live = bob_joins_crew();
        waiting_for_members(&mut live, texts);
        live.wait_secs(IDLE_SECS + 5);
        let bob = live.shown("bob");
        assert!(
            bob.iter().any(|l| l.contains("logged out by the server")),
            "{bob:?}"
        );
        // bob presses Enter: logged in again, what waited goes.
        live.typed("bob", "");
        live.wait_secs(2);
        let bob = live.shown("bob");
        each_sent_once(&mut live, &bob, texts);
    }
}

#[test]
fn a_group_message_waiting_for_the_members_goes_once_after_a_lost_connection() {
    for texts in [&["hello crew, I'm here"][..], &["one", "two"]] {
        let mut live = bob_joins_crew();
        waiting_for_members(&mut live, texts);
        live.cut("bob");
        live.wait_secs(2);
        let bob = live.shown("bob");
        assert!(bob.iter().any(|l| l.contains("Reconnected")), "{bob:?}");
        each_sent_once(&mut live, &bob, texts);
    }
}

#[test]
fn a_group_message_typed_before_the_join_is_answered_goes_once_and_no_question_is_shown() {
    let mut live = bob_joins_crew();
    // Both typed before the server answered the first (pasted, or a slow server): the message asks
    // for the members, and so does the join once answered.
    live.seat("bob").client.typed("/join #crew");
    live.seat("bob")
        .client
        .typed("message #crew hello crew, I'm here");
    live.pump();
    let bob = live.shown("bob");
    assert!(
        bob.iter().any(|l| l.contains("sent to crew: 1 now")),
        "{bob:#?}"
    );
    assert!(
        !bob.iter().any(|l| l.starts_with("* crew:")),
        "both answers are the client's own: {bob:#?}"
    );
    assert_eq!(group_lines(&live.wire("bob")), 1);
    assert_eq!(received(&mut live, "alice", "hello crew, I'm here"), 1);
}
