//! Reading what was captured, offline: the OTLP JSON lines a client writes (the
//! file exporter's [`DEFAULT_TRACES_FILE`](crate::DEFAULT_TRACES_FILE), the
//! Collector's `otlpjsonfile` format) and the spool's undelivered batches. This is
//! what the `agentops` command (feature `cli`) is made of:
//!
//! - [`CaptureReader`] streams the requests of files and spool directories, a line
//!   at a time, reporting lines that are not requests ([`SkippedLine`]);
//! - [`Selection`] keeps part of each request (`--session`, `--since`);
//! - [`Sessions`] gathers spans by session, in time order, as
//!   [`CapturedSession`]s, which print as the console exporter's tree and summary
//!   line; [`Totals`] adds them up; [`html_report`] draws them as one offline page;
//! - [`Replay`] sends requests on through the crate's own exporters, retry policy
//!   and accounting.
//!
//! ```no_run
//! use agentops::capture::{CaptureReader, Sessions, Totals};
//!
//! let mut sessions = Sessions::new();
//! for item in CaptureReader::open(["agentops-traces.jsonl"])? {
//!     match item {
//!         Ok(captured) => sessions.add(captured.request),
//!         Err(skipped) => eprintln!("{skipped}"),
//!     }
//! }
//! let mut totals = Totals::default();
//! for session in sessions.into_sorted() {
//!     print!("{}", session.tree());
//!     totals.add(&session);
//! }
//! print!("{totals}");
//! # Ok::<(), agentops::Error>(())
//! ```

mod html;
mod reader;
mod replay;
mod select;
mod spans;
mod totals;

pub use html::html_report;
pub use reader::{CaptureReader, CapturedRequest, SkippedLine, MAX_LINE_BYTES};
pub use replay::{Replay, Sent};
pub use select::{parse_session_id, parse_since, Selection};
pub use spans::{AttributeValue, CapturedSession, CapturedSpan, Sessions, MAX_KEPT_VALUE};
pub use totals::{ModelTotals, Totals};
