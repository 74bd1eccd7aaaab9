//! `ExportContext`: what an exporter may use while exporting (the shutdown
//! deadline, a cancellable sleep, the retry policy), and the one place exporters
//! are called, with their panics caught.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::retry::RetryPolicy;
use crate::error::export::{ExportError, ExportErrorKind};
use crate::stats::ExporterCounters;
use crate::util::ids;
use crate::util::time::deadline_after;

/// The shutdown deadline, shared with exporters so that every wait ends early.
#[derive(Debug, Default)]
pub(crate) struct Cancel {
    deadline: Mutex<Option<Instant>>,
    changed: Condvar,
}

impl Cancel {
    const fn new() -> Self {
        Cancel { deadline: parking_lot::const_mutex(None), changed: Condvar::new() }
    }

    pub fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock()
    }

    pub fn set_deadline(&self, d: Instant) {
        let mut g = self.deadline.lock();
        *g = Some(g.map_or(d, |old| old.min(d)));
        self.changed.notify_all();
    }

    pub fn expired(&self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
    }

    /// Sleeps `d` or until the deadline; `false` if the deadline cut it short.
    pub fn sleep(&self, d: Duration) -> bool {
        let wake = deadline_after(d);
        let mut g = self.deadline.lock();
        loop {
            if let Some(dl) = *g {
                if dl <= wake {
                    // The lock is released while waiting (Condvar), so neither the
                    // shutdown caller nor exporters contend on it.
                    self.changed.wait_until(&mut g, dl);
                    return false;
                }
            }
            if self.changed.wait_until(&mut g, wake).timed_out() {
                return true;
            }
        }
    }
}

/// What an exporter may use while exporting: the deadline, a cancellable sleep, and
/// the retry policy.
pub struct ExportContext<'a> {
    pub(crate) retry: &'a RetryPolicy,
    pub(crate) cancel: &'a Cancel,
    pub(crate) counters: &'a ExporterCounters,
}

/// Calls into an exporter (`f`), named `name`, doing `what`: a panic becomes the
/// `Failed` error saying so, after `on_panic` has seen its message (to count it),
/// so one exporter's bug never takes a background thread down.
pub(crate) fn call_exporter<T>(
    name: &str,
    what: &str,
    f: impl FnOnce() -> Result<T, ExportError>,
    on_panic: impl FnOnce(&str),
) -> Result<T, ExportError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        // A panic's payload is its message when it was raised with one.
        let said = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        let msg = format!("the {name} exporter panicked {what}: {said}");
        on_panic(&msg);
        Err(ExportError::new(ExportErrorKind::Failed, msg))
    })
}

/// For contexts outside a pipeline: never cancelled, counts nowhere.
static DETACHED_CANCEL: Cancel = Cancel::new();
static DETACHED_COUNTERS: ExporterCounters = ExporterCounters::new();

impl<'a> ExportContext<'a> {
    /// A context outside any pipeline, to call an [`Exporter`](super::exporter::Exporter) directly (in a unit
    /// test of your own exporter, say): no shutdown deadline, requests counted
    /// nowhere, retries per `retry`.
    pub fn detached(retry: &'a RetryPolicy) -> Self {
        ExportContext { retry, cancel: &DETACHED_CANCEL, counters: &DETACHED_COUNTERS }
    }

    /// The shutdown deadline, once a shutdown has begun; work must be done by then.
    pub fn deadline(&self) -> Option<Instant> {
        self.cancel.deadline()
    }

    /// Sleeps for `d`, or less if a shutdown deadline comes first; returns `false`
    /// when cut short (the caller should give up).
    pub fn sleep(&self, d: Duration) -> bool {
        self.cancel.sleep(d)
    }

    /// The configured retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.retry
    }

    pub(crate) fn random_unit(&self) -> f64 {
        ids::random_unit()
    }

    pub(crate) fn count_retry(&self) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_request(&self, bytes: usize) {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        self.counters.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn cancel_sleep_ends_at_the_deadline() {
        let c = Arc::new(Cancel::default());
        assert!(c.sleep(Duration::from_millis(1)));
        c.set_deadline(Instant::now());
        assert!(!c.sleep(Duration::from_secs(3600)));
        assert!(!c.sleep(Duration::MAX), "an unbounded sleep neither panics nor outlives the deadline");
        assert!(c.expired());
    }

    #[test]
    fn cancel_sleep_is_woken_by_a_new_deadline() {
        let c = Arc::new(Cancel::default());
        let c2 = c.clone();
        let t = std::thread::spawn(move || c2.sleep(Duration::from_secs(3600)));
        std::thread::sleep(Duration::from_millis(20));
        c.set_deadline(Instant::now());
        assert!(!t.join().unwrap());
    }
}
