//! The composition's own rules: what waits for what, and what the driver is told besides the lines.

use std::net::SocketAddr;

use super::*;
use crate::protocol::{Name, Prompt};
use crate::server::oplog::Refusal;
use crate::server::{Account, Config, OperatorAct};

const T: Timestamp = Timestamp(1_700_000_000_000);

/// alice and bob, with their passwords in the clear.
fn accounts() -> Vec<Account> {
    [("alice", "apw"), ("bob", "bpw")]
        .map(|(username, password)| Account {
            username: username.into(),
            password: password.into(),
        })
        .into()
}

fn server() -> Server {
    Server::alone(
        ServerState::new(Config::default(), accounts(), [7; 32]),
        Parts::default(),
    )
}

fn peer() -> SocketAddr {
    "192.0.2.7:4000".parse().unwrap()
}

fn drain(s: &mut Server) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

/// Feeds `input` as a turn of its own, and what came out.
fn turn(s: &mut Server, input: Input<'_>, now: Timestamp) -> Vec<Output> {
    s.handle_input(input, now);
    s.handle_input(Input::EndTurn, now);
    drain(s)
}

fn released(out: &[Output]) -> Vec<&Effect> {
    out.iter()
        .filter_map(|o| match o {
            Output::Released { effects, .. } => Some(effects),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Logs `user` in on `conn`; a password job, if the core asks for one, is answered as the shell's
/// worker would.
fn login(s: &mut Server, conn: ConnId, user: &str, password: &str, now: Timestamp) -> Vec<Output> {
    turn(
        s,
        Input::Event(Event::Connected { conn, peer: peer() }),
        now,
    );
    turn(
        s,
        Input::Event(Event::Line {
            conn,
            line: user.as_bytes(),
        }),
        now,
    );
    let out = turn(
        s,
        Input::Event(Event::Line {
            conn,
            line: password.as_bytes(),
        }),
        now,
    );
    let job = out.iter().find_map(|o| match o {
        Output::PasswordJob(Effect::CheckPassword { job, hash, .. }) => Some((*job, hash.clone())),
        _ => None,
    });
    match job {
        Some((job, hash)) => {
            let ok = crate::password::matches(&hash, password);
            turn(
                s,
                Input::Event(Event::PasswordChecked { conn, job, ok }),
                now,
            )
        }
        None => out,
    }
}

#[test]
fn lines_leave_only_when_their_batch_ends() {
    let mut s = server();
    let conn = ConnId(1);
    s.handle_input(Input::Event(Event::Connected { conn, peer: peer() }), T);
    assert!(
        released(&drain(&mut s)).is_empty(),
        "nothing before the batch ends"
    );
    s.handle_input(Input::EndBatch, T);
    let out = drain(&mut s);
    assert!(matches!(
        out.as_slice(),
        [Output::Released { made_at, effects }] if *made_at == T && effects.len() == 1
    ));
}

#[test]
fn a_reply_vouching_for_a_record_waits_for_its_commit() {
    let mut s = server();
    let (a, b) = (ConnId(1), ConnId(2));
    login(&mut s, a, "alice", "apw", T);
    login(&mut s, b, "bob", "bpw", T);
    turn(&mut s, Input::Event(Event::Disconnected { conn: b }), T);
    let out = turn(
        &mut s,
        Input::Event(Event::Line {
            conn: a,
            line: b"message bob hello",
        }),
        T,
    );
    let seq = out
        .iter()
        .find_map(|o| match o {
            Output::Commit(c) => Some(c.seq),
            _ => None,
        })
        .expect("the stored message is committed at once");
    assert!(released(&out).is_empty(), "the reply waits: {out:?}");
    s.handle_input(Input::Committed(seq), T);
    let out = drain(&mut s);
    assert!(
        released(&out)
            .iter()
            .any(|e| matches!(e, Effect::Send { to, msg: ServerMsg::Stored { .. } } if *to == a)),
        "{out:?}"
    );
}

#[test]
fn the_operator_is_told_of_logins_with_their_address_and_the_metrics_count_them() {
    let mut s = server();
    let out = login(&mut s, ConnId(1), "alice", "apw", T);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Record { record: Record::LoggedIn { .. }, from: Some(p), ended: None } if *p == peer()
    )));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Counts(c) if c.logins_ok == 1))
    );
}

#[test]
fn a_logout_says_why_the_session_ended() {
    let mut s = server();
    login(&mut s, ConnId(1), "alice", "apw", T);
    let out = turn(
        &mut s,
        Input::Event(Event::Line {
            conn: ConnId(1),
            line: b"logout",
        }),
        T,
    );
    assert!(
        out.iter().any(|o| matches!(
            o,
            Output::Record {
                record: Record::LoggedOut { .. },
                ended: Some(Ended::Logout),
                ..
            }
        )),
        "{out:?}"
    );
}

#[test]
fn a_failed_login_names_its_address_and_refusals_are_summed_up_for_the_operator() {
    let mut s = server();
    let out = login(&mut s, ConnId(1), "alice", "wrong", T);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::LoginFailed { address: Some(ip), .. } if *ip == peer().ip()
    )));
    s.handle_input(
        Input::Refused {
            address: peer().ip(),
            what: Refusal::Full,
        },
        T,
    );
    assert!(matches!(
        drain(&mut s).as_slice(),
        [Output::OperatorLine(_)]
    ));
    // A second refusal of the address waits for its minute's summary: a deadline.
    s.handle_input(
        Input::Refused {
            address: peer().ip(),
            what: Refusal::Full,
        },
        T,
    );
    assert!(drain(&mut s).is_empty());
    let due = s.poll_timeout().expect("the summary's minute");
    s.handle_input(Input::Timeout, due);
    assert!(matches!(
        drain(&mut s).as_slice(),
        [Output::OperatorLine(_)]
    ));
}

/// Feeds `line` on `conn` as a turn of its own; a password job it asks for is answered as the
/// shell's worker would, in a turn of its own. Everything that came out.
fn typed(s: &mut Server, conn: ConnId, line: &str, now: Timestamp) -> Vec<Output> {
    let mut out = turn(
        s,
        Input::Event(Event::Line {
            conn,
            line: line.as_bytes(),
        }),
        now,
    );
    let job = out.iter().find_map(|o| match o {
        Output::PasswordJob(Effect::CheckPassword {
            job,
            hash,
            password: Some(p),
            ..
        }) => Some((*job, crate::password::matches(hash, &p.0))),
        _ => None,
    });
    if let Some((job, ok)) = job {
        out.extend(turn(
            s,
            Input::Event(Event::PasswordChecked { conn, job, ok }),
            now,
        ));
    }
    out
}

fn operator_acts(out: &[Output]) -> Vec<(Name, Option<std::net::IpAddr>, OperatorAct)> {
    out.iter()
        .filter_map(|o| match o {
            Output::OperatorDid { user, address, act } => {
                Some((user.clone(), *address, act.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn what_a_session_does_as_the_operator_is_told_to_the_operators_log() {
    let cfg = Config {
        operators: vec![Account {
            username: "root".into(),
            password: crate::password::hash("rootpw", &[7; 16], crate::password::Strength::Minimal),
        }],
        ..Config::default()
    };
    let mut s = Server::alone(ServerState::new(cfg, accounts(), [7; 32]), Parts::default());
    let (a, b) = (ConnId(1), ConnId(2));
    login(&mut s, a, "alice", "apw", T);
    login(&mut s, b, "bob", "bpw", T);
    let alice = || Name::from("alice");
    let ip = Some(peer().ip());
    let mut seen = Vec::new();
    for line in ["oper root", "guess", "oper nobody", "rootpw"] {
        seen.extend(operator_acts(&typed(&mut s, a, line, T)));
    }
    // A name no operator has is not written (it may be a password typed in the wrong place).
    assert_eq!(
        seen,
        vec![
            (
                alice(),
                ip,
                OperatorAct::Refused {
                    operator: Some("root".into())
                }
            ),
            (alice(), ip, OperatorAct::Refused { operator: None }),
        ]
    );
    assert!(operator_acts(&typed(&mut s, a, "oper root", T)).is_empty());
    assert_eq!(
        operator_acts(&typed(&mut s, a, "rootpw", T)),
        vec![(
            alice(),
            ip,
            OperatorAct::Became {
                operator: "root".into()
            }
        )]
    );
    assert_eq!(
        operator_acts(&typed(&mut s, a, "wallops hello", T)),
        vec![(alice(), ip, OperatorAct::Wallops)]
    );
    // The kill is told before the logout it causes.
    let out = typed(&mut s, a, "kill bob", T);
    let said = |o: &Output| match o {
        Output::OperatorDid { .. } => Some(0),
        Output::Record {
            record: Record::LoggedOut { .. },
            ..
        } => Some(1),
        _ => None,
    };
    assert_eq!(out.iter().filter_map(said).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(
        operator_acts(&out),
        vec![(
            alice(),
            ip,
            OperatorAct::Killed {
                target: Name::from("bob")
            }
        )]
    );
    // Nobody else's commands are.
    login(&mut s, b, "bob", "bpw", T);
    assert!(operator_acts(&typed(&mut s, b, "kill alice", T)).is_empty());
}

#[test]
fn the_shutdowns_goodbyes_leave_at_once_and_its_records_are_one_last_commit() {
    let mut s = server();
    login(&mut s, ConnId(1), "alice", "apw", T);
    s.handle_input(Input::Shutdown { store_ok: true }, T);
    let out = drain(&mut s);
    assert!(out.iter().any(|o| matches!(o, Output::Commit(_))));
    assert!(released(&out).iter().any(|e| matches!(
        e,
        Effect::Send {
            msg: ServerMsg::Bye(ByeReason::Shutdown),
            ..
        }
    )));
}

#[test]
fn held_notices_fall_due_as_a_timeout_and_idle_tidies_when_the_pacer_says() {
    let mut s = server();
    let presence = ServerMsg::Presence {
        user: "bob".into(),
        online: true,
    };
    let fresh = Queued {
        due: false,
        bytes: 30,
    };
    assert_eq!(
        s.pace_in(Lane::waiting(&presence), fresh, T),
        Write::Hold(Lane::Presence)
    );
    let prompt = ServerMsg::Prompt(Prompt::Username);
    assert_eq!(
        s.pace_in(Lane::waiting(&prompt), fresh, T),
        Write::Hold(Lane::Prompt)
    );
    let due = s.poll_timeout().expect("the held prompt's deadline");
    s.handle_input(Input::Timeout, due);
    assert!(matches!(
        drain(&mut s).as_slice(),
        [Output::WriteHeld(Lane::Prompt)]
    ));
    let due = s.poll_timeout().expect("the held presence's deadline");
    assert!(
        due > T.plus_millis(10),
        "presence waits longer than the prompt"
    );
    s.handle_input(Input::Timeout, due);
    assert!(matches!(
        drain(&mut s).as_slice(),
        [Output::WriteHeld(Lane::Presence)]
    ));
    s.handle_input(Input::Idle { written: 10 }, due);
    assert!(drain(&mut s).is_empty(), "too little written to tidy");
    s.handle_input(Input::Idle { written: 4 << 20 }, due);
    assert!(matches!(drain(&mut s).as_slice(), [Output::Tidy]));
}

/// Lines read together ([`Input::LineBeforeMore`]) against the same lines fed one at a time.
mod lines_read_together {
    use proptest::prelude::*;

    use super::*;

    /// What a client may send: logins right and wrong, commands that answer, store, tell others,
    /// refuse, log out, and lines that are not commands at all.
    const LINES: &[&str] = &[
        "alice",
        "apw",
        "bob",
        "bpw",
        "wrong",
        "nobody",
        "message bob hi",
        "message alice hello there",
        "message nobody hi",
        "broadcast all of you",
        "whoelse",
        "whoelse 60",
        "block bob",
        "unblock bob",
        "block alice",
        "acks on",
        "ack 1",
        "logout",
        "",
        "\u{1}control",
        "frobnicate",
    ];

    /// One step of a script: an input of its own, or a run of lines of one connection read
    /// together.
    #[derive(Clone, Debug)]
    enum Step {
        Connect(u64),
        Lines(u64, Vec<&'static str>),
        Gone(u64),
        EndBatch,
        EndTurn,
    }

    fn step() -> impl Strategy<Value = Step> {
        let conn = 1u64..4;
        prop_oneof![
            1 => conn.clone().prop_map(Step::Connect),
            6 => (conn.clone(), proptest::collection::vec(proptest::sample::select(LINES), 1..8))
                .prop_map(|(c, lines)| Step::Lines(c, lines)),
            1 => conn.prop_map(Step::Gone),
            1 => Just(Step::EndBatch),
            1 => Just(Step::EndTurn),
        ]
    }

    /// A server whose flood control a run of lines can trip (so that a `BYE flood` and the
    /// logout after it can fall in one run).
    fn strict() -> Server {
        let config = Config {
            flood_rate: 1,
            flood_burst: 4,
            ..Config::default()
        };
        let accounts = ["alice", "bob"].map(|u| Account {
            username: u.into(),
            password: format!("{}pw", &u[..1]),
        });
        Server::alone(
            ServerState::new(config, accounts.into(), [7; 32]),
            Parts::default(),
        )
    }

    /// Answers the password checks in `out` as the shell's worker would, and what that made.
    fn answer_jobs(s: &mut Server, out: &[Output], now: Timestamp) -> Vec<Output> {
        let mut more = Vec::new();
        for o in out {
            if let Output::PasswordJob(Effect::CheckPassword {
                conn,
                job,
                hash,
                password: Some(typed),
            }) = o
            {
                let ok = crate::password::matches(hash, &typed.0);
                s.handle_input(
                    Input::Event(Event::PasswordChecked {
                        conn: *conn,
                        job: *job,
                        ok,
                    }),
                    now,
                );
                more.extend(drain(s));
            }
        }
        more
    }

    /// Feeds `step` to `s`, its lines one at a time or (`together`) as the shell hands over lines
    /// read together, and returns everything that came out, password answers included.
    fn feed(s: &mut Server, step: &Step, together: bool, now: Timestamp) -> Vec<Output> {
        let mut out = Vec::new();
        match step {
            Step::Connect(c) => {
                let conn = ConnId(*c);
                s.handle_input(Input::Event(Event::Connected { conn, peer: peer() }), now);
            }
            Step::Lines(c, lines) => {
                let conn = ConnId(*c);
                for (i, line) in lines.iter().enumerate() {
                    let line = line.as_bytes();
                    if together && i + 1 < lines.len() {
                        s.handle_input(Input::LineBeforeMore { conn, line }, now);
                    } else {
                        s.handle_input(Input::Event(Event::Line { conn, line }), now);
                    }
                    // (The shell carries out what came out after each input it feeds: here only
                    // after the last of lines read together.)
                    if !together {
                        out.extend(drain(s));
                    }
                }
            }
            Step::Gone(c) => {
                s.handle_input(Input::Event(Event::Disconnected { conn: ConnId(*c) }), now)
            }
            Step::EndBatch => s.handle_input(Input::EndBatch, now),
            Step::EndTurn => s.handle_input(Input::EndTurn, now),
        }
        out.extend(drain(s));
        let answers = answer_jobs(s, &out, now);
        out.extend(answers);
        out
    }

    proptest! {
        /// Whatever the lines and however they are grouped, a server fed lines read together says
        /// what one fed them one at a time says, in the same order, and is left the same.
        #[test]
        fn say_what_the_same_lines_one_at_a_time_say(
            steps in proptest::collection::vec(step(), 1..40)
        ) {
            let (mut one, mut together) = (strict(), strict());
            for (i, step) in steps.iter().enumerate() {
                let now = T.plus_millis(i as u64 * 100);
                let a = feed(&mut one, step, false, now);
                let b = feed(&mut together, step, true, now);
                prop_assert_eq!(format!("{a:?}"), format!("{b:?}"), "after {:?}", step);
                prop_assert_eq!(one.poll_timeout(), together.poll_timeout());
            }
            let now = T.plus_millis(steps.len() as u64 * 100);
            let a = feed(&mut one, &Step::EndTurn, false, now);
            let b = feed(&mut together, &Step::EndTurn, true, now);
            prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
    }

    /// A run of lines whose next input is not one of them is handed over before it, as the
    /// shell's contract allows: nothing is held past the run.
    #[test]
    fn what_is_held_is_handed_over_before_any_other_input() {
        let mut s = strict();
        let conn = ConnId(1);
        feed(&mut s, &Step::Connect(1), true, T);
        feed(&mut s, &Step::EndTurn, true, T);
        s.handle_input(
            Input::LineBeforeMore {
                conn,
                line: b"alice",
            },
            T,
        );
        assert!(drain(&mut s).is_empty(), "held with the next line");
        s.handle_input(Input::EndBatch, T);
        let out = drain(&mut s);
        assert!(
            released(&out).iter().any(|e| matches!(
                e,
                Effect::Send { to, msg: ServerMsg::Prompt(Prompt::Password) } if *to == conn
            )),
            "{out:?}"
        );
    }
}
