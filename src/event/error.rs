//! `ErrorEvent`: something that went wrong.

use std::borrow::Cow;
use std::time::SystemTime;

use uuid::Uuid;

use super::common::{common_setters, EventCommon, EventRef};

/// Something that went wrong. Recording one sets ERROR status on its own span and on
/// every open ancestor (the enclosing action scopes and the session root).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ErrorEvent {
    /// Common fields.
    pub common: EventCommon,
    /// Error type, e.g. the Rust type name or an error class (`error.type`).
    pub error_type: Cow<'static, str>,
    /// An error code, if there is one.
    pub code: Option<String>,
    /// Human-readable details (`exception.message`).
    pub details: Option<String>,
    /// Free-form logs or a backtrace (`exception.stacktrace`).
    pub logs: Option<String>,
    /// The event that triggered the error.
    pub trigger: Option<EventRef>,
}

impl ErrorEvent {
    /// An error of the given type, now.
    pub fn new(error_type: impl Into<Cow<'static, str>>) -> Self {
        ErrorEvent {
            common: EventCommon::now(),
            error_type: error_type.into(),
            code: None,
            details: None,
            logs: None,
            trigger: None,
        }
    }

    /// An error event built from any error: its type name becomes `error_type`, its
    /// message and its chain of sources become `details`.
    pub fn from_error<E: std::error::Error + ?Sized>(err: &E) -> Self {
        let mut details = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            details.push_str(": ");
            details.push_str(&s.to_string());
            source = s.source();
        }
        let type_name = std::any::type_name::<E>();
        ErrorEvent::new(type_name).details(details)
    }

    common_setters!();
    /// Sets the error code.
    pub fn code(mut self, c: impl Into<String>) -> Self {
        self.code = Some(c.into());
        self
    }
    /// Sets the details.
    pub fn details(mut self, d: impl Into<String>) -> Self {
        self.details = Some(d.into());
        self
    }
    /// Sets the logs (e.g. a backtrace).
    pub fn logs(mut self, l: impl Into<String>) -> Self {
        self.logs = Some(l.into());
        self
    }
    /// Links the error to the event that triggered it.
    pub fn trigger(mut self, event: EventRef) -> Self {
        self.trigger = Some(event);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[test]
    fn error_event_collects_source_chain() {
        #[derive(Debug)]
        struct Inner;
        impl fmt::Display for Inner {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("disk full")
            }
        }
        impl std::error::Error for Inner {}
        #[derive(Debug)]
        struct Outer(Inner);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("save failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = ErrorEvent::from_error(&Outer(Inner));
        assert_eq!(e.details.as_deref(), Some("save failed: disk full"));
        assert!(e.error_type.ends_with("Outer"), "{}", e.error_type);
    }
}
