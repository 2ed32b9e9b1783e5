//! Model-based property test: proptest-state-machine drives the real core with random sequences of
//! connects, logins (right and wrong passwords), commands, disconnects, slow readers, restarts and clock
//! jumps, and compares every line with the reference model (`natter_sim::model`), checking the eight named
//! invariants and the persistence replay after every step. Each case ends with the liveness phase.
//!
//! Transitions are generated from the reference state (who is online, who waits for a password, which
//! private-chat requests are pending), so most of them can happen. A failure panics with the invariant, the
//! step and the concrete steps so far; proptest then shrinks the operation list and prints the shortest one
//! together with that message. `PROPTEST_CASES=N` runs more cases.

use std::fmt;

use natter_sim::clients::Clients;
use natter_sim::model::{MPhase, Model};
use natter_sim::{Cmd, Edge, Garbage, GroupRef, Op, Password, Setup, Trace, UserRef, World};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

/// The reference: the model and the clients, without the core.
#[derive(Clone)]
struct Reference(Clients);

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0.setup;
        write!(
            f,
            "{} accounts u0.., {} client slots, register: {}",
            s.accounts.len(),
            s.slots,
            s.config.register
        )
    }
}

fn setup(register: bool) -> Setup {
    let mut s = Setup::small(4, 5);
    s.config.register = register;
    s.queue_limit = 5;
    s
}

fn user(users: u16) -> BoxedStrategy<UserRef> {
    prop_oneof![
        12 => (0..users).prop_map(UserRef::Known),
        1 => Just(UserRef::Unknown),
        1 => (0u8..4).prop_map(UserRef::New),
    ]
    .boxed()
}

fn password() -> BoxedStrategy<Password> {
    prop_oneof![
        6 => Just(Password::Right),
        3 => Just(Password::Wrong),
        1 => Just(Password::Invalid),
    ]
    .boxed()
}

fn command(users: u16) -> BoxedStrategy<Cmd> {
    let u = || user(users);
    prop_oneof![
        6 => u().prop_map(Cmd::Message),
        2 => Just(Cmd::Broadcast),
        2 => Just(Cmd::WhoElse),
        3 => prop_oneof![8 => 0u8..26, 1 => Just(255u8)].prop_map(Cmd::WhoElseSince),
        3 => u().prop_map(Cmd::Block),
        2 => u().prop_map(Cmd::Unblock),
        4 => (1u16..).prop_map(Cmd::P2pPort),
        3 => u().prop_map(Cmd::StartPrivate),
        1 => u().prop_map(Cmd::Accept),
        1 => u().prop_map(Cmd::Decline),
        1 => u().prop_map(Cmd::StopPrivate),
        2 => Just(Cmd::Logout),
        1 => Just(Cmd::Help),
        1 => Just(Cmd::Active),
        4 => Just(Cmd::AckReceived),
        1 => (0u8..10).prop_map(Cmd::AckId),
        2 => (group(), u(), u()).prop_map(|(g, a, b)| Cmd::CreateGroup(g, a, b)),
        4 => group().prop_map(Cmd::MessageGroup),
        2 => (group(), u()).prop_map(|(g, a)| Cmd::GroupAdd(g, a)),
        1 => group().prop_map(Cmd::GroupLeave),
        1 => group().prop_map(Cmd::GroupMembers),
        1 => Just(Cmd::GroupList),
        2 => u().prop_map(Cmd::Ping),
        1 => Just(Cmd::WhoLastHr),
        1 => Just(Cmd::Offline),
        1 => any::<bool>().prop_map(Cmd::Receipts),
        3 => any::<bool>().prop_map(Cmd::Acks),
        2 => (0u8..3).prop_map(Cmd::KeysIdentity),
        2 => prop_oneof![9 => 1u8..21, 1 => 21u8..26].prop_map(Cmd::KeysAdd),
        1 => Just(Cmd::KeysFallback),
        3 => u().prop_map(Cmd::KeysClaim),
        1 => u().prop_map(Cmd::KeysShow),
        1 => (0u8..4).prop_map(Cmd::KeysMalformed),
        2 => (u(), 0u8..3).prop_map(|(u, k)| Cmd::MessageSealed(u, k)),
    ]
    .boxed()
}

fn group() -> BoxedStrategy<GroupRef> {
    prop_oneof![9 => (0u8..3).prop_map(GroupRef::Named), 1 => Just(GroupRef::Invalid)].boxed()
}

fn garbage() -> BoxedStrategy<Garbage> {
    select(vec![
        Garbage::InvalidUtf8,
        Garbage::ControlChar,
        Garbage::Empty,
        Garbage::Blank,
        Garbage::UnknownCommand,
        Garbage::Usage,
        Garbage::BadNumber,
        Garbage::LongWord,
    ])
    .boxed()
}

impl ReferenceStateMachine for Reference {
    type State = Reference;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Self::State> {
        any::<bool>()
            .prop_map(|register| Reference(Clients::new(setup(register))))
            .boxed()
    }

    fn transitions(state: &Self::State) -> BoxedStrategy<Op> {
        let c = &state.0;
        let users = c.model.order.len() as u16;
        let slots = c.slot_count();
        let online: Vec<u16> = (0..slots)
            .filter(|&s| matches!(c.phase(s), Some(MPhase::Online { .. })))
            .collect();
        let mut arms: Vec<(u32, BoxedStrategy<Op>)> = vec![
            (
                10,
                (0..slots, user(users), password())
                    .prop_map(|(s, u, p)| Op::Login(s, u, p))
                    .boxed(),
            ),
            (
                2,
                (0..slots, user(users))
                    .prop_map(|(s, u)| Op::Username(s, u))
                    .boxed(),
            ),
            (
                2,
                (0..slots, password())
                    .prop_map(|(s, p)| Op::Password(s, p))
                    .boxed(),
            ),
            (1, (0..slots).prop_map(Op::Connect).boxed()),
            (
                2,
                (0..slots, garbage())
                    .prop_map(|(s, g)| Op::Garbage(s, g))
                    .boxed(),
            ),
            (1, (0..slots).prop_map(Op::TooLong).boxed()),
            (3, (0..slots).prop_map(Op::Disconnect).boxed()),
            (1, (0..slots).prop_map(Op::StopReading).boxed()),
            (1, (0..slots).prop_map(Op::Read).boxed()),
            (5, (0u32..5000).prop_map(Op::Advance).boxed()),
            (2, (30_000u32..70_000).prop_map(Op::Advance).boxed()),
            (
                5,
                (0u8..4, -2i8..=2)
                    .prop_map(|(n, d)| Op::AdvanceTo(Edge::Deadline(n), d))
                    .boxed(),
            ),
            (
                3,
                (0u8..3, -2i8..=2)
                    .prop_map(|(n, d)| Op::AdvanceTo(Edge::LockEnd(n), d))
                    .boxed(),
            ),
            (
                1,
                any::<bool>()
                    .prop_map(|graceful| Op::Restart { graceful })
                    .boxed(),
            ),
        ];
        if !online.is_empty() {
            arms.push((
                30,
                (select(online.clone()), command(users))
                    .prop_map(|(s, c)| Op::Command(s, c))
                    .boxed(),
            ));
            arms.push((
                1,
                (select(online), command(users))
                    .prop_map(|(s, c)| Op::CrashDuring(s, c))
                    .boxed(),
            ));
        }
        // Answers to pending private-chat requests, from the right slot.
        let answers: Vec<Op> = answers(c);
        if !answers.is_empty() {
            arms.push((8, select(answers).boxed()));
        }
        Union::new_weighted(arms).boxed()
    }

    fn apply(mut state: Self::State, op: &Op) -> Self::State {
        let mut nothing = |_: &_, _: &Model| Ok::<(), ()>(());
        let _ = state.0.apply_op(*op, &mut nothing);
        state
    }
}

/// Accept, decline or block for each pending private-chat request, typed on the target's slot.
fn answers(c: &Clients) -> Vec<Op> {
    let mut v = Vec::new();
    for o in c.model.offers.values() {
        let Some(slot) = c.model.user(&o.to).conn.and_then(|conn| c.slot_of(conn)) else {
            continue;
        };
        let Some(i) = c.model.order.iter().position(|n| *n == o.from) else {
            continue;
        };
        let who = UserRef::Known(i as u16);
        v.extend([
            Op::Command(slot, Cmd::Accept(who)),
            Op::Command(slot, Cmd::Decline(who)),
            Op::Command(slot, Cmd::Block(who)),
        ]);
    }
    v
}

struct CoreVsModel;

fn check(world: &World, result: Result<(), natter_sim::Failure>) {
    if let Err(f) = result {
        panic!("{f}\nconcrete steps:\n{}", Trace(world.trace()));
    }
}

impl StateMachineTest for CoreVsModel {
    type SystemUnderTest = World;
    type Reference = Reference;

    fn init_test(reference: &Reference) -> World {
        World::new(reference.0.setup.clone())
    }

    fn apply(mut world: World, _reference: &Reference, op: Op) -> World {
        let result = world.apply_op(op);
        check(&world, result);
        world
    }

    /// Every case ends with the liveness phase: all deadlines pass, every account logs in and
    /// acknowledges, and every stored message must have been delivered.
    fn teardown(mut world: World, _reference: Reference) {
        let result = world.liveness();
        check(&world, result);
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        // `PROPTEST_CASES=N` runs more (an explicit `cases` would otherwise override it).
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        max_shrink_iters: 20_000,
        .. ProptestConfig::default()
    })]
    #[test]
    fn core_matches_the_model_and_keeps_every_invariant(sequential 1..80 => CoreVsModel);
}
