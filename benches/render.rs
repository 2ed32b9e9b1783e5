//! How fast the server turns its replies into bytes: every line it sends goes through `render_into`,
//! into a buffer the driver reuses. Prints nanoseconds and heap allocations per line for the lines a
//! busy server sends most, and for an error (whose text is the longest to build).
//!
//! `cargo bench --bench render`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use natter_core::protocol::{ErrorReply, Name, ServerMsg, render_into};

/// Counts allocations, to show that rendering into a reused buffer makes none.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const ROUNDS: u32 = 2_000_000;

fn main() {
    let n = |s: &str| Name::from(s);
    let lines = [
        (
            "MSG",
            ServerMsg::Message {
                id: 123_456,
                sent_at: natter_core::time::Timestamp(1_700_000_000_123),
                from: n("alice"),
                text: "the quick brown fox jumps over the lazy dog, twice over".into(),
            },
        ),
        (
            "PRESENCE",
            ServerMsg::Presence {
                user: n("bob"),
                online: true,
            },
        ),
        (
            "GROUP-MSG",
            ServerMsg::GroupMessage {
                id: 123_457,
                sent_at: natter_core::time::Timestamp(1_700_000_000_124),
                group: n("crew"),
                from: n("alice"),
                text: "standup moved to 10:30".into(),
            },
        ),
        (
            "DELIVERED",
            ServerMsg::Delivered {
                id: 123_456,
                to: n("bob"),
            },
        ),
        (
            "STORED",
            ServerMsg::Stored {
                id: 123_456,
                to: n("carol"),
            },
        ),
        (
            "ERROR slow-down",
            ServerMsg::Error(ErrorReply::SlowDown { per_sec: 20 }),
        ),
    ];
    let mut scratch = Vec::with_capacity(1024);
    println!("{:<16} {:>10} {:>14}", "line", "ns/line", "allocs/line");
    for (name, msg) in &lines {
        // Warm up (and size the buffer once).
        for _ in 0..10_000 {
            scratch.clear();
            render_into(msg, &mut scratch);
        }
        let allocs = ALLOCATIONS.load(Ordering::Relaxed);
        let start = Instant::now();
        for _ in 0..ROUNDS {
            scratch.clear();
            render_into(std::hint::black_box(msg), &mut scratch);
            std::hint::black_box(&scratch);
        }
        let ns = start.elapsed().as_nanos() as f64 / f64::from(ROUNDS);
        let per_line = (ALLOCATIONS.load(Ordering::Relaxed) - allocs) as f64 / f64::from(ROUNDS);
        println!("{name:<16} {ns:>10.1} {per_line:>14.2}");
    }
}
