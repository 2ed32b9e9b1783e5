//! The operator's log: to standard error, human lines (time, level, message: no module paths) or
//! JSON objects (`--log-format json`), filtered by `RUST_LOG` if set, else by the configured level,
//! which a reload may change.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Registry, reload};

use natter::shell::settings::LogFormat;

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
        LogFormat::Human => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    .with_ansi(ansi),
            )
            .init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
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
