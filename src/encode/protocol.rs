//! `Protocol`: which OTLP/HTTP encoding request bodies are written in.

/// OTLP/HTTP body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// `application/x-protobuf` (`http/protobuf`), the default.
    #[default]
    HttpProtobuf,
    /// `application/json` (`http/json`).
    HttpJson,
}

impl Protocol {
    /// The `Content-Type` of request bodies.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "application/x-protobuf",
            Protocol::HttpJson => "application/json",
        }
    }
}
