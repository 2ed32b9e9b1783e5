//! End-to-end with the real binaries: a group's invitation, acceptance, topic, removal and ownership
//! handed on, across a server restart; and the natter client sending `away`, `whois` and `group topic`
//! and showing the answers as a user reads them.

mod kit;

use kit::{Client, Piped, Server};
use natter_core::protocol::{ErrorReply, ServerMsg};

fn login(server: &Server, user: &str) -> Client {
    let password = kit::PEOPLE.iter().find(|(u, _)| *u == user).unwrap().1;
    Client::log_in(server.addr, user, password).unwrap_or_else(|e| panic!("{user}: {e}"))
}

#[test]
fn invite_accept_topic_remove_and_hand_on_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    kit::write_credentials(dir.path(), kit::PEOPLE);
    let server = Server::cmd().in_dir(dir.path()).start();
    let mut alice = login(&server, "alice");
    let mut bob = login(&server, "bob");
    alice.say("create group crew bob carol");
    alice.expect("created", |m| matches!(m, ServerMsg::GroupCreated { .. }));
    bob.expect("invited", |m| {
        matches!(m, ServerMsg::GroupInvitation { .. })
    });
    bob.say("group join crew");
    alice.expect(
        "bob joined",
        |m| matches!(m, ServerMsg::GroupJoined { user, .. } if &**user == "bob"),
    );
    alice.say("group topic crew plans for the week");
    bob.expect("topic", |m| matches!(m, ServerMsg::GroupTopic { .. }));
    assert!(server.stop().success());

    // carol, offline until now, finds her invitation after the restart and accepts it; the topic
    // greets her.
    let server = Server::cmd().in_dir(dir.path()).start();
    let mut carol = login(&server, "carol");
    let mut alice = login(&server, "alice");
    carol.say("group join crew");
    carol.expect(
        "the topic, kept across the restart",
        |m| matches!(m, ServerMsg::GroupTopic { topic, .. } if topic == "plans for the week"),
    );
    alice.say("group remove crew carol off topic");
    carol.expect(
        "removed, with the reason",
        |m| matches!(m, ServerMsg::GroupRemoved { reason, .. } if reason == "off topic"),
    );
    alice.say("group leave crew");
    alice.expect("left", |m| matches!(m, ServerMsg::GroupLeft { .. }));
    server.kill9();

    // After a crash: bob, the longest-standing member left, owns the group, with its topic.
    let server = Server::cmd().in_dir(dir.path()).start();
    let mut bob = login(&server, "bob");
    bob.say("group topic crew bob's week");
    bob.expect(
        "bob owns it and sets the topic",
        |m| matches!(m, ServerMsg::GroupTopic { by, .. } if &**by == "bob"),
    );
    bob.say("group members crew");
    bob.expect(
        "bob alone",
        |m| matches!(m, ServerMsg::GroupMembers { members, .. } if members.len() == 1),
    );
    let mut carol = login(&server, "carol");
    carol.say("group join crew");
    carol.expect("no invitation any more", |m| {
        matches!(m, ServerMsg::Error(ErrorReply::InviteOnly { .. }))
    });
}

#[test]
fn the_client_sends_away_whois_and_group_topic_and_shows_the_answers() {
    let server = Server::cmd().accounts(kit::PEOPLE).start();
    let dir = tempfile::tempdir().unwrap();
    let port = server.port();
    let mut alice = Piped::login("alice", "wonderland", port, &dir.path().join("a"));
    let mut bob = Piped::login("bob", "builder", port, &dir.path().join("b"));
    alice.send("away at lunch");
    alice.expect("- you are marked away: at lunch");
    bob.expect("* alice is away: at lunch");
    bob.send("whois alice");
    bob.expect("* alice: online (idle");
    bob.expect("* alice is away: at lunch");
    bob.send("whois carol");
    bob.expect("* carol: offline, never seen; groups you share: none");
    alice.send("away");
    alice.expect("- you are no longer marked away");
    bob.expect("* alice is back");

    bob.send("create group crew alice");
    bob.expect("- invited alice to crew");
    alice.expect("bob invites you to group crew: type 'group join crew' or 'group decline crew'");
    alice.send("group join crew");
    alice.expect("* [crew] alice joined");
    bob.send("group topic crew standup at 10");
    alice.expect("* [crew] topic (set by bob): standup at 10");
    alice.send("group topic crew mine");
    alice.expect("error: Only the owner of 'crew' may do that");
    bob.send("group topic crew -");
    alice.expect("* [crew] no topic is set");
    bob.send("group owner crew alice");
    alice.expect("* [crew] alice now owns the group");
    alice.send("group remove crew bob enough");
    bob.expect("* [crew] alice removed bob: enough");
}
