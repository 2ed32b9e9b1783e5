//! The operator's log: to standard error, human lines (time, level, message: no module paths) or
//! JSON objects (`--log-format json`), filtered by `RUST_LOG` if set, else by the configured level,
//! which a reload may change.
//!
//! The lines are written through [`TurnWriter`]: those of one turn of the server's driver leave with
//! one `write` at its end. Each line's time is read when it is logged, as before; the part up to the
//! second is formatted once per second ([`LogTime`]).

use std::cell::RefCell;
use std::fmt::Write as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Registry, reload};

use natter::shell::settings::LogFormat;
use natter::shell::turn_log::TurnWriter;

/// Changes the log's level while the server runs.
pub type LevelHandle = reload::Handle<EnvFilter, Registry>;

/// Starts logging at `level` (unless `RUST_LOG` says otherwise) in `format`.
pub fn init(level: &str, format: LogFormat) -> LevelHandle {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        // Without colours, each whole line is made safe for a terminal by the writer, which costs a
        // scan where the formatter's own sanitizing of the message costs a call per character (a
        // login writes two lines); with colours, whose escape sequences the writer would escape too,
        // the formatter sanitizes the message as before.
        LogFormat::Human if !ansi => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(TurnWriter::escaping)
                    .with_timer(LogTime)
                    .with_target(false)
                    .with_ansi(false)
                    .with_ansi_sanitization(false),
            )
            .init(),
        LogFormat::Human => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(TurnWriter::plain)
                    .with_timer(LogTime)
                    .with_target(false)
                    .with_ansi(true),
            )
            .init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(TurnWriter::plain)
                    .with_timer(LogTime)
                    .with_target(false)
                    .with_current_span(false),
            )
            .init(),
    }
    handle
}

/// Sets the level (a reload's).
pub fn set_level(handle: &LevelHandle, level: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(level).map_err(|e| format!("log level {level:?}: {e}"))?;
    handle
        .reload(filter)
        .map_err(|e| format!("cannot change the log level: {e}"))
}

/// Each line's time, UTC, to the microsecond (`2026-11-25T12:33:10.123456Z`, as
/// `tracing-subscriber`'s default timer writes it), with the date and time of day formatted once per
/// second and per thread rather than for every line.
#[derive(Clone, Copy, Debug, Default)]
struct LogTime;

thread_local! {
    /// The second last formatted on this thread, and how it reads (up to the seconds).
    static LAST_SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

impl tracing_subscriber::fmt::time::FormatTime for LogTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = since.as_secs();
        LAST_SECOND.with(|last| {
            let mut last = last.borrow_mut();
            if last.0 != secs {
                last.1.clear();
                write_second(&mut last.1, secs)?;
                last.0 = secs;
            }
            write!(w, "{}.{:06}Z", last.1, since.subsec_micros())
        })
    }
}

/// `secs` after 1970 as `YYYY-MM-DDTHH:MM:SS`, UTC.
fn write_second(to: &mut String, secs: u64) -> std::fmt::Result {
    let at = i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    write!(
        to,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_reads_as_the_default_timer_writes_it() {
        let mut s = String::new();
        write_second(&mut s, 1_795_000_000).unwrap();
        assert_eq!(s, "2026-11-18T11:06:40");
        s.clear();
        write_second(&mut s, 0).unwrap();
        assert_eq!(s, "1970-01-01T00:00:00");
    }
}
