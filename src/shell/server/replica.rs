//! A cluster node's engine: the pure [`Node`] (`server::node`), which decides everything, and the
//! channels to the cluster's tasks (`cluster_node`), which carry out what it says.
//!
//! The node's own connections' events, and the log's entries the reader brings, are handed to the node;
//! what it asks for is carried out here, unchanged: effects for its connections go to the driver's
//! outbox (as on a server alone), a refusal is `BYE reason` and a close, a held gate holds the
//! connection's reader, a snapshot goes to the task that stores it, and so does a trim; an ask for the
//! latest snapshot goes to the reader. Its appends go to the appender once per turn of the driver (at
//! its end, when the driver lets time pass), so that what the node's connections did in one turn is
//! one entry of the log. The fenced flag and the position go to the appender and the lease thread.

use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_lite::FutureExt;

use super::Shared;
use super::cluster_node::{Link, Taken};
use super::engine::{Engine, News};
use natter_core::protocol::ServerMsg;
use natter_core::server::node::{Node, ReadHold, Refusal};
use natter_core::server::{Effect, Event, Record};
use natter_core::time::Timestamp;

pub(super) struct Replicated {
    node: Node,
    link: Link,
    shared: Rc<Shared>,
    /// Where each live node last said it was in the log (for the metrics).
    positions: Vec<(u64, u64)>,
}

impl Replicated {
    pub(super) fn new(node: Node, link: Link, shared: Rc<Shared>) -> Self {
        Replicated {
            node,
            link,
            shared,
            positions: Vec::new(),
        }
    }

    /// Hands the appender what the node has to append: the end of a turn.
    fn append(&mut self) {
        while let Some(entry) = self.node.poll_append() {
            let _ = self.link.append.try_send(entry);
        }
    }

    /// Carries out everything the node asked for since the last call, but its appends.
    fn carry_out(&mut self, out: &mut Vec<Effect>) {
        self.link.fenced.set(self.node.fenced());
        self.link
            .applied
            .store(self.node.position(), Ordering::Relaxed);
        out.extend(std::iter::from_fn(|| self.node.poll_effect()));
        while let Some(Refusal { conn, reason }) = self.node.poll_refusal() {
            out.push(Effect::Send {
                to: conn,
                msg: ServerMsg::Bye(reason),
            });
            out.push(Effect::Close { conn });
        }
        while let Some(ReadHold { conn, held }) = self.node.poll_read_hold() {
            if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
                io.gated = held;
                if !held {
                    io.resume.notify(usize::MAX);
                }
            }
        }
        while let Some(keep_from) = self.node.poll_trim() {
            let _ = self.link.trims.try_send(keep_from);
        }
        if self.node.poll_snapshot_wanted() {
            // One ask waiting is enough: the reader fetches the latest snapshot when it comes to it.
            let _ = self.link.fetch_snapshot.try_send(());
        }
        // Timed only when one is taken: this runs for every event.
        let started = self.node.snapshot_due().then(Instant::now);
        if let Some(snapshot) = self.node.poll_snapshot()
            && let Some(started) = started
        {
            // The previous one still being stored: this one is skipped, the next comes soon enough.
            let _ = self.link.snapshots.try_send(Taken {
                position: snapshot.position,
                bytes: snapshot.bytes,
                encoding: started.elapsed(),
            });
        }
    }
}

impl Engine for Replicated {
    fn handle(&mut self, event: Event<'_>, now: Timestamp, out: &mut Vec<Effect>) {
        self.node.handle(event, now);
        self.carry_out(out);
    }

    fn news(&mut self, news: News, now: Timestamp, out: &mut Vec<Effect>) {
        match news {
            News::Logged(entry) => self.node.handle_entry(&entry, now),
            News::Restart(bytes) => self.node.restart(&bytes, now),
            News::Renewed { sent, was } => self.node.lease_renewed(sent, was, now),
            News::Members {
                highest,
                live,
                applied,
            } => {
                self.node.members(highest, &live, now);
                self.node.positions(&applied);
                self.positions = applied;
            }
            News::SnapshotStored { position } => self.node.snapshot_stored(position),
        }
        self.carry_out(out);
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        self.node.poll_timeout()
    }

    /// The end of the driver's turn, too: what the node's connections did in it goes to the log as
    /// one entry.
    fn handle_timeout(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        self.node.handle_timeout(now);
        self.carry_out(out);
        self.append();
    }

    fn failed(&mut self) -> Option<String> {
        self.node.lost().map(str::to_owned)
    }

    fn core(&self) -> &natter_core::server::ServerState {
        self.node.core()
    }

    fn serving(&self) -> bool {
        !self.node.fenced() && !self.node.behind()
    }

    fn log_lag(&self) -> Vec<(u64, u64)> {
        let here = self.node.position();
        self.positions
            .iter()
            .map(|&(node, at)| (node, here.saturating_sub(at)))
            .collect()
    }

    fn node(&self) -> u64 {
        self.node.id()
    }

    fn poll_logged_record(&mut self) -> Option<(Record, Option<std::net::SocketAddr>)> {
        self.node.poll_record()
    }

    async fn settle(&mut self, grace: Duration) {
        // The session ends of the shutdown, fed since the last turn.
        self.append();
        let append = &self.link.append;
        let appended = async {
            while !append.is_empty() {
                smol::Timer::after(Duration::from_millis(10)).await;
            }
            // The last batch taken from the queue is on its way to Redis.
            smol::Timer::after(Duration::from_millis(100)).await;
        };
        appended
            .or(async {
                smol::Timer::after(grace).await;
            })
            .await;
    }
}
