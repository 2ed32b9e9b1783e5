//! Injecting faults ([`Fault`]): drawing them from the seed at every step, taking the script's as
//! their time comes, and carrying each out, whichever way it came.

use super::Sim;
use super::fault::Fault;

impl Sim {
    /// Draws this step's faults from the seed, each carried out as it is drawn (a join depends on
    /// a kill drawn before it).
    pub(super) fn inject(&mut self) {
        if self.nodes.len() > 1 && self.chance(600) {
            let node = self.any_node();
            self.apply(Fault::Kill { node });
        }
        if self.nodes.len() < self.cfg.nodes && self.chance(3_000) {
            self.apply(Fault::Join);
        }
        if !self.nodes.is_empty() && self.chance(500) {
            let node = self.any_node();
            let ms = 1_000 + self.below(7_000);
            self.apply(Fault::Freeze { node, ms });
        }
        if !self.nodes.is_empty() && self.chance(500) {
            let node = self.any_node();
            let ms = 2_000 + self.below(6_000);
            self.apply(Fault::LeaseLapse { node, ms });
        }
        if !self.nodes.is_empty() && self.chance(300) {
            let node = self.any_node();
            let delay_ms = 500 + self.below(7_000);
            let for_ms = 1_000 + self.below(4_000);
            self.apply(Fault::SlowLink {
                node,
                delay_ms,
                for_ms,
            });
        }
        if self.chance(300) {
            let ms = 100 + self.below(6_000);
            self.apply(Fault::RedisStall { ms });
        }
        if self.chance(300) {
            let down_ms = 100 + self.below(2_000);
            let landed = self.below(8) as usize;
            self.apply(Fault::RedisRestart { down_ms, landed });
        }
    }

    /// A running node, at random.
    fn any_node(&mut self) -> u64 {
        let i = self.below(self.nodes.len() as u64) as usize;
        self.nodes[i].node().id()
    }

    /// Carries out the faults the run's script has due by now, in the script's order.
    pub(super) fn scripted(&mut self) {
        let elapsed = self.now.as_millis() - natter_core::server::harness::START.as_millis();
        while self.script.first().is_some_and(|(at, _)| *at <= elapsed) {
            let (at, fault) = self.script.remove(0);
            let named = match &fault {
                Fault::Kill { node }
                | Fault::Freeze { node, .. }
                | Fault::LeaseLapse { node, .. }
                | Fault::SlowLink { node, .. } => Some(*node),
                Fault::Join | Fault::RedisStall { .. } | Fault::RedisRestart { .. } => None,
            };
            if let Some(node) = named {
                assert!(
                    self.index_of(node).is_some(),
                    "the script's {fault:?} at {at} ms names node {node}, which is not running then"
                );
            }
            self.apply(fault);
        }
    }

    /// Carries out `fault`, now.
    pub(super) fn apply(&mut self, fault: Fault) {
        let now = self.now;
        match fault {
            Fault::Kill { node } => {
                let Some(i) = self.index_of(node) else {
                    return;
                };
                self.nodes.remove(i);
                self.report.kills += 1;
                for u in &mut self.users {
                    if u.session.is_some_and(|s| s.node == node) {
                        u.ended(false);
                    }
                }
            }
            Fault::Join => self.join(),
            Fault::Freeze { node, ms } => {
                if let Some(i) = self.index_of(node) {
                    self.nodes[i].frozen_until = now.plus_millis(ms);
                    self.report.freezes += 1;
                }
            }
            Fault::LeaseLapse { node, ms } => {
                if let Some(i) = self.index_of(node) {
                    self.nodes[i].renewals_fail_until = now.plus_millis(ms);
                    self.report.lease_lapses += 1;
                }
            }
            Fault::SlowLink {
                node,
                delay_ms,
                for_ms,
            } => {
                if let Some(i) = self.index_of(node) {
                    self.nodes[i].slow_ms = delay_ms;
                    self.nodes[i].slow_until = now.plus_millis(for_ms);
                    self.report.slow_links += 1;
                }
            }
            Fault::RedisStall { ms } => {
                self.redis.stalled_until = self.redis.stalled_until.max(now.plus_millis(ms));
                self.report.stalls += 1;
            }
            Fault::RedisRestart { down_ms, landed } => {
                self.redis.restart(now, down_ms, landed);
                self.report.redis_restarts += 1;
            }
        }
    }
}
