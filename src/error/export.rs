//! `ExportError`: why an export failed, a kind for accounting and a message for
//! people.

use std::fmt;

/// Why an export failed. Decides how the batch's spans are counted in
/// [`Stats`](crate::Stats): `Rejected`, `Unauthorized` and `Encode` as rejected,
/// the others as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportErrorKind {
    /// The receiver answered with a status that must not be retried.
    Rejected {
        /// The HTTP status.
        status: u16,
    },
    /// Credentials were refused (AgentOps API key).
    Unauthorized,
    /// The receiver could not be reached, or stayed unavailable (429, 502, 503,
    /// 504, connection failures), through the retry budget.
    Network,
    /// Requests timed out through the retry budget.
    Timeout,
    /// The shutdown deadline came before the export could finish.
    Cancelled,
    /// The batch could not be encoded or was too large to send.
    Encode,
    /// Anything else: a local I/O error, a panic, an answer that made no sense.
    Failed,
}

impl ExportErrorKind {
    /// Whether spans that failed so are counted as rejected (rather than failed).
    pub(crate) fn is_rejection(self) -> bool {
        matches!(self, ExportErrorKind::Rejected { .. } | ExportErrorKind::Unauthorized | ExportErrorKind::Encode)
    }

    /// Whether a batch that failed so may be delivered later, so it goes to the
    /// spool (when there is one): the receiver was unreachable, kept failing or
    /// timing out, or the shutdown deadline came. What a receiver refused would be
    /// refused again.
    pub(crate) fn is_spoolable(self) -> bool {
        matches!(self, ExportErrorKind::Network | ExportErrorKind::Timeout | ExportErrorKind::Cancelled)
    }
}

/// An export failure: a kind for accounting, a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportError {
    /// What kind of failure.
    pub kind: ExportErrorKind,
    /// What happened.
    pub message: String,
}

impl ExportError {
    /// A new error.
    pub fn new(kind: ExportErrorKind, message: impl Into<String>) -> Self {
        ExportError { kind, message: message.into() }
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExportError {}
