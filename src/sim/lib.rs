//! Verification kit: a reference model of natter's rules, its named invariants, and a deterministic
//! simulator that runs the real core against both.
//!
//! It lives in the library (not under `tests/`) because three drivers share it: the proptest state-machine
//! test (`tests/model.rs`), the seeded simulator (`tests/sim.rs`, `just sim`), and the cargo-fuzz targets
//! (`fuzz/`), which can only reach library code. Nothing in it is used by the server or the client.
//!
//! - [`step`]: what clients and the runtime do, as intentions ([`Op`]) and concrete, replayable [`Step`]s.
//! - [`model`]: the reference model, written independently of [`natter_core::server::ServerState`].
//! - [`clients`]: the simulated clients and the model, without the core (proptest's reference state).
//! - [`invariants`]: the named invariants, checked on what the core actually sent.
//! - [`world`]: the core and the model side by side, compared after every step.
//! - [`generate`]: seeded random intentions for the simulator.
//! - [`replicas`]: more copies of the core fed the primary's log must make the same effects.
//! - [`cluster`]: several cluster nodes on a simulated Redis, under node death, freezes, lease lapses,
//!   Redis stalls and restarts, late joiners and trims.
//! - [`irc`]: the seeded IRC simulator: IRC clients beside natter clients on one core, checked
//!   against the model's delivery and block rules.
//! - [`run`]: one simulated run per seed, failure shrinking and replay.
//! - [`fuzz`]: the bodies of the fuzz targets, shared with the corpus-replay test.

pub mod clients;
pub mod cluster;
pub mod fuzz;
pub mod generate;
pub mod invariants;
pub mod irc;
pub mod model;
pub mod replicas;
pub mod run;
pub mod step;
pub mod world;

pub use clients::{Clients, Setup};
pub use invariants::Violation;
pub use step::{AdminOp, Cmd, Edge, Garbage, GroupRef, Op, Password, Step, Trace, UserRef};
pub use world::{Failure, World};
