//! Groups with an owner in the store: a format-5 store's groups load owned by their first member, the
//! records of owners, settings, topics and invitations come back as they went in, and an account's
//! rename carries over to what it owns and the invitations it made or got.

use super::*;
use natter_core::protocol::Name;
use natter_core::server::harness::START;
use natter_core::server::{
    Account, Config, DurableView, GroupRulesRecord, GroupView, InvitationView, ServerState,
};

fn replayed(records: &[Record]) -> DurableView {
    replayed_with(&["alice", "bob", "carol", "dave"], records)
}

/// `records` replayed into a core whose accounts (as the credentials file names them) are `users`.
fn replayed_with(users: &[&str], records: &[Record]) -> DurableView {
    let accounts = users
        .iter()
        .map(|u| Account {
            username: (*u).into(),
            password: format!("{u}-password"),
        })
        .collect();
    let mut s = ServerState::new(Config::default(), accounts, [1; 32]);
    assert_eq!(
        s.restore(records.to_vec(), START),
        0,
        "every record applies: {records:#?}"
    );
    s.durable_view()
}

fn loaded(dir: &std::path::Path) -> Vec<Record> {
    Store::open(dir).unwrap().load().unwrap().records
}

/// A group owned by alice with bob (who came by invitation) and a topic; carol invited by bob.
fn owned_group() -> Vec<Record> {
    let at = START.plus_secs(60);
    vec![
        Record::GroupCreated {
            group: "team".into(),
            by: "alice".into(),
            members: vec!["alice".into()],
        },
        Record::Invited {
            group: "team".into(),
            user: "bob".into(),
            by: "alice".into(),
            at: START,
        },
        Record::GroupJoined {
            group: "team".into(),
            user: "bob".into(),
            by: "alice".into(),
        },
        Record::InvitationEnded {
            group: "team".into(),
            user: "bob".into(),
        },
        Record::Invited {
            group: "team".into(),
            user: "carol".into(),
            by: "bob".into(),
            at,
        },
        Record::GroupModeSet {
            group: "team".into(),
            open: true,
            add_direct: false,
            topic_by_members: true,
        },
        Record::GroupTopicSet {
            group: "team".into(),
            topic: "  plans for the week 🎉".into(),
            by: "bob".into(),
        },
        Record::GroupOwnerSet {
            group: "team".into(),
            owner: "bob".into(),
        },
        // A second group whose topic was set, then cleared.
        Record::GroupCreated {
            group: "quiet".into(),
            by: "dave".into(),
            members: vec!["dave".into()],
        },
        Record::GroupTopicSet {
            group: "quiet".into(),
            topic: "soon gone".into(),
            by: "dave".into(),
        },
        Record::GroupTopicSet {
            group: "quiet".into(),
            topic: String::new(),
            by: "dave".into(),
        },
    ]
}

#[test]
fn owners_settings_topics_and_invitations_come_back_as_they_went_in() {
    let dir = tempfile::tempdir().unwrap();
    let records = owned_group();
    // In two batches, cut between an invitation and its acceptance.
    {
        let mut store = Store::open(dir.path()).unwrap();
        store.commit(&records[..2]).unwrap();
        store.commit(&records[2..]).unwrap();
    }
    let want = replayed(&records);
    assert_eq!(
        want.group_settings,
        vec![
            GroupView {
                name: "quiet".into(),
                owner: "dave".into(),
                open: false,
                add_direct: false,
                topic_by_members: false,
                topic: None,
                rules: String::new(),
            },
            GroupView {
                name: "team".into(),
                owner: "bob".into(),
                open: true,
                add_direct: false,
                topic_by_members: true,
                topic: Some(("  plans for the week 🎉".into(), "bob".into())),
                rules: String::new(),
            },
        ]
    );
    assert_eq!(
        want.invitations,
        vec![InvitationView {
            group: "team".into(),
            user: "carol".into(),
            by: "bob".into(),
            at: START.plus_secs(60),
        }]
    );
    assert_eq!(replayed(&loaded(dir.path())), want);
    // Members who leave: the owner's leaving hands the group on, and the last one takes it away
    // with its settings, topic and invitations.
    {
        let mut store = Store::open(dir.path()).unwrap();
        store
            .commit(&[
                Record::GroupLeft {
                    group: "team".into(),
                    user: "bob".into(),
                },
                Record::GroupOwnerSet {
                    group: "team".into(),
                    owner: "alice".into(),
                },
                Record::GroupLeft {
                    group: "quiet".into(),
                    user: "dave".into(),
                },
            ])
            .unwrap();
    }
    let after = replayed(&loaded(dir.path()));
    assert_eq!(after.groups, vec![("team".into(), vec!["alice".into()])]);
    assert_eq!(after.group_settings.len(), 1);
    assert_eq!(after.group_settings[0].owner, "alice");
}

#[test]
fn a_rename_carries_over_to_ownership_and_invitations() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = owned_group();
    records.extend([
        Record::AccountRenamed {
            from: "bob".into(),
            to: "robert".into(),
        },
        Record::AccountRenamed {
            from: "carol".into(),
            to: "caroline".into(),
        },
    ]);
    Store::open(dir.path()).unwrap().commit(&records).unwrap();
    let want = replayed(&records);
    let team = want
        .group_settings
        .iter()
        .find(|g| g.name == "team")
        .unwrap();
    assert_eq!(team.owner, "robert", "the owner's new name");
    assert_eq!(
        want.invitations,
        vec![InvitationView {
            group: "team".into(),
            user: "caroline".into(),
            by: "robert".into(),
            at: START.plus_secs(60),
        }]
    );
    // The store keeps the new names (the credentials file, rewritten by the operator's rename, names
    // the accounts so at the next start).
    let after = replayed_with(
        &["alice", "robert", "caroline", "dave"],
        &loaded(dir.path()),
    );
    assert_eq!(after.group_settings, want.group_settings);
    assert_eq!(after.invitations, want.invitations);
    assert_eq!(after.groups, want.groups);
}

/// A store of format 5 (groups without owners, settings, topics or invitations) is upgraded: each
/// group is owned by its first member (by name: format 5 kept no join order) and its members add
/// directly, as they always had; from then on it keeps the new records.
#[test]
fn a_store_of_the_fifth_format_is_upgraded_and_its_groups_are_owned_by_their_first_member() {
    let dir = tempfile::tempdir().unwrap();
    let created = Record::GroupCreated {
        group: "club".into(),
        by: "carol".into(),
        members: vec!["carol".into(), "bob".into(), "dave".into()],
    };
    Store::open(dir.path())
        .unwrap()
        .commit(std::slice::from_ref(&created))
        .unwrap();
    {
        // What a store made by the previous build looks like: no join order, no group tables.
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch(
            "BEGIN;
             ALTER TABLE group_members DROP COLUMN seq;
             DROP TABLE group_settings;
             DROP TABLE group_topics;
             DROP TABLE group_invitations;
             DROP TABLE group_rules;
             PRAGMA user_version = 5;
             COMMIT;",
        )
        .unwrap();
    }
    let view = replayed(&loaded(dir.path()));
    assert_eq!(
        view.groups,
        vec![(
            "club".into(),
            vec!["bob".into(), "carol".into(), "dave".into()]
        )]
    );
    assert_eq!(
        view.group_settings,
        vec![GroupView {
            name: "club".into(),
            owner: "bob".into(),
            open: false,
            add_direct: true,
            topic_by_members: false,
            topic: None,
            rules: String::new(),
        }]
    );
    let topic = Record::GroupTopicSet {
        group: "club".into(),
        topic: "after the upgrade".into(),
        by: "bob".into(),
    };
    Store::open(dir.path())
        .unwrap()
        .commit(std::slice::from_ref(&topic))
        .unwrap();
    let view = replayed(&loaded(dir.path()));
    assert_eq!(
        view.group_settings[0].topic,
        Some(("after the upgrade".into(), "bob".into()))
    );
}

/// `team` (alice, bob, carol) with rules: bob and carol operators, carol voiced, a key, a limit and
/// a ban.
fn ruled_group() -> Vec<Record> {
    let member = |user: &str| Record::GroupJoined {
        group: "team".into(),
        user: user.into(),
        by: user.into(),
    };
    vec![
        Record::GroupCreated {
            group: "team".into(),
            by: "alice".into(),
            members: vec!["alice".into()],
        },
        member("bob"),
        member("carol"),
        Record::GroupRulesSet {
            group: "team".into(),
            rules: Box::new(GroupRulesRecord {
                key: Some("beer".into()),
                limit: Some(7),
                moderated: true,
                external: true,
                operators: vec!["bob".into(), "carol".into()],
                voiced: vec!["carol".into()],
                bans: vec!["spam*!*@*".into()],
                allowed: vec!["friend*".into()],
                exceptions: vec!["m:pal*".into()],
                no_ctcp: true,
                secret: true,
            }),
        },
    ]
}

#[test]
fn a_groups_rules_come_back_and_follow_its_members_leaving_and_renames() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = ruled_group();
    {
        let mut store = Store::open(dir.path()).unwrap();
        store.commit(&records).unwrap();
    }
    let rules = |records: &[Record]| {
        records
            .iter()
            .find_map(|r| match r {
                Record::GroupRulesSet { rules, .. } => Some(rules.clone()),
                _ => None,
            })
            .expect("the rules are loaded")
    };
    let got = loaded(dir.path());
    assert_eq!(rules(&got), rules(&records));
    assert_eq!(replayed(&got), replayed(&records));
    assert_eq!(
        replayed(&got).group_settings[0].rules,
        "key beer limit 7 moderated external op bob op carol voice carol ban spam*!*@* allow friend* except m:pal* no-ctcp secret"
    );
    // carol leaves: no longer an operator nor voiced; bob is renamed robert.
    let more = vec![
        Record::GroupLeft {
            group: "team".into(),
            user: "carol".into(),
        },
        Record::AccountRenamed {
            from: "bob".into(),
            to: "robert".into(),
        },
    ];
    Store::open(dir.path()).unwrap().commit(&more).unwrap();
    records.extend(more);
    let got = rules(&loaded(dir.path()));
    assert_eq!(got.operators, vec![Name::from("robert")]);
    assert!(got.voiced.is_empty());
    assert_eq!(got.key.as_deref(), Some("beer"));
    // The last member goes: so do the rules.
    let gone: Vec<Record> = ["alice", "robert"]
        .into_iter()
        .map(|u| Record::GroupLeft {
            group: "team".into(),
            user: u.into(),
        })
        .collect();
    Store::open(dir.path()).unwrap().commit(&gone).unwrap();
    assert!(
        !loaded(dir.path())
            .iter()
            .any(|r| matches!(r, Record::GroupRulesSet { .. }))
    );
}
