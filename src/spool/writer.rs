//! Writing a batch to the spool: room is made first (the oldest files anywhere in
//! the spool are evicted and counted), then the line is written to a locked `.tmp`
//! file, synced, and renamed into place, so readers only ever see complete files.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use parking_lot::Mutex;

use super::destination::SpoolDestination;
use super::files::{self, new_name};
use crate::error::export::ExportError;
use crate::export::batch::ExportBatch;
use crate::stats::{Counters, Warn};

/// One client's view of a spool directory: where, how large, and its counters.
#[derive(Debug)]
pub(crate) struct Spool {
    pub root: PathBuf,
    pub max_bytes: u64,
    pub counters: Arc<Counters>,
    /// One writer at a time in this process, so that eviction sees the sizes the
    /// other writers left (across processes the bound holds to within one batch
    /// per process writing at the same moment).
    write_lock: Mutex<()>,
    /// An eviction episode is under way: writes keep needing room. Its start is
    /// logged once, with what it evicted; it ends when a write finds room.
    evicting: std::sync::atomic::AtomicBool,
}

impl Spool {
    pub fn new(root: PathBuf, max_bytes: u64, counters: Arc<Counters>) -> Self {
        Spool { root, max_bytes, counters, write_lock: Mutex::new(()), evicting: Default::default() }
    }

    /// Writes `req` (`spans` spans) for `dest`.
    ///
    /// # Errors
    /// What went wrong, for the log: the batch is larger than the spool, the spool
    /// is full of files being delivered, or an I/O error.
    pub fn write(&self, dest: &SpoolDestination, req: &ExportTraceServiceRequest, spans: u64) -> Result<(), String> {
        let mut line = serde_json::to_vec(req).map_err(|e| format!("JSON encoding failed: {e}"))?;
        line.push(b'\n');
        self.write_line(dest, &line, spans)
    }

    /// Writes one or more complete JSON lines holding `spans` spans as one file.
    pub(crate) fn write_line(&self, dest: &SpoolDestination, lines: &[u8], spans: u64) -> Result<(), String> {
        let size = lines.len() as u64;
        if size > self.max_bytes {
            return Err(format!(
                "a batch of {size} bytes is larger than the spool's bound of {} bytes",
                self.max_bytes
            ));
        }
        let _one_writer = self.write_lock.lock();
        self.make_room(size).map_err(|e| format!("making room in {}: {e}", self.root.display()))?;
        let name = new_name(spans);
        let tmp = dest.dir.join(format!("{name}.tmp"));
        let io = |e: io::Error| format!("writing {}: {e}", tmp.display());
        // Recreated if someone removed it (a user cleaning up the spool by hand).
        std::fs::create_dir_all(&dest.dir).map_err(io)?;
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(io)?;
        let written = write_locked(&mut file, lines).and_then(|()| std::fs::rename(&tmp, dest.dir.join(&name)));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        Ok(())
    }

    /// Evicts the oldest complete files (of any destination) until `incoming` more
    /// bytes fit under the bound. Files being delivered (locked) are skipped.
    fn make_room(&self, incoming: u64) -> io::Result<()> {
        let mut all = Vec::new();
        let mut total = 0;
        for dir in files::destinations(&self.root)? {
            let listing = files::list(&dir)?;
            total += listing.bytes();
            all.extend(listing.complete);
        }
        if total + incoming <= self.max_bytes {
            self.evicting.store(false, std::sync::atomic::Ordering::Relaxed);
            return Ok(());
        }
        let (mut files_evicted, mut spans_evicted) = (0u64, 0u64);
        all.sort_by(|a, b| a.name.cmp(&b.name));
        for f in all {
            if total + incoming <= self.max_bytes {
                break;
            }
            let Ok(handle) = File::open(&f.path) else { continue }; // delivered meanwhile
            if handle.try_lock().is_err() {
                continue; // being delivered
            }
            if std::fs::remove_file(&f.path).is_ok() {
                total -= f.bytes.min(total);
                Counters::add(&self.counters.spool_spans_evicted, f.spans);
                Counters::add(&self.counters.spool_files_evicted, 1);
                (files_evicted, spans_evicted) = (files_evicted + 1, spans_evicted + f.spans);
            }
        }
        if files_evicted > 0 && !self.evicting.swap(true, std::sync::atomic::Ordering::Relaxed) {
            crate::util::say::say(
                log::Level::Warn,
                format_args!(
                    "the spool {} reached its bound of {} bytes: {files_evicted} file(s) with {spans_evicted} span(s) \
                     evicted, oldest first; while it stays full, evictions are only counted (stats().spool)",
                    self.root.display(),
                    self.max_bytes
                ),
            );
        }
        if total + incoming <= self.max_bytes {
            Ok(())
        } else {
            Err(io::Error::other("the spool is full of files being delivered"))
        }
    }
}

/// Writes under the file's lock (so a reader never takes a live `.tmp` for a
/// crash's leftover) and syncs, so the rename publishes complete data.
fn write_locked(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    file.try_lock().map_err(io::Error::from)?;
    file.write_all(bytes)?;
    file.sync_data()
}

impl Spool {
    /// Keeps a batch `exporter` could not deliver (`why`); whether it is on disk now.
    pub fn keep(&self, dest: &SpoolDestination, batch: &ExportBatch, exporter: &str, why: &ExportError) -> bool {
        match self.write(dest, batch.to_otlp(), batch.len() as u64) {
            Ok(()) => {
                self.counters.warn_once(Warn::Spooled, || {
                    format!(
                        "{exporter} exporter: {why}; the spans are kept in the spool {} for later",
                        self.root.display()
                    )
                });
                true
            }
            Err(e) => {
                let msg = format!("{exporter} exporter: {why}; the spool could not keep the batch: {e}");
                self.counters.warn_once(Warn::Spool, || msg.clone());
                self.counters.set_last_error(msg);
                false
            }
        }
    }
}
