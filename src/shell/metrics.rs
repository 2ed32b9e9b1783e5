//! The server's metrics and health, for an HTTP listener of their own (`/metrics` in the Prometheus
//! text format, written by the official `prometheus-client` crate, and `/health`).
//!
//! Off the core's thread's way: the driver only bumps atomic counters as it hands the core's output
//! on (what it looks at anyway), and the listener runs on a thread of its own. What only the core
//! knows (who is online, what waits in the mailboxes) is asked of the driver when someone scrapes,
//! through the inbox like any input; nobody scraping costs nothing more than the counters.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use natter_core::server::composed::Counts;

type Labels = Vec<(String, String)>;

/// What the core says when scraped: the gauges only it can fill.
#[derive(Clone, Debug, Default)]
pub struct CoreStats {
    pub users_online: u64,
    pub connections_logging_in: u64,
    pub mailbox_messages: u64,
    pub largest_mailbox: u64,
    /// How far behind the log's head each live node of a cluster last said it was, in entries.
    pub log_lag: Vec<(u64, u64)>,
}

/// Every metric, registered once. Shared by the server's thread (which bumps), the commit thread (its
/// latency) and the listener (which reads).
pub struct Metrics {
    registry: Registry,
    users_online: Gauge,
    connections: Family<Labels, Gauge>,
    logins: Family<Labels, Counter>,
    messages_delivered: Counter,
    messages_stored: Counter,
    mailbox_messages: Gauge,
    largest_mailbox: Gauge,
    refusals: Family<Labels, Counter>,
    tls_handshakes: Counter,
    commit_seconds: Histogram,
    log_lag: Family<Labels, Gauge>,
    reloads: Family<Labels, Counter>,
    admin_actions: Counter,
    /// Listening, with the store (or the cluster) up: `/health` says ready.
    ready: AtomicBool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("natter");
        let m = Metrics {
            users_online: Gauge::default(),
            connections: Family::default(),
            logins: Family::default(),
            messages_delivered: Counter::default(),
            messages_stored: Counter::default(),
            mailbox_messages: Gauge::default(),
            largest_mailbox: Gauge::default(),
            refusals: Family::default(),
            tls_handshakes: Counter::default(),
            // 100 µs to about 6.5 s.
            commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 17)),
            log_lag: Family::default(),
            reloads: Family::default(),
            admin_actions: Counter::default(),
            ready: AtomicBool::new(false),
            registry: Registry::default(),
        };
        registry.register(
            "users_online",
            "Users logged in now",
            m.users_online.clone(),
        );
        registry.register(
            "connections",
            "Open connections, by state (logging_in, online)",
            m.connections.clone(),
        );
        registry.register(
            "logins",
            "Login attempts, by result (ok, failed, locked: the failure that locked the account)",
            m.logins.clone(),
        );
        registry.register(
            "messages_delivered",
            "Messages written to their recipients' connections (direct, group and stored ones)",
            m.messages_delivered.clone(),
        );
        registry.register(
            "messages_stored",
            "Messages stored for a recipient who was offline (or whose session ended first)",
            m.messages_stored.clone(),
        );
        registry.register(
            "mailbox_messages",
            "Messages waiting in all mailboxes",
            m.mailbox_messages.clone(),
        );
        registry.register(
            "mailbox_largest",
            "Messages waiting in the fullest mailbox",
            m.largest_mailbox.clone(),
        );
        registry.register(
            "refusals",
            "Lines and connections refused by a limit, by kind (flood: flood control; throttle: a \
             per-account or per-address rate)",
            m.refusals.clone(),
        );
        registry.register(
            "tls_handshakes",
            "TLS handshakes completed",
            m.tls_handshakes.clone(),
        );
        registry.register(
            "store_commit_seconds",
            "Time to make one batch of records durable (the store's transaction and its sync)",
            m.commit_seconds.clone(),
        );
        registry.register(
            "cluster_log_lag_entries",
            "Cluster mode: how far behind this node's place in the shared log each node last said \
             it was, in entries",
            m.log_lag.clone(),
        );
        registry.register(
            "reloads",
            "Reloads of the configuration (SIGHUP, natter-server reload), by result (ok, failed)",
            m.reloads.clone(),
        );
        registry.register(
            "admin_actions",
            "Actions asked for on the control socket",
            m.admin_actions.clone(),
        );
        Metrics { registry, ..m }
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// What the server side counted over a batch of its output (which lines are deliveries and
    /// which refusals is its to say).
    pub fn count(&self, c: &Counts) {
        let logins = [
            ("ok", c.logins_ok),
            ("locked", c.logins_locked),
            ("failed", c.logins_failed),
        ];
        for (result, n) in logins {
            if n > 0 {
                self.logins
                    .get_or_create(&labels(&[("result", result)]))
                    .inc_by(n);
            }
        }
        self.messages_delivered.inc_by(c.delivered);
        self.messages_stored.inc_by(c.stored);
        for (kind, n) in [("flood", c.refused_flood), ("throttle", c.refused_throttle)] {
            if n > 0 {
                self.refusals
                    .get_or_create(&labels(&[("kind", kind)]))
                    .inc_by(n);
            }
        }
    }

    pub fn tls_handshake(&self) {
        self.tls_handshakes.inc();
    }

    pub fn commit_took(&self, took: Duration) {
        self.commit_seconds.observe(took.as_secs_f64());
    }

    pub fn reloaded(&self, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.reloads
            .get_or_create(&labels(&[("result", result)]))
            .inc();
    }

    pub fn admin_action(&self) {
        self.admin_actions.inc();
    }

    /// Fills the gauges with what the core said, and writes every metric in the text format.
    pub fn encode(&self, stats: Option<&CoreStats>) -> String {
        if let Some(s) = stats {
            self.users_online.set(s.users_online as i64);
            self.connections
                .get_or_create(&labels(&[("state", "online")]))
                .set(s.users_online as i64);
            self.connections
                .get_or_create(&labels(&[("state", "logging_in")]))
                .set(s.connections_logging_in as i64);
            self.mailbox_messages.set(s.mailbox_messages as i64);
            self.largest_mailbox.set(s.largest_mailbox as i64);
            for (node, lag) in &s.log_lag {
                self.log_lag
                    .get_or_create(&labels(&[("node", &node.to_string())]))
                    .set(*lag as i64);
            }
        }
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// How the listener asks the server's thread for the core's figures: a reply channel, answered by
/// the driver.
pub type ScrapeRequest = smol::channel::Sender<CoreStats>;

/// Serves `/metrics` and `/health` on `listener`, on a thread of its own, until the process ends.
/// `ask` reaches the server's thread for the core's figures (at most a second is waited for them:
/// a busy or stopping server still answers, with its counters).
pub fn serve_http(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    ask: smol::channel::Sender<ScrapeRequest>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if let Err(e) = answer(stream, &metrics, &ask) {
                    tracing::debug!("metrics listener: {e}");
                }
            }
        })?;
    Ok(())
}

fn answer(
    stream: TcpStream,
    metrics: &Metrics,
    ask: &smol::channel::Sender<ScrapeRequest>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The headers: read and ignored (bounded, as the request line is by the timeout).
    let mut header = String::new();
    for _ in 0..100 {
        header.clear();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut words = request.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (status, kind, body) = match (method, path) {
        ("GET", "/metrics") => {
            let (tx, rx) = smol::channel::bounded(1);
            let stats = ask
                .send_blocking(tx)
                .ok()
                .and_then(|()| recv_within(&rx, Duration::from_secs(1)));
            (
                "200 OK",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                metrics.encode(stats.as_ref()),
            )
        }
        ("GET", "/health") if metrics.is_ready() => ("200 OK", "text/plain", "ok\n".into()),
        ("GET", "/health") => (
            "503 Service Unavailable",
            "text/plain",
            "not ready: starting, stopping, or cut off from its cluster\n".into(),
        ),
        ("GET", _) => (
            "404 Not Found",
            "text/plain",
            "try /metrics or /health\n".into(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET is served\n".into(),
        ),
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    out.flush()
}

/// The next value within `limit`, if one comes.
fn recv_within<T>(rx: &smol::channel::Receiver<T>, limit: Duration) -> Option<T> {
    smol::block_on(async {
        futures_lite::future::or(async { rx.recv().await.ok() }, async {
            smol::Timer::after(limit).await;
            None
        })
        .await
    })
}

/// Binds the metrics listener (before the server starts, so a taken port stops it at once).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_metric() {
        let m = Metrics::new();
        m.count(&Counts {
            logins_ok: 1,
            ..Counts::default()
        });
        m.commit_took(Duration::from_millis(3));
        let text = m.encode(Some(&CoreStats {
            users_online: 1,
            ..CoreStats::default()
        }));
        for name in [
            "natter_users_online 1",
            "natter_logins_total{result=\"ok\"} 1",
            "natter_store_commit_seconds_bucket",
            "natter_tls_handshakes_total 0",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
}
