//! The AgentOps backend: the current protocol ([`token`]: bearer token + OTLP) and
//! the legacy v2 session API ([`legacy`]). Both stop for good once AgentOps refuses
//! the API key ([`KeyLatch`]), so a wrong key costs one request, not a retry storm.

pub(crate) mod answers;
pub(crate) mod compat;
pub(crate) mod legacy;
pub(crate) mod token;
pub(crate) mod v2_events;

use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::export::{ExportError, ExportErrorKind};

/// Remembers that AgentOps refused the API key. Shared by every sending lane of one
/// client; once set, every export fails at once as `Unauthorized`.
#[derive(Debug, Default, Clone)]
pub(crate) struct KeyLatch(Arc<Mutex<Option<String>>>);

impl KeyLatch {
    /// `Err(Unauthorized)` once the key was refused.
    pub(crate) fn check(&self) -> Result<(), ExportError> {
        match &*self.0.lock() {
            Some(msg) => Err(ExportError::new(ExportErrorKind::Unauthorized, msg.clone())),
            None => Ok(()),
        }
    }

    /// If `e` is AgentOps refusing the key (401/403 on `what`, a request that
    /// authenticates with it), latches and returns the `Unauthorized` error;
    /// otherwise returns `e` as it is.
    pub(crate) fn note(&self, e: ExportError, what: &str) -> ExportError {
        let ExportErrorKind::Rejected { status: s @ (401 | 403) } = e.kind else { return e };
        let msg = format!(
            "AgentOps rejected the API key (HTTP {s} on {what}); check AGENTOPS_API_KEY. \
             Nothing more will be sent to AgentOps by this client."
        );
        *self.0.lock() = Some(msg.clone());
        ExportError::new(ExportErrorKind::Unauthorized, msg)
    }
}
