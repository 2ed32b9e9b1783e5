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
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Registry, reload};

use natter::shell::settings::LogFormat;
use natter::shell::turn_log::{self, TurnWriter};

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
        LogFormat::Human if !ansi => {
            registry
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(TurnWriter::escaping)
                        .with_ansi(false)
                        .with_ansi_sanitization(false)
                        .event_format(PlainLines::new()),
                )
                .init();
            // The layer above is the only one to see an event: the lines of logins and logouts
            // may skip the dispatch to it and be written as it would write them.
            turn_log::write_info_lines_as(info_line);
        }
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

/// The human log's lines without colours, byte for byte as `tracing-subscriber`'s full format writes
/// them (time, level, message: no target, no sanitizing, which [`TurnWriter::escaping`] does for
/// the whole line), with the common case written directly: an event outside any span whose one
/// field is its message, as every line of logins, logouts and the rest of the operator's record is.
/// The stock formatter took about 1,900 instructions a line (its `write!`s of the level and the
/// time, the field visitor's dispatch), and a login writes two lines; any other event (fields of its
/// own, a span, a `log` record) still goes to the stock formatter, so it reads as before.
struct PlainLines<T> {
    timer: T,
    stock: tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Full, T>,
}

impl PlainLines<LogTime> {
    fn new() -> PlainLines<LogTime> {
        PlainLines::with_timer(LogTime)
    }
}

impl<T: FormatTime + Clone> PlainLines<T> {
    fn with_timer(timer: T) -> PlainLines<T> {
        PlainLines {
            timer: timer.clone(),
            stock: tracing_subscriber::fmt::format()
                .with_timer(timer)
                .with_target(false)
                .with_ansi(false),
        }
    }
}

impl<S, N, T: FormatTime> tracing_subscriber::fmt::FormatEvent<S, N> for PlainLines<T>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let fields = meta.fields();
        let message_only = fields.len() == 1 && fields.field("message").is_some();
        if !message_only || writer.has_ansi_escapes() || ctx.event_scope().is_some() {
            return self.stock.format_event(ctx, writer, event);
        }
        if self.timer.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        writer.write_str(match *meta.level() {
            tracing::Level::TRACE => " TRACE ",
            tracing::Level::DEBUG => " DEBUG ",
            tracing::Level::INFO => "  INFO ",
            tracing::Level::WARN => "  WARN ",
            tracing::Level::ERROR => " ERROR ",
        })?;
        let mut message = Message {
            writer: &mut writer,
            result: Ok(()),
        };
        event.record(&mut message);
        message.result?;
        writer.write_char('\n')
    }
}

/// Writes an event's message as the stock field formatter writes it when it is the only field:
/// its `Debug` form (a `format_args!` message reads as its text), a string as it is.
struct Message<'a, 'w> {
    writer: &'a mut tracing_subscriber::fmt::format::Writer<'w>,
    result: std::fmt::Result,
}

impl tracing::field::Visit for Message<'_, '_> {
    fn record_str(&mut self, _field: &tracing::field::Field, value: &str) {
        if self.result.is_ok() {
            self.result = self.writer.write_str(value);
        }
    }

    fn record_error(
        &mut self,
        _field: &tracing::field::Field,
        value: &(dyn std::error::Error + 'static),
    ) {
        // The stock formatter adds the error's sources, if it has any, after its own text.
        if self.result.is_ok() {
            self.result = match value.source() {
                None => write!(self.writer, "{value}"),
                Some(first) => {
                    let mut written = write!(self.writer, "{value} message.sources=[{first}");
                    let mut next = first.source();
                    while let (Ok(()), Some(source)) = (written, next) {
                        written = write!(self.writer, ", {source}");
                        next = source.source();
                    }
                    written.and_then(|()| self.writer.write_str("]"))
                }
            };
        }
    }

    fn record_debug(&mut self, _field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if self.result.is_ok() {
            self.result = write!(self.writer, "{value:?}");
        }
    }
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

impl LogTime {
    /// Hands `use_it` the time now, in two parts: up to the second, and the rest.
    fn now<R>(use_it: impl FnOnce(&str, &Micros) -> R) -> R {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = since.as_secs();
        LAST_SECOND.with(|last| {
            let mut last = last.borrow_mut();
            if last.0 != secs {
                last.1.clear();
                if write_second(&mut last.1, secs).is_err() {
                    last.1.clear();
                }
                last.0 = secs;
            }
            use_it(&last.1, &micros(since.subsec_micros()))
        })
    }
}

impl FormatTime for LogTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        LogTime::now(|second, rest| {
            w.write_str(second)?;
            w.write_str(rest.as_str())
        })
    }
}

/// An INFO event that is only its message, as [`PlainLines`] with [`LogTime`] writes it (the form
/// `turn_log::info_line` writes logins and logouts in).
fn info_line(message: &str, out: &mut Vec<u8>) {
    LogTime::now(|second, rest| {
        out.extend_from_slice(second.as_bytes());
        // (Its bytes as they are: checking that eight known ASCII bytes are UTF-8 cost more than
        // making them.)
        out.extend_from_slice(&rest.0);
    });
    out.extend_from_slice(b"  INFO ");
    out.extend_from_slice(message.as_bytes());
    out.push(b'\n');
}

/// The part of a time after its second: `.`, six digits, `Z` (what `.{:06}Z` writes, without the
/// formatter's padding machinery, since every line has one).
fn micros(us: u32) -> Micros {
    let mut text = *b".000000Z";
    let mut rest = us.min(999_999);
    for digit in text[1..7].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    Micros(text)
}

/// [`micros`]'s text.
struct Micros([u8; 8]);

impl Micros {
    fn as_str(&self) -> &str {
        // Only ASCII digits, the dot and the Z were written.
        std::str::from_utf8(&self.0).unwrap_or(".000000Z")
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
    fn the_part_after_the_second_reads_as_padded_digits() {
        for us in [0, 1, 9, 10, 999, 1_000, 123_456, 999_999] {
            assert_eq!(micros(us).as_str(), format!(".{us:06}Z"));
        }
    }

    /// A fixed time, so two formatters' lines can be compared (or, for the stock formatter inside
    /// [`PlainLines`], a word that shows which of the two wrote a line).
    #[derive(Clone)]
    struct Fixed(bool);

    impl FormatTime for Fixed {
        fn format_time(
            &self,
            w: &mut tracing_subscriber::fmt::format::Writer<'_>,
        ) -> std::fmt::Result {
            w.write_str(match self.0 {
                true => "2026-11-27T12:00:00.000042Z",
                false => "stock",
            })
        }
    }

    /// The lines `log` writes through `format`, as the server's layer is built (no colours, no
    /// sanitizing, no target).
    fn lines<F>(format: F, log: impl FnOnce()) -> String
    where
        F: tracing_subscriber::fmt::FormatEvent<
                Registry,
                tracing_subscriber::fmt::format::DefaultFields,
            > + Send
            + Sync
            + 'static,
    {
        use std::sync::{Arc, Mutex};
        let out = Arc::new(Mutex::new(Vec::new()));
        let to = out.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || Capture(to.clone()))
            .with_ansi(false)
            .with_ansi_sanitization(false)
            .event_format(format);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, log);
        let out = out.lock().unwrap();
        String::from_utf8(out.clone()).unwrap()
    }

    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[derive(Debug)]
    struct Failed(&'static str, Option<Box<Failed>>);

    impl std::fmt::Display for Failed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Failed {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn a_line_reads_as_the_stock_formatter_writes_it() {
        let events = || {
            let user = "alice";
            let peer: std::net::SocketAddr = "127.0.0.1:4000".parse().unwrap();
            tracing::info!("{user} logged in from {peer}");
            tracing::warn!("login failed user={user} address=- reason=password");
            tracing::error!("caf\u{e9} \x1b[2J\ttab, a line\nbroken");
            tracing::debug!("a debug line");
            tracing::trace!("a trace line");
            tracing::info!("");
            tracing::info!(message = "a message field");
            tracing::info!(message = 42);
            tracing::info!(message = ?Some("debug"));
            tracing::info!(peer = %peer, "with a field");
            tracing::info!(count = 3);
            let plain = Failed("no source", None);
            tracing::warn!(message = &plain as &(dyn std::error::Error + 'static));
            let deep = Failed(
                "outer",
                Some(Box::new(Failed(
                    "middle",
                    Some(Box::new(Failed("inner", None))),
                ))),
            );
            tracing::warn!(message = &deep as &(dyn std::error::Error + 'static));
            let span = tracing::info_span!("turn", n = 7);
            span.in_scope(|| tracing::info!("inside a span"));
        };
        let theirs = lines(
            tracing_subscriber::fmt::format()
                .with_timer(Fixed(true))
                .with_target(false)
                .with_ansi(false),
            events,
        );
        let ours = lines(PlainLines::with_timer(Fixed(true)), events);
        assert_eq!(ours, theirs);
        assert_eq!(theirs.lines().count(), 15, "{theirs}");
        // Which lines the direct path wrote: a stock formatter with another time shows the rest.
        let split = PlainLines {
            timer: Fixed(true),
            stock: tracing_subscriber::fmt::format()
                .with_timer(Fixed(false))
                .with_target(false)
                .with_ansi(false),
        };
        let direct: Vec<bool> = lines(split, events)
            .lines()
            .filter(|line| line.starts_with("20") || line.starts_with("stock"))
            .map(|line| line.starts_with("20"))
            .collect();
        let expected = [
            true, true, true, true, true, true, true, true, true, false, false, true, true, false,
        ];
        assert_eq!(direct, expected);
    }

    #[test]
    fn an_info_line_written_directly_reads_as_the_formatter_writes_it() {
        for message in [
            "alice logged in from 127.0.0.1:4000",
            "bob logged out (idle)",
            "",
        ] {
            let theirs = lines(PlainLines::with_timer(LogTime), || {
                tracing::info!(message = message)
            });
            let mut ours = Vec::new();
            info_line(message, &mut ours);
            let ours = String::from_utf8(ours).unwrap();
            // The same after the time, and a time of the same form.
            let time = "2026-11-27T12:00:00.000042Z".len();
            assert_eq!(ours[time..], theirs[time..], "{ours:?} against {theirs:?}");
            for line in [&ours, &theirs] {
                let stamp = &line.as_bytes()[..time];
                assert!(
                    stamp.iter().enumerate().all(|(i, b)| match i {
                        4 | 7 => *b == b'-',
                        10 => *b == b'T',
                        13 | 16 => *b == b':',
                        19 => *b == b'.',
                        26 => *b == b'Z',
                        _ => b.is_ascii_digit(),
                    }),
                    "{line:?}"
                );
            }
        }
    }

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
