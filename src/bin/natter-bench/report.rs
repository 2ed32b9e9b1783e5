//! Figures: one run's report (text or `--json`), and the comparison table of several runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::engine::{FAULT_KINDS, Outcome, Shared};
use crate::workload::Workload;

/// The message text size `run` uses unless told (`--size`): a case with another says so.
pub const DEFAULT_SIZE: usize = 48;

/// Latency percentiles, in milliseconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Option<Latency> {
        let ms = |ns: u64| ns as f64 / 1e6;
        (!h.is_empty()).then(|| Latency {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.5)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1e6,
        })
    }
}

/// One run, as printed and as `--json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// Which server (`--label`, e.g. natter, ngircd, inspircd).
    pub label: String,
    pub workload: String,
    pub proto: String,
    /// The parameters that make two runs comparable, in words (the table's row key).
    pub case: String,
    /// `closed` (fixed window in flight), `open` (fixed offered rate), `churn` (`login`), `none` (`idle`).
    pub mode: String,
    pub users: u32,
    pub senders: u32,
    pub messages: u32,
    pub window: u32,
    pub size: usize,
    pub rate_offered: Option<f64>,
    pub threads: usize,
    pub sent: u64,
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    /// The measured phase, seconds.
    pub elapsed_s: f64,
    /// The headline: deliveries/s (`direct`, `fanout`), stored/s (`offline`), cycles/s (`login`),
    /// answers/s (`history`).
    pub per_sec: f64,
    /// `offline`: stored messages delivered per second once their recipients logged in.
    pub deliver_per_sec: Option<f64>,
    /// Delivery latency (`offline`: until `STORED`; `login`: a whole cycle; `history`: query to answer).
    pub latency: Option<Latency>,
    /// Seconds to connect and log in the users online from the start.
    pub setup_s: f64,
    /// Connections logged in during setup.
    pub connections: u64,
    pub server_pid: Option<u32>,
    /// Server CPU seconds (user + system) during the measured phase.
    pub server_cpu_s: Option<f64>,
    /// Server CPU microseconds per delivery (or per cycle).
    pub server_cpu_us_per_op: Option<f64>,
    pub server_rss_kib: Option<u64>,
    /// Peak server RSS during the measured phase (the whole life where the peak cannot be reset).
    pub server_peak_rss_kib: Option<u64>,
    /// `idle`: server RSS growth per logged-in connection, KiB.
    pub idle_kib_per_conn: Option<f64>,
    /// The generator's own CPU seconds during the measured phase.
    pub gen_cpu_s: f64,
    /// Server and generator CPU microseconds per delivery (or per cycle), together. On loopback each
    /// end's kernel does part of the other's TCP work (a segment is received in the system call
    /// that sends it, a held segment leaves in the one that acknowledges it), so a socket option
    /// can move CPU from the server's account to the generator's without saving any: this sum is
    /// what says whether it saved. (Absent in reports written before it was added.)
    #[serde(default)]
    pub both_cpu_us_per_op: Option<f64>,
    pub faults: BTreeMap<String, u64>,
    pub fault_examples: Vec<String>,
    pub incomplete: Option<String>,
    /// The one-minute load average when the run ended.
    pub load_avg: Option<f64>,
    pub ok: bool,
}

impl Report {
    pub fn new(sh: &Shared, o: &Outcome, label: &str, threads: usize) -> Report {
        let plan = &sh.plan;
        let mode = match (plan.workload, plan.rate) {
            (Workload::Idle, _) => "none",
            (Workload::Login, _) => "churn",
            (_, Some(_)) => "open",
            (_, None) => "closed",
        };
        let mut case = match plan.workload {
            Workload::Direct => match plan.rate {
                Some(r) => format!("direct {} users @ {:.0}/s", plan.users, r),
                None => format!("direct {} users, {} in flight", plan.users, plan.window),
            },
            Workload::Fanout => match plan.rate {
                Some(r) => format!(
                    "fanout {} senders → {} users @ {:.0}/s",
                    plan.senders, plan.users, r
                ),
                None => format!(
                    "fanout {} senders → {} users, {} in flight",
                    plan.senders, plan.users, plan.window
                ),
            },
            Workload::Group => match plan.rate {
                Some(r) => format!(
                    "group {} senders → {} members @ {:.0}/s",
                    plan.senders, plan.users, r
                ),
                None => format!(
                    "group {} senders → {} members, {} in flight",
                    plan.senders, plan.users, plan.window
                ),
            },
            Workload::Idle => format!("idle {} connections", plan.users),
            // The same case over plain text and TLS: the label (natter, natter-tls) tells them apart.
            Workload::Login if plan.handshake_only => {
                format!("connect (+ TLS handshake), {} in flight", plan.concurrency)
            }
            Workload::Login => format!(
                "login churn, {} in flight, {} online",
                plan.concurrency, plan.idle_users
            ),
            Workload::Offline => format!(
                "offline {} senders → {} offline users",
                plan.users, plan.recipients
            ),
            Workload::History => format!(
                "whoelsesince 0, {} online, {} past sessions",
                plan.users, plan.history
            ),
        };
        if plan.acks {
            case.push_str(", acks on");
        }
        if plan.size != DEFAULT_SIZE
            && plan.sender_count() > 0
            && plan.workload != Workload::History
        {
            case.push_str(&format!(", {}-byte texts", plan.size));
        }
        let ops = match plan.workload {
            Workload::Direct | Workload::Fanout | Workload::Group => o.delivered,
            Workload::Offline | Workload::History => o.accepted,
            Workload::Login => o.cycles,
            Workload::Idle => 0,
        };
        let per_sec = if o.measure_secs > 0.0 {
            ops as f64 / o.measure_secs
        } else {
            0.0
        };
        let server_cpu_s = match (o.server_start, o.server_end) {
            (Some(a), Some(b)) if plan.workload != Workload::Idle => Some(b.cpu_secs - a.cpu_secs),
            _ => None,
        };
        let gen_cpu_s = o.gen_end.cpu_secs - o.gen_start.cpu_secs;
        let idle_kib_per_conn = match (plan.workload, o.server_idle, o.server_ready) {
            (Workload::Idle, Some(a), Some(b)) if o.ready > 0 => {
                Some((b.rss_kib as f64 - a.rss_kib as f64) / o.ready as f64)
            }
            _ => None,
        };
        let faults: BTreeMap<String, u64> = FAULT_KINDS
            .iter()
            .map(|k| (k.name().to_owned(), sh.faults.count(*k)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let ok = faults.is_empty() && o.lost == 0 && o.incomplete.is_none();
        Report {
            label: label.to_owned(),
            // Connections alone are their own row in the table, not logins.
            workload: if plan.handshake_only {
                "connect".to_owned()
            } else {
                plan.workload.name().to_owned()
            },
            proto: format!(
                "{}{}",
                format!("{:?}", plan.proto).to_lowercase(),
                if plan.tls { "+tls" } else { "" }
            ),
            case,
            mode: mode.to_owned(),
            users: plan.users,
            senders: plan.sender_count(),
            messages: plan.messages,
            window: plan.window,
            size: plan.size,
            rate_offered: plan.rate,
            threads,
            sent: o.sent,
            expected: plan.expected_deliveries(),
            delivered: o.delivered,
            lost: o.lost,
            elapsed_s: o.measure_secs,
            per_sec,
            deliver_per_sec: o
                .deliver_secs
                .filter(|s| *s > 0.0)
                .map(|s| o.delivered as f64 / s),
            latency: Latency::of(&o.latency),
            setup_s: o.setup_secs,
            connections: o.ready,
            server_pid: None,
            server_cpu_s,
            server_cpu_us_per_op: server_cpu_s
                .filter(|_| ops > 0)
                .map(|s| s * 1e6 / ops as f64),
            server_rss_kib: o.server_end.map(|s| s.rss_kib),
            server_peak_rss_kib: o.server_end.map(|s| s.hwm_kib),
            idle_kib_per_conn,
            gen_cpu_s,
            both_cpu_us_per_op: server_cpu_s
                .filter(|_| ops > 0)
                .map(|s| (s + gen_cpu_s) * 1e6 / ops as f64),
            faults,
            fault_examples: sh.faults.examples(),
            incomplete: o.incomplete.clone(),
            load_avg: crate::procstat::load_average(),
            ok,
        }
    }

    /// A few lines for a person.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} [{}] {} ({}, {} generator threads)",
            self.label,
            self.proto,
            self.case,
            match self.mode.as_str() {
                "closed" => "closed loop",
                "open" => "open loop",
                "churn" => "churn",
                _ => "no messages",
            },
            self.threads
        );
        let unit = match self.workload.as_str() {
            "offline" => "stored/s",
            "history" => "queries/s",
            "login" => "logins/s",
            "connect" => "connections/s",
            _ => "deliveries/s",
        };
        if self.workload != "idle" {
            let _ = writeln!(
                s,
                "  {} {unit} over {:.2} s; sent {}, delivered {} of {} expected, lost {}",
                fmt_num(self.per_sec),
                self.elapsed_s,
                self.sent,
                self.delivered,
                self.expected,
                self.lost
            );
        }
        if let Some(d) = self.deliver_per_sec {
            let _ = writeln!(s, "  delivered at login: {} msgs/s", fmt_num(d));
        }
        if let Some(l) = &self.latency {
            let _ = writeln!(
                s,
                "  latency ms: p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  mean {:.3}  ({} samples)",
                l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms, l.mean_ms, l.count
            );
        }
        let _ = writeln!(
            s,
            "  setup: {} connections logged in in {:.2} s",
            self.connections, self.setup_s
        );
        if let Some(cpu) = self.server_cpu_s {
            let _ = write!(s, "  server: {cpu:.2} CPU s");
            if let Some(us) = self.server_cpu_us_per_op {
                let _ = write!(s, " ({us:.2} µs per op)");
            }
            let _ = writeln!(s);
        }
        if let (Some(rss), Some(peak)) = (self.server_rss_kib, self.server_peak_rss_kib) {
            let _ = writeln!(s, "  server RSS: {rss} KiB now, peak {peak} KiB");
        }
        if let Some(k) = self.idle_kib_per_conn {
            let _ = writeln!(s, "  server memory per idle connection: {k:.2} KiB");
        }
        let _ = write!(s, "  generator: {:.2} CPU s", self.gen_cpu_s);
        if let Some(us) = self.both_cpu_us_per_op {
            let _ = write!(s, " (with the server's, {us:.2} µs per op)");
        }
        let _ = writeln!(
            s,
            "; load average {}",
            self.load_avg.map_or("?".into(), |l| format!("{l:.2}"))
        );
        if let Some(why) = &self.incomplete {
            let _ = writeln!(s, "  INCOMPLETE: {why}");
        }
        for (k, n) in &self.faults {
            let _ = writeln!(s, "  FAULT {k}: {n}");
        }
        for e in &self.fault_examples {
            let _ = writeln!(s, "    e.g. {e}");
        }
        let _ = writeln!(s, "  {}", if self.ok { "verified: OK" } else { "FAILED" });
        s
    }
}

/// `1234567.8` → `1,234,568`.
pub fn fmt_num(x: f64) -> String {
    let n = x.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Which way a figure is better.
#[derive(Clone, Copy)]
enum Better {
    Higher,
    Lower,
}

impl Better {
    /// The better of the best so far and `v`.
    fn pick(&self, best: Option<f64>, v: f64) -> f64 {
        match (best, self) {
            (None, _) => v,
            (Some(b), Better::Higher) => b.max(v),
            (Some(b), Better::Lower) => b.min(v),
        }
    }
}

struct Figure {
    name: &'static str,
    better: Better,
    get: fn(&Report) -> Option<f64>,
    fmt: fn(f64) -> String,
}

fn fig(
    name: &'static str,
    better: Better,
    get: fn(&Report) -> Option<f64>,
    fmt: fn(f64) -> String,
) -> Figure {
    Figure {
        name,
        better,
        get,
        fmt,
    }
}

fn two_places(x: f64) -> String {
    format!("{x:.2}")
}

/// The rows of the table for one workload.
fn figures(workload: &str) -> Vec<Figure> {
    use Better::{Higher, Lower};
    let rate_name = match workload {
        "login" => "logins/s",
        "connect" => "connections/s",
        "offline" => "stored/s",
        "history" => "queries/s",
        _ => "deliveries/s",
    };
    let rate = fig(
        rate_name,
        Higher,
        |r| Some(r.per_sec).filter(|x| *x > 0.0),
        fmt_num,
    );
    let p50 = fig(
        "p50 ms",
        Lower,
        |r| r.latency.as_ref().map(|l| l.p50_ms),
        two_places,
    );
    let p99 = fig(
        "p99 ms",
        Lower,
        |r| r.latency.as_ref().map(|l| l.p99_ms),
        two_places,
    );
    let p999 = fig(
        "p99.9 ms",
        Lower,
        |r| r.latency.as_ref().map(|l| l.p999_ms),
        two_places,
    );
    let cpu = fig(
        "server CPU µs/op",
        Lower,
        |r| r.server_cpu_us_per_op,
        two_places,
    );
    let peak = fig(
        "server peak RSS MiB",
        Lower,
        |r| r.server_peak_rss_kib.map(|k| k as f64 / 1024.0),
        |x| format!("{x:.1}"),
    );
    let per_cpu = fig(
        "per server CPU-s",
        Higher,
        |r| {
            r.server_cpu_us_per_op
                .filter(|us| *us > 0.0)
                .map(|us| 1e6 / us)
        },
        fmt_num,
    );
    let gen_cpu = fig("generator CPU s", Lower, |r| Some(r.gen_cpu_s), two_places);
    let both_cpu = fig(
        "server + generator CPU µs/op",
        Lower,
        |r| r.both_cpu_us_per_op,
        two_places,
    );
    match workload {
        "idle" => vec![
            fig(
                "KiB per connection",
                Lower,
                |r| r.idle_kib_per_conn,
                two_places,
            ),
            fig(
                "connections",
                Higher,
                |r| Some(r.connections as f64),
                fmt_num,
            ),
            fig("setup s", Lower, |r| Some(r.setup_s), two_places),
        ],
        "offline" => vec![
            rate,
            fig(
                "delivered at login/s",
                Higher,
                |r| r.deliver_per_sec,
                fmt_num,
            ),
            p50,
            p99,
            cpu,
            per_cpu,
            peak,
        ],
        _ => vec![rate, p50, p99, p999, cpu, per_cpu, peak, gen_cpu, both_cpu],
    }
}

/// The comparison table (Markdown) of several runs: one row per case and figure, one column per server
/// (the median of its runs of that case, when a case was run more than once),
/// and natter's figure divided by the better peer's. A run labelled `natter-base` (an earlier build of
/// natter, measured in the same run) is not a peer: it gets a column of its own, natter ÷ natter-base;
/// nor is `natter-tls` (natter's secure default, against the plain-text runs labelled `natter`): its
/// columns are natter-tls ÷ natter, the cost of security, and natter-tls ÷ the better of the peers
/// measured over TLS (labels ending in `-tls`). Nor are `relay` and `relay-tls`, the do-nothing relay
/// (`natter-bench relay`) in plain text and over TLS: the limit, not a competitor (nor `relay-nagle`,
/// the relay with Nagle's algorithm on, shown in a column of its own and in no ratio). Their columns are
/// natter ÷ relay and natter-tls ÷ relay-tls, the fraction of the limit natter reaches (per second,
/// per server CPU-second; for memory and latency, how many times the relay's natter needs). Nor is
/// `natter-nagle` (natter with `--nagle`, Nagle's algorithm left on as the IRC peers leave it): its
/// column is natter-nagle ÷ the better peer, the comparison with the same socket option on both
/// sides (natter's default sets `TCP_NODELAY`, which on loopback moves CPU onto the server's
/// account that Nagle's algorithm moves onto the clients').
pub fn table(reports: &[Report]) -> String {
    let mut labels: Vec<&str> = Vec::new();
    for r in reports {
        if !labels.contains(&r.label.as_str()) {
            labels.push(&r.label);
        }
    }
    let mut cases: Vec<(&str, &str)> = Vec::new();
    for r in reports {
        if !cases.contains(&(r.workload.as_str(), r.case.as_str())) {
            cases.push((&r.workload, &r.case));
        }
    }
    let mut s = String::new();
    let _ = write!(s, "| case | figure |");
    for l in &labels {
        let _ = write!(s, " {l} |");
    }
    let with_base = labels.contains(&BASE);
    let with_tls = labels.contains(&TLS);
    let with_tls_peers = labels.iter().any(|l| is_tls_peer(l));
    let with_relay = labels.contains(&RELAY);
    let with_relay_tls = with_tls && labels.contains(&RELAY_TLS);
    let with_nagle = labels.contains(&NATTER_NAGLE);
    let mut extra = Vec::new();
    if with_base {
        extra.push("natter ÷ natter-base");
    }
    if with_tls {
        extra.push("natter-tls ÷ natter");
    }
    if with_tls && with_tls_peers {
        extra.push("natter-tls ÷ best TLS peer");
    }
    if with_relay {
        extra.push("natter ÷ relay");
    }
    if with_relay_tls {
        extra.push("natter-tls ÷ relay-tls");
    }
    if with_nagle {
        extra.push("natter-nagle ÷ best peer");
    }
    let _ = write!(s, " natter ÷ best peer |");
    for e in &extra {
        let _ = write!(s, " {e} |");
    }
    let _ = writeln!(s);
    let _ = write!(s, "|---|---|");
    for _ in &labels {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s, "---:|{}", "---:|".repeat(extra.len()));
    for &(workload, case) in &cases {
        let runs: Vec<Vec<&Report>> = labels
            .iter()
            .map(|l| {
                reports
                    .iter()
                    .filter(|r| r.label == *l && r.case == case)
                    .collect()
            })
            .collect();
        for (i, fig) in figures(workload).iter().enumerate() {
            let _ = write!(s, "| {} | {} |", if i == 0 { case } else { "" }, fig.name);
            let mut ours = None;
            let mut base = None;
            let mut tls = None;
            let mut relay = None;
            let mut relay_tls = None;
            let mut nagle = None;
            let mut best: Option<f64> = None;
            let mut best_tls: Option<f64> = None;
            for (l, run) in labels.iter().zip(&runs) {
                let failed = run.iter().filter(|r| !r.ok).count();
                let figure = median(run.iter().filter(|r| r.ok).filter_map(|r| (fig.get)(r)));
                let cell = match (run.last(), figure) {
                    (None, _) => "n/a".to_string(),
                    // Every run of this server failed: its last figure, marked.
                    (Some(r), None) if failed > 0 => match (fig.get)(r) {
                        Some(v) => format!("{} (failed)", (fig.fmt)(v)),
                        None => "failed".into(),
                    },
                    (Some(_), figure) => match figure {
                        Some(v) => {
                            if *l == "natter" {
                                ours = Some(v);
                            } else if *l == BASE {
                                base = Some(v);
                            } else if *l == TLS {
                                tls = Some(v);
                            } else if *l == RELAY {
                                relay = Some(v);
                            } else if *l == RELAY_TLS {
                                relay_tls = Some(v);
                            } else if *l == NATTER_NAGLE {
                                nagle = Some(v);
                            } else if *l == RELAY_NAGLE {
                                // A reference column only: neither the limit nor a peer.
                            } else if is_tls_peer(l) {
                                best_tls = Some(fig.better.pick(best_tls, v));
                            } else {
                                best = Some(fig.better.pick(best, v));
                            }
                            if failed > 0 {
                                format!("{} ({failed} of {} failed)", (fig.fmt)(v), run.len())
                            } else {
                                (fig.fmt)(v)
                            }
                        }
                        None => "–".into(),
                    },
                };
                let _ = write!(s, " {cell} |");
            }
            let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
                _ => "–".into(),
            };
            let _ = write!(s, " {} |", ratio(ours, best));
            if with_base {
                let _ = write!(s, " {} |", ratio(ours, base));
            }
            if with_tls {
                let _ = write!(s, " {} |", ratio(tls, ours));
            }
            if with_tls && with_tls_peers {
                let _ = write!(s, " {} |", ratio(tls, best_tls));
            }
            if with_relay {
                let _ = write!(s, " {} |", ratio(ours, relay));
            }
            if with_relay_tls {
                let _ = write!(s, " {} |", ratio(tls, relay_tls));
            }
            if with_nagle {
                let _ = write!(s, " {} |", ratio(nagle, best));
            }
            let _ = writeln!(s);
        }
    }
    let most = labels
        .iter()
        .flat_map(|l| {
            cases.iter().map(move |(_, c)| {
                reports
                    .iter()
                    .filter(|r| r.label == *l && r.case == *c)
                    .count()
            })
        })
        .max()
        .unwrap_or(0);
    if most > 1 {
        let _ = writeln!(
            s,
            "\nEach cell is the median of that server's runs of that case (up to {most} each, \
             interleaved with the other servers'); the ratios are of the medians. A run that failed \
             counts as a failure, never as a figure."
        );
    }
    s
}

/// The median of some figures (the mean of the middle two when there is an even number), or none.
/// One run out of three caught by a noisy neighbour then moves a figure no more than the other two
/// disagree, where a mean would carry it whole.
fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// The label of an earlier natter build measured beside the current one.
const BASE: &str = "natter-base";
/// The label of natter measured over TLS, beside its plain-text runs.
const TLS: &str = "natter-tls";

/// The do-nothing relay, in plain text and over TLS: the limit natter is measured against.
const RELAY: &str = "relay";
const RELAY_TLS: &str = "relay-tls";
/// The relay with Nagle's algorithm left on, as the peers leave it: shown beside the others, in no
/// ratio, so a run shows what that socket option alone does to the server's CPU, to both ends' and
/// to latency.
const RELAY_NAGLE: &str = "relay-nagle";
/// natter with Nagle's algorithm left on (`--nagle`), as the peers leave it: compared with the peers
/// in a column of its own, the like-for-like beside natter's default.
const NATTER_NAGLE: &str = "natter-nagle";

/// A peer measured over TLS (`ngircd-tls`, `inspircd-tls`): compared with natter-tls, not natter.
fn is_tls_peer(label: &str) -> bool {
    label != TLS && label != RELAY_TLS && label.ends_with("-tls")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(label: &str, per_sec: f64, us_per_op: f64) -> Report {
        Report {
            label: label.into(),
            workload: "direct".into(),
            proto: "natter".into(),
            case: "direct 2 users, 1 in flight".into(),
            mode: "closed".into(),
            users: 2,
            senders: 2,
            messages: 1,
            window: 1,
            size: 48,
            rate_offered: None,
            threads: 1,
            sent: 2,
            expected: 2,
            delivered: 2,
            lost: 0,
            elapsed_s: 1.0,
            per_sec,
            deliver_per_sec: None,
            latency: None,
            setup_s: 0.0,
            connections: 2,
            server_pid: None,
            server_cpu_s: Some(1.0),
            server_cpu_us_per_op: Some(us_per_op),
            server_rss_kib: None,
            server_peak_rss_kib: None,
            idle_kib_per_conn: None,
            gen_cpu_s: 0.0,
            both_cpu_us_per_op: None,
            faults: BTreeMap::new(),
            fault_examples: Vec::new(),
            incomplete: None,
            load_avg: None,
            ok: true,
        }
    }

    /// The row of `figure` in a table, split into its cells.
    fn row<'a>(table: &'a str, figure: &str) -> Vec<&'a str> {
        let line = table
            .lines()
            .find(|l| l.split('|').nth(2).map(str::trim) == Some(figure))
            .unwrap_or_else(|| panic!("no {figure} row in:\n{table}"));
        line.split('|').map(str::trim).collect()
    }

    #[test]
    fn the_relay_is_the_limit_not_a_peer() {
        let t = table(&[
            run("natter", 800.0, 2.0),
            run("ngircd", 400.0, 4.0),
            run("relay", 1000.0, 1.0),
            run("natter-tls", 500.0, 4.0),
            run("relay-tls", 1000.0, 2.0),
            run("relay-nagle", 9000.0, 0.5),
        ]);
        assert!(t.lines().next().unwrap().ends_with(
            "| natter ÷ best peer | natter-tls ÷ natter | natter ÷ relay | natter-tls ÷ relay-tls |"
        ));
        // case, figure, natter, ngircd, relay, natter-tls, relay-tls, relay-nagle, then the ratios:
        // relay-nagle is in none (natter against ngircd, not against the faster relay-nagle).
        let rate = row(&t, "deliveries/s");
        assert_eq!(rate[9..13], ["2.00x", "0.62x", "0.80x", "0.50x"]);
        let per_cpu = row(&t, "per server CPU-s");
        assert_eq!(
            per_cpu[3..9],
            [
                "500,000",
                "250,000",
                "1,000,000",
                "250,000",
                "500,000",
                "2,000,000"
            ]
        );
        assert_eq!(per_cpu[9..13], ["2.00x", "0.50x", "0.50x", "0.50x"]);
    }

    /// Both ends' CPU is a row of its own, lower being better as for the server's alone; a report
    /// written before the figure existed reads back without it, and shows as no figure.
    #[test]
    fn natter_with_nagle_is_compared_with_the_peers_in_a_column_of_its_own() {
        let t = table(&[
            run("natter", 800.0, 2.0),
            run("inspircd", 400.0, 1.6),
            run("natter-nagle", 700.0, 1.25),
            run("relay", 1000.0, 1.0),
        ]);
        assert!(
            t.lines()
                .next()
                .unwrap()
                .ends_with("| natter ÷ best peer | natter ÷ relay | natter-nagle ÷ best peer |")
        );
        // case, figure, natter, inspircd, natter-nagle, relay, then the ratios: natter-nagle is
        // not the best peer natter is compared with (InspIRCd is), and has its own.
        let per_cpu = row(&t, "per server CPU-s");
        assert_eq!(
            per_cpu[3..7],
            ["500,000", "625,000", "800,000", "1,000,000"]
        );
        assert_eq!(per_cpu[7..10], ["0.80x", "0.50x", "1.28x"]);
        let rate = row(&t, "deliveries/s");
        assert_eq!(rate[7..10], ["2.00x", "0.80x", "1.75x"]);
    }

    #[test]
    fn both_ends_cpu_is_a_row_of_its_own() {
        let mut natter = run("natter", 800.0, 2.0);
        natter.both_cpu_us_per_op = Some(5.0);
        let mut ngircd = run("ngircd", 400.0, 4.0);
        ngircd.both_cpu_us_per_op = Some(10.0);
        let mut json = serde_json::to_value(run("inspircd", 300.0, 5.0)).unwrap();
        json.as_object_mut().unwrap().remove("both_cpu_us_per_op");
        let older: Report = serde_json::from_value(json).unwrap();
        assert_eq!(older.both_cpu_us_per_op, None);
        let t = table(&[natter, ngircd, older]);
        let both = row(&t, "server + generator CPU µs/op");
        // case, figure, natter, ngircd, inspircd, then natter ÷ the better peer.
        assert_eq!(both[3..7], ["5.00", "10.00", "–", "0.50x"]);
    }

    #[test]
    fn repeated_runs_are_read_as_their_median_and_a_failure_shows() {
        let mut failed = run("relay", 5000.0, 0.2);
        failed.ok = false;
        let t = table(&[
            run("natter", 800.0, 2.0),
            run("relay", 1000.0, 1.0),
            run("natter", 100.0, 20.0),
            run("relay", 900.0, 1.0),
            run("natter", 900.0, 1.0),
            failed,
        ]);
        let rate = row(&t, "deliveries/s");
        // natter: 100, 800, 900 -> 800; relay: 900 and 1,000 (the failed run is no figure) -> 950.
        assert_eq!(rate[3..6], ["800", "950 (1 of 3 failed)", "–"]);
        assert_eq!(rate[6], "0.84x");
        assert!(t.contains("median of that server's runs"), "{t}");
        // One run each: no note.
        assert!(!table(&[run("natter", 1.0, 1.0)]).contains("median"));
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(999.4), "999");
        assert_eq!(fmt_num(1234567.8), "1,234,568");
    }
}
