//! What a failed request or read was, for `error.type`: the low-cardinality
//! kinds the conventions' `error.type` takes (`timeout`, `connection_failed`, …).

use std::io;

/// A failed request's kind, for `error.type`.
pub(crate) fn error_type(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Timeout(_) => "timeout",
        ureq::Error::Io(io) => io_error_type(io),
        ureq::Error::HostNotFound => "host_not_found",
        ureq::Error::ConnectionFailed => "connection_failed",
        _ => "transport_error",
    }
}

/// An I/O error's kind, for `error.type`.
pub(crate) fn io_error_type(e: &io::Error) -> &'static str {
    // ureq's body reader hands on its own errors (a timeout among them) inside an
    // `io::Error` of kind `Other`.
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
        return error_type(inner);
    }
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timeout",
        _ => "connection_failed",
    }
}
