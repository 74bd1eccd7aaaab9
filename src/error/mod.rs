//! The crate's errors: [`Error`], what the public API fails with, and the two it
//! carries, [`ConfigError`] (a setting) and [`ExportError`] (an export). The lowest
//! layer above `util`: every other folder may use it.

use std::fmt;
use std::time::Duration;

pub(crate) mod config;
pub(crate) mod export;

pub use config::ConfigError;
use export::ExportErrorKind;

/// Everything the public API can fail with.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    Config(ConfigError),
    /// A flush or shutdown did not finish within its timeout. Nothing is lost by
    /// this alone: spans still in flight are counted in [`Stats`](crate::Stats).
    Timeout {
        /// `flush` or `shutdown`.
        operation: &'static str,
        /// The timeout that was exceeded.
        timeout: Duration,
    },
    /// Spans could not be exported; they are counted as dropped in
    /// [`Stats`](crate::Stats). Also a metrics collection that could not be
    /// exported (`dropped` is 0 then, and `Stats::metrics_exports_failed` counts it).
    Export {
        /// How many spans were dropped since the previous flush.
        dropped: u64,
        /// What kind of failure the latest one was: the receiver rejected the
        /// spans, refused the credentials, could not be reached, timed out, …
        kind: ExportErrorKind,
        /// The latest export error.
        message: String,
    },
    /// The client was already shut down.
    ShutDown,
    /// A local file could not be opened or written.
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A background thread could not be started.
    Thread(std::io::Error),
    /// A capture given to read (the `capture` module, feature `cli`) cannot be read as one:
    /// an empty file, a directory without captures.
    Capture {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A W3C trace context (`traceparent` / `tracestate`) handed in to continue a
    /// session is malformed.
    InvalidTraceContext {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => e.fmt(f),
            Error::Timeout { operation, timeout } => {
                write!(f, "{operation} did not finish within {timeout:?}")
            }
            // A metrics collection that failed drops no span: its message says what failed.
            Error::Export { dropped: 0, message, .. } => f.write_str(message),
            Error::Export { dropped, message, .. } => {
                write!(f, "{dropped} span(s) could not be exported: {message}")
            }
            Error::ShutDown => f.write_str("the client has been shut down"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Thread(e) => write!(f, "could not start a background thread: {e}"),
            Error::Capture { path, reason } => write!(f, "{}: {reason}", path.display()),
            Error::InvalidTraceContext { value, reason } => write!(f, "invalid trace context {value:?}: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Config(e) => Some(e),
            Error::Io { source, .. } => Some(source),
            Error::Thread(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}
