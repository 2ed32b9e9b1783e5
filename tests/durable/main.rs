//! The durable store, through the real server binary: restarts, `kill -9` crashes, start-up errors,
//! and a store that fails while serving.

mod crash;
mod failure;
#[path = "../kit/mod.rs"]
mod kit;
mod restart;
mod startup;
