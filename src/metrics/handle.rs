//! Starting the metrics side of a pipeline (the SDK meter provider with a manual
//! reader, the instruments, the health callbacks, the metrics thread), and the
//! pipeline's handle on it: a collection at each flush, a last one at shutdown,
//! both by the caller's deadline.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, RecvTimeoutError, SendTimeoutError, Sender};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::Resource;
use parking_lot::Mutex;

use super::health::{register, StatsSource};
use super::instruments::Instruments;
use super::reader::SharedReader;
use super::recorder::MetricsRecorder;
use super::thread::{Control, MetricsSlot, MetricsWorker};
use crate::config::metrics::MetricsSettings;
use crate::encode::encoder::instrumentation_scope;
use crate::error::export::ExportError;
use crate::error::Error;
use crate::export::context::Cancel;
use crate::export::retry::RetryPolicy;
use crate::stats::Counters;
use crate::util::threads::spawn;

/// What the metrics side is built from.
pub(crate) struct MetricsStart {
    pub settings: MetricsSettings,
    pub exporters: Vec<MetricsSlot>,
    pub resource: Resource,
    pub stats: StatsSource,
    pub queue_capacity: u64,
    pub retry: RetryPolicy,
    pub cancel: Arc<Cancel>,
    pub counters: Arc<Counters>,
    pub nice: u8,
}

/// The pipeline's handle on the metrics thread.
pub(crate) struct MetricsHandle {
    tx: Sender<Control>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Starts the metrics thread; the recorder goes to the export thread.
pub(crate) fn start(s: MetricsStart) -> Result<(MetricsRecorder, MetricsHandle), Error> {
    let reader = SharedReader::new(s.settings.temporality);
    let provider = SdkMeterProvider::builder().with_resource(s.resource).with_reader(reader.clone()).build();
    let meter = provider.meter_with_scope(instrumentation_scope());
    let recorder = MetricsRecorder::new(Instruments::new(&meter));
    let health = register(&meter, s.stats.clone(), s.queue_capacity);
    let (tx, rx) = bounded(1);
    let worker = MetricsWorker {
        provider,
        reader,
        _health: health,
        exporters: s.exporters,
        rx,
        interval: s.settings.interval,
        retry: s.retry,
        cancel: s.cancel,
        counters: s.counters,
        stats: s.stats,
    };
    let thread = spawn("agentops-meter".into(), s.nice, move || worker.run()).map_err(Error::Thread)?;
    Ok((recorder, MetricsHandle { tx, thread: Mutex::new(Some(thread)) }))
}

impl MetricsHandle {
    /// Collects and exports now; waits until `deadline`.
    pub fn collect(&self, deadline: Instant, timeout: Duration) -> Result<(), Error> {
        self.request(Control::Collect, deadline, "flush", timeout)
    }

    /// The last collection, then the thread ends; waits until `deadline` (after it
    /// the thread is left to give up on its own: no request starts after it).
    pub fn shutdown(&self, deadline: Instant, timeout: Duration) -> Result<(), Error> {
        let result = self.request(Control::Shutdown, deadline, "shutdown", timeout);
        if result.is_ok() {
            if let Some(t) = self.thread.lock().take() {
                let _ = t.join();
            }
        }
        result
    }

    fn request(
        &self,
        make: impl FnOnce(Sender<Option<ExportError>>) -> Control,
        deadline: Instant,
        what: &'static str,
        timeout: Duration,
    ) -> Result<(), Error> {
        let timed_out = || Error::Timeout { operation: what, timeout };
        let (ack_tx, ack_rx) = bounded(1);
        match self.tx.send_deadline(make(ack_tx), deadline) {
            Ok(()) => {}
            Err(SendTimeoutError::Timeout(_)) => return Err(timed_out()),
            Err(SendTimeoutError::Disconnected(_)) => return Err(Error::ShutDown),
        }
        match ack_rx.recv_deadline(deadline) {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(Error::Export { dropped: 0, kind: e.kind, message: e.message }),
            Err(RecvTimeoutError::Timeout) => Err(timed_out()),
            Err(RecvTimeoutError::Disconnected) => Err(Error::ShutDown),
        }
    }
}
