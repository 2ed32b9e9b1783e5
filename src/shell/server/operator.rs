//! Writing the operator's log: the lines the pure [`OperatorLog`](natter_core::server::oplog::OperatorLog)
//! (`server::oplog`, which decides what is written and when) hands the driver, at their level.

use natter_core::server::oplog::{Level, LogLine};

/// Writes the operator log's lines at their level, emptying `lines`.
pub(super) fn log_lines(lines: &mut Vec<LogLine>) {
    for line in lines.drain(..) {
        match line.level {
            Level::Warn => tracing::warn!("{}", line.text),
            Level::Info => tracing::info!("{}", line.text),
        }
    }
}
