//! The server's operators in a session (`login::oper`, `state::operator`): `oper` with the name and
//! password the configuration lists, the password kept out of a cluster's log as at login, and what
//! only an operator may do (`kill`, `wallops`), shown in `who`.

use super::*;
use crate::protocol::{ByeReason, Prompt};
use crate::server::Account;

/// The configuration with one operator, `root`, whose password `rootpw` is stored as its hash.
fn with_operator() -> Config {
    Config {
        operators: vec![Account {
            username: "root".into(),
            password: crate::password::hash("rootpw", &[7; 16], crate::password::Strength::Minimal),
        }],
        ..config()
    }
}

fn oper(
    h: &mut Harness,
    conn: crate::server::ConnId,
    name: &str,
    password: &str,
) -> Vec<ServerMsg> {
    h.take(conn);
    h.send(conn, &format!("oper {name}"));
    assert_eq!(
        h.take(conn),
        vec![ServerMsg::Prompt(Prompt::OperatorPassword)],
        "the password is asked for, whether or not {name} is an operator's name"
    );
    h.send(conn, password);
    h.take(conn)
}

#[test]
fn the_right_name_and_password_make_the_session_the_operators_and_nothing_else_does() {
    let mut h = Harness::new(with_operator(), ACCOUNTS);
    let alice = h.login("alice", "apw");
    let failed = vec![ServerMsg::Error(ErrorReply::OperFailed)];
    assert_eq!(oper(&mut h, alice, "root", "wrong"), failed);
    assert_eq!(
        oper(&mut h, alice, "nobody", "rootpw"),
        failed,
        "same answer"
    );
    // A failed `oper` leaves the next line a command.
    h.send(alice, "kill bob");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Error(ErrorReply::NotOperator)]
    );
    assert_eq!(
        oper(&mut h, alice, "root", "rootpw"),
        vec![ServerMsg::Operator {
            name: "root".into()
        }]
    );
    let bob = h.login("bob", "bpw");
    h.clear_all();
    h.send(bob, "who alice");
    let got = h.take(bob);
    assert!(
        matches!(&got[0], ServerMsg::WhoUser { operator: true, .. }),
        "{got:?}"
    );
    h.send(alice, "who bob");
    let got = h.take(alice);
    assert!(
        matches!(
            &got[0],
            ServerMsg::WhoUser {
                operator: false,
                ..
            }
        ),
        "{got:?}"
    );
}

#[test]
fn an_operators_password_goes_through_a_clusters_gate_as_its_shape_only() {
    let script = |h: &mut Harness| {
        let alice = h.login("alice", "apw");
        h.clear_all();
        let got = oper(h, alice, "root", "rootpw");
        h.send(alice, "whoelse");
        (got, h.take(alice))
    };
    let plain = script(&mut Harness::new(with_operator(), ACCOUNTS));
    let mut gated_h = Harness::new(with_operator(), ACCOUNTS).gate_passwords();
    let secrets_before = gated_h.secret_lines;
    let gated = script(&mut gated_h);
    assert_eq!(plain, gated);
    assert_eq!(
        plain.0,
        vec![ServerMsg::Operator {
            name: "root".into()
        }]
    );
    assert!(
        gated_h.secret_lines >= secrets_before + 2,
        "the login's and the operator's passwords went without their text"
    );
}

#[test]
fn kill_is_the_operators_kick_and_refused_to_anyone_else() {
    let mut h = Harness::new(with_operator(), ACCOUNTS);
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.send(bob, "kill carol stop it");
    assert!(
        h.take(bob)
            .contains(&ServerMsg::Error(ErrorReply::NotOperator))
    );
    assert!(!h.is_closed(carol));
    oper(&mut h, alice, "root", "rootpw");
    h.send(alice, "kill dave");
    assert_eq!(
        h.take(alice),
        vec![ServerMsg::Error(ErrorReply::NoSuchUser {
            user: "dave".into()
        })],
        "dave is not online"
    );
    h.clear_all();
    h.send(alice, "kill carol stop it");
    assert_eq!(
        h.take(carol),
        vec![
            ServerMsg::Notice {
                text: "killed by alice: stop it".into()
            },
            ServerMsg::Bye(ByeReason::Kicked)
        ]
    );
    assert!(h.is_closed(carol));
    assert!(!h.is_closed(bob));
}

#[test]
fn wallops_reaches_every_operator_online_and_only_them() {
    let mut h = Harness::new(with_operator(), ACCOUNTS);
    let alice = h.login("alice", "apw");
    let bob = h.login("bob", "bpw");
    let carol = h.login("carol", "cpw");
    h.clear_all();
    h.send(bob, "wallops hello");
    assert_eq!(h.take(bob), vec![ServerMsg::Error(ErrorReply::NotOperator)]);
    oper(&mut h, alice, "root", "rootpw");
    oper(&mut h, carol, "root", "rootpw");
    h.clear_all();
    h.send(alice, "wallops the disk is full");
    let wallops = vec![ServerMsg::Wallops {
        from: "alice".into(),
        text: "the disk is full".into(),
    }];
    assert_eq!(h.take(alice), wallops);
    assert_eq!(h.take(carol), wallops);
    assert_eq!(h.take(bob), vec![]);
}
