//! Logs to stderr; the level comes from `CINEMESH_LOG` (e.g. `debug`,
//! `info,sqlx=warn`), default `info`.
//!
//! Lines go through a bounded queue to a writer thread, and are dropped when
//! it is full: a stderr nobody reads (a pipe whose reader died or stalled)
//! must never block the server, least of all its shutdown.

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Log lines queued for the writer before new ones are dropped.
const QUEUED_LINES: usize = 16_384;

/// Installs the logger; keep the guard alive (it flushes what is queued when
/// dropped, waiting at most a second). `None` when a logger was already set.
#[must_use]
pub fn init() -> Option<WorkerGuard> {
    let filter = EnvFilter::try_from_env("CINEMESH_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let (writer, guard) =
        NonBlockingBuilder::default().lossy(true).buffered_lines_limit(QUEUED_LINES).finish(std::io::stderr());
    // Colours only for a person at a terminal: a container's log (no TTY), a
    // pipe or a file gets plain lines.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer)
        .try_init()
        .ok()
        .map(|()| guard)
}
