//! The retry loop around one request. The policy itself
//! ([`RetryPolicy`](crate::RetryPolicy)) is configuration.

use std::time::Instant;

use super::outcome::{Outcome, Response};
use crate::error::export::{ExportError, ExportErrorKind};
use crate::export::context::ExportContext;

/// Runs `attempt` until it succeeds, fails permanently, or the retry budget (attempts,
/// elapsed time, shutdown deadline) runs out. Waits between attempts end early when
/// a shutdown deadline comes. Returns the successful response.
pub(crate) fn send_with_retry(
    cx: &ExportContext<'_>,
    mut attempt: impl FnMut(Option<Instant>) -> Outcome,
) -> Result<Response, ExportError> {
    let policy = cx.retry_policy();
    let started = Instant::now();
    // Validated policies keep this far from overflow; saturate all the same.
    let budget_end = started.checked_add(policy.max_elapsed).unwrap_or(started);
    let mut tries = 0u32;
    loop {
        tries += 1;
        let deadline = cx.deadline().map_or(budget_end, |d| d.min(budget_end));
        let (reason, retry_after, timed_out) = match attempt(Some(deadline)) {
            Outcome::Success(r) => return Ok(r),
            Outcome::Permanent { status, reason } => {
                let kind = match status {
                    Some(s) => ExportErrorKind::Rejected { status: s },
                    None => ExportErrorKind::Network,
                };
                return Err(ExportError::new(kind, reason));
            }
            Outcome::Retryable { reason, retry_after, timed_out } => (reason, retry_after, timed_out),
        };
        let kind = if timed_out { ExportErrorKind::Timeout } else { ExportErrorKind::Network };
        if tries >= policy.max_attempts {
            return Err(ExportError::new(kind, format!("{reason} (gave up after {tries} attempts)")));
        }
        let wait = policy.backoff(tries, retry_after, cx.random_unit());
        if Instant::now().checked_add(wait).is_none_or(|at| at >= budget_end) {
            let budget = policy.max_elapsed;
            let msg = format!("{reason} (gave up after {tries} attempts: the retry budget of {budget:?} ran out)");
            return Err(ExportError::new(kind, msg));
        }
        cx.count_retry();
        if !cx.sleep(wait) {
            return Err(ExportError::new(
                ExportErrorKind::Cancelled,
                format!("{reason} (not retried: shutdown deadline reached)"),
            ));
        }
    }
}
