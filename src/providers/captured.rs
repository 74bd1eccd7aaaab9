//! The response body the application reads, with its provider call watching it
//! pass: every byte is handed on as it is read, the call ends at the body's end,
//! at a read that fails, or when the body is dropped.

use std::io::{self, Read};

use super::call::ProviderCall;
use super::failure::io_error_type;

/// A body reader that records its call as it is read.
pub(crate) struct CapturedBody<R> {
    inner: R,
    /// `None` once the call is recorded.
    call: Option<ProviderCall>,
}

impl<R> CapturedBody<R> {
    pub fn new(inner: R, call: ProviderCall) -> Self {
        CapturedBody { inner, call: Some(call) }
    }
}

impl<R: Read> Read for CapturedBody<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf);
        match &read {
            Ok(0) if !buf.is_empty() => {
                if let Some(call) = self.call.take() {
                    // A failed call is recorded failed; the application reads on.
                    let _ = call.finish();
                }
            }
            Ok(n) => {
                if let Some(call) = &mut self.call {
                    call.push(&buf[..*n]);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                if let Some(call) = self.call.take() {
                    call.fail(io_error_type(e), format!("reading the answer failed: {e}"));
                }
            }
        }
        read
    }
}
