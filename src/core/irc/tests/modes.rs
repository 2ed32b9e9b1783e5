//! Channel modes on the harness: `MODE` becomes `group rules`, the core's `GROUP-CHANGED` the `MODE`
//! line every member sees (natter-protocol members see the rule), `324`, ban lists, keys on `JOIN`,
//! `@` and `+` in `NAMES`, and the refusals as numerics.

use super::kit::{open_harness, register, say};
use crate::protocol::{GroupChange, ServerMsg};
use crate::server::ConnId;
use crate::server::harness::Harness;

/// The numerics and commands of the lines, in order.
fn commands(got: &str) -> Vec<&str> {
    got.lines().filter_map(|l| l.split(' ').nth(1)).collect()
}

/// op created `#chan`; user joined it.
fn chan() -> (Harness, ConnId, ConnId) {
    let mut h = open_harness();
    let op = register(&mut h, "op", None, "");
    let user = register(&mut h, "user", None, "");
    say(&mut h, op, &["JOIN #chan"]);
    say(&mut h, user, &["JOIN #chan"]);
    h.take_irc(op);
    h.take_irc(user);
    (h, op, user)
}

#[test]
fn a_mode_change_is_one_mode_line_to_every_member() {
    let (mut h, op, user) = chan();
    say(&mut h, op, &["MODE #chan +imk-t sesame"]);
    let want = ":op!op@natter MODE #chan +imk-t sesame\r\n";
    assert_eq!(h.take_irc(op), want);
    assert_eq!(h.take_irc(user), want);
    say(&mut h, op, &["MODE #chan"]);
    assert_eq!(
        h.take_irc(op),
        ":natter 324 op #chan +inmk sesame\r\n",
        "+n is natter's default: only members post"
    );
    // Setting what is so already says nothing.
    say(&mut h, op, &["MODE #chan +m"]);
    assert_eq!(h.take_irc(op), "");
}

#[test]
fn only_operators_set_modes_and_op_makes_one() {
    let (mut h, op, user) = chan();
    say(&mut h, user, &["MODE #chan +o user"]);
    assert_eq!(commands(&h.take_irc(user)), ["482"]);
    say(&mut h, op, &["MODE #chan +o nobody", "MODE #chan +o ghost"]);
    assert_eq!(commands(&h.take_irc(op)), ["401", "401"]);
    say(&mut h, op, &["MODE #nochan +o user"]);
    assert_eq!(commands(&h.take_irc(op)), ["403"]);
    say(&mut h, op, &["MODE #chan +ov user user"]);
    assert_eq!(
        h.take_irc(user),
        ":op!op@natter MODE #chan +ov user user\r\n"
    );
    h.take_irc(op);
    say(&mut h, user, &["NAMES #chan"]);
    assert_eq!(
        h.take_irc(user),
        ":natter 353 user = #chan :@op @user\r\n:natter 366 user #chan :End of /NAMES list\r\n"
    );
    // An operator now: user kicks the creator, with its nick as the default comment.
    say(&mut h, user, &["KICK #chan op"]);
    assert!(
        h.take_irc(op)
            .contains(":user!user@natter KICK #chan op :user\r\n")
    );
}

#[test]
fn key_limit_and_ban_refuse_joiners_with_their_numerics() {
    let (mut h, op, _user) = chan();
    let third = register(&mut h, "third", None, "");
    say(&mut h, op, &["MODE #chan +k sesame"]);
    say(&mut h, third, &["JOIN #chan", "JOIN #chan wrong"]);
    assert_eq!(commands(&h.take_irc(third)), ["475", "475"]);
    say(&mut h, op, &["MODE #chan -k+l *", "MODE #chan +l 2"]);
    say(&mut h, third, &["JOIN #chan"]);
    assert_eq!(commands(&h.take_irc(third)), ["471"]);
    say(
        &mut h,
        op,
        &["MODE #chan -l", "MODE #chan +b THIRD!*@*", "MODE #chan +b"],
    );
    let got = h.take_irc(op);
    assert!(
        got.ends_with(
            ":natter 367 op #chan THIRD!*@*\r\n:natter 368 op #chan :End of channel ban list\r\n"
        ),
        "{got}"
    );
    say(&mut h, third, &["JOIN #chan"]);
    assert_eq!(commands(&h.take_irc(third)), ["474"]);
    say(
        &mut h,
        op,
        &["MODE #chan +l :0", "MODE #chan +k :two words"],
    );
    assert_eq!(commands(&h.take_irc(op)), ["696", "696"]);
}

#[test]
fn moderation_and_voice_decide_who_posts_and_a_natter_member_sees_the_rules() {
    let (mut h, op, user) = chan();
    let bob = h.login("bob", "bpw");
    h.send(bob, "group join chan");
    h.take(bob);
    h.take_irc(op);
    h.take_irc(user);
    say(&mut h, op, &["MODE #chan +m"]);
    assert!(h.take(bob).contains(&ServerMsg::GroupChanged {
        group: "chan".into(),
        by: "op".into(),
        changes: vec![GroupChange::Moderated(true)],
    }));
    h.take_irc(user);
    say(&mut h, user, &["PRIVMSG #chan :hi"]);
    assert_eq!(commands(&h.take_irc(user)), ["404"]);
    // bob, on natter's protocol, gives user a voice.
    say(&mut h, op, &["MODE #chan +o bob"]);
    h.take(bob);
    h.send(bob, "group rules chan voice user");
    assert!(
        h.take_irc(user)
            .contains(":bob!bob@natter MODE #chan +v user\r\n")
    );
    say(&mut h, user, &["PRIVMSG #chan :hi"]);
    assert!(h.take_irc(op).contains("PRIVMSG #chan :hi"));
}

#[test]
fn multi_prefix_shows_every_prefix() {
    let mut h = open_harness();
    let c = h.irc_connect();
    say(
        &mut h,
        c,
        &[
            "CAP LS 302",
            "CAP REQ :multi-prefix",
            "NICK foo",
            "USER foo 0 * :foo",
            "CAP END",
        ],
    );
    h.take_irc(c);
    say(
        &mut h,
        c,
        &["JOIN #chan", "MODE #chan +v foo", "NAMES #chan"],
    );
    assert!(h.take_irc(c).contains(":natter 353 foo = #chan :@+foo\r\n"));
}

#[test]
fn who_flags_show_the_members_prefixes() {
    let (mut h, op, _user) = chan();
    say(&mut h, op, &["MODE #chan +v op", "MODE #chan +v user"]);
    h.take_irc(op);
    say(&mut h, op, &["WHO #chan"]);
    let got = h.take_irc(op);
    assert!(got.contains(" op H@ :0 "), "{got}");
    assert!(got.contains(" user H+ :0 "), "{got}");
    let c = h.irc_connect();
    say(
        &mut h,
        c,
        &[
            "CAP REQ :multi-prefix",
            "NICK foo",
            "USER foo 0 * :foo",
            "CAP END",
        ],
    );
    say(&mut h, c, &["JOIN #chan", "WHO #chan"]);
    let got = h.take_irc(c);
    assert!(got.contains(" op H@+ :0 "), "{got}");
}

#[test]
fn invite_exceptions_let_their_users_in_and_are_listed() {
    let (mut h, op, _user) = chan();
    let bar = register(&mut h, "Bar", None, "");
    say(
        &mut h,
        op,
        &["MODE #chan +i", "MODE #chan +I bar!*@*", "MODE #chan +I"],
    );
    assert!(h.take_irc(op).ends_with(
        ":op!op@natter MODE #chan +I bar!*@*\r\n:natter 346 op #chan bar!*@*\r\n:natter 347 op #chan :End of Channel Invite Exception List\r\n"
    ));
    say(&mut h, bar, &["JOIN #chan"]);
    assert!(
        h.take_irc(bar)
            .starts_with(":Bar!Bar@natter JOIN #chan\r\n")
    );
}

#[test]
fn ban_exceptions_mutes_and_no_ctcp_are_modes() {
    let (mut h, op, user) = chan();
    say(
        &mut h,
        op,
        &[
            "MODE #chan +b m:user!*@*",
            "MODE #chan +C",
            "MODE #chan +e x*",
            "MODE #chan +e",
        ],
    );
    let got = h.take_irc(op);
    assert!(
        got.contains(":op!op@natter MODE #chan +b m:user!*@*\r\n"),
        "{got}"
    );
    assert!(got.contains(":op!op@natter MODE #chan +C\r\n"), "{got}");
    assert!(
        got.ends_with(
            ":natter 348 op #chan x*\r\n:natter 349 op #chan :End of Channel Exception List\r\n"
        ),
        "{got}"
    );
    h.take_irc(user);
    say(&mut h, user, &["PRIVMSG #chan :hi"]);
    assert!(h.take_irc(user).contains(" 404 user #chan "));
    say(&mut h, op, &["MODE #chan -b m:user!*@*"]);
    h.take_irc(user);
    say(&mut h, user, &["PRIVMSG #chan :\x01PING 1\x01"]);
    assert!(h.take_irc(user).contains(" 404 user #chan "));
    say(&mut h, user, &["PRIVMSG #chan :\x01ACTION waves\x01"]);
    assert!(
        h.take_irc(op)
            .contains("PRIVMSG #chan :\x01ACTION waves\x01")
    );
    say(&mut h, op, &["MODE #chan"]);
    assert!(h.take_irc(op).contains(" 324 op #chan +ntC\r\n"));
}

#[test]
fn list_shows_open_channels_to_anyone_but_not_secret_ones_and_filters_as_elist_says() {
    let (mut h, op, user) = chan();
    say(
        &mut h,
        op,
        &["JOIN #other", "JOIN #hidden", "MODE #hidden +s"],
    );
    let outsider = register(&mut h, "zed", None, "");
    h.take_irc(op);
    h.take_irc(user);
    say(&mut h, outsider, &["LIST"]);
    let got = h.take_irc(outsider);
    assert!(
        got.starts_with(":natter 321 zed Channel :Users  Name\r\n"),
        "{got}"
    );
    assert!(got.contains(" 322 zed #chan 2 :\r\n"), "{got}");
    assert!(got.contains(" 322 zed #other 1 :\r\n"), "{got}");
    assert!(!got.contains("#hidden"), "secret: {got}");
    assert!(got.ends_with(" 323 zed :End of /LIST\r\n"), "{got}");
    say(&mut h, outsider, &["LIST >1", "LIST !#c*", "LIST #ot*"]);
    let got = h.take_irc(outsider);
    assert_eq!(got.matches(" 322 ").count(), 3, "{got}");
    // A member sees the secret one, and NAMES says `@` for it.
    say(&mut h, op, &["LIST #hid*", "NAMES #hidden"]);
    let got = h.take_irc(op);
    assert!(got.contains(" 322 op #hidden 1 :\r\n"), "{got}");
    assert!(got.contains(" 353 op @ #hidden :@op\r\n"), "{got}");
    // An invite-only channel is shown to its members only.
    say(&mut h, op, &["MODE #other +i"]);
    say(&mut h, outsider, &["LIST"]);
    assert!(!h.take_irc(outsider).contains("#other"));
}
