//! What adapters take (a body as JSON, bytes or text) and how they fail
//! ([`ProviderError`]), plus the small readers every adapter uses.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

use crate::event::{LlmEvent, Part};

/// Largest body an adapter reads: far above any real response (a 20 MB one is
/// fine), small enough that a runaway stream cannot exhaust memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Why an adapter could not build an event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProviderError {
    /// The body is not JSON.
    NotJson {
        /// The parser's message.
        detail: String,
    },
    /// The body is JSON, but not this provider's shape.
    Shape {
        /// The provider (`openai`, `anthropic`, `gemini`).
        provider: &'static str,
        /// What was expected.
        detail: String,
    },
    /// The body is larger than [`MAX_BODY_BYTES`].
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// The provider answered with an error (`{"error": …}`).
    Api {
        /// The provider.
        provider: &'static str,
        /// Its error type or code (`rate_limit_error`, `invalid_api_key`, …).
        error_type: String,
        /// Its message.
        message: String,
    },
    /// A stream ended before its end marker: what arrived is in `partial`, which
    /// may be recorded as it is.
    IncompleteStream {
        /// The event built from the chunks that arrived.
        partial: Box<LlmEvent>,
    },
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderError::NotJson { detail } => write!(f, "the body is not JSON: {detail}"),
            ProviderError::Shape { provider, detail } => write!(f, "not a {provider} response: {detail}"),
            ProviderError::TooLarge { bytes } => {
                write!(f, "the body is {bytes} bytes, more than the {MAX_BODY_BYTES} an adapter reads")
            }
            ProviderError::Api { provider, error_type, message } => {
                write!(f, "{provider} error {error_type}: {message}")
            }
            ProviderError::IncompleteStream { .. } => f.write_str("the stream ended before its end marker"),
        }
    }
}

impl std::error::Error for ProviderError {}

impl ProviderError {
    /// JSON that is not `provider`'s shape.
    pub(crate) fn shape(provider: &'static str, detail: impl Into<String>) -> Self {
        ProviderError::Shape { provider, detail: detail.into() }
    }

    /// What `provider` answered with the HTTP error `status`: [`ProviderError::Api`]
    /// with its error type and message when the body says them (`{"error": …}`),
    /// else with the status as the type and the body's start as the message.
    pub fn from_status(provider: &'static str, status: u16, body: &[u8]) -> Self {
        let said = parse(body).ok().and_then(|v| api_error(provider, &v));
        said.unwrap_or_else(|| {
            let text: String = String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_owned();
            ProviderError::Api { provider, error_type: status.to_string(), message: text }
        })
    }

    /// A low-cardinality kind of this error, for `error.type` (see
    /// [`LlmEvent::failed`]): the provider's error type or code for an API error,
    /// else `invalid_response`, `response_too_large` or `incomplete_stream`.
    pub fn error_type(&self) -> Cow<'static, str> {
        match self {
            ProviderError::Api { error_type, .. } => Cow::Owned(error_type.clone()),
            ProviderError::NotJson { .. } | ProviderError::Shape { .. } => Cow::Borrowed("invalid_response"),
            ProviderError::TooLarge { .. } => Cow::Borrowed("response_too_large"),
            ProviderError::IncompleteStream { .. } => Cow::Borrowed("incomplete_stream"),
        }
    }
}

/// A message's content as parts: a string is one text part; an array gives the
/// parts `part` recognizes (others, such as images, are not captured).
pub(crate) fn parts_of(content: Option<&Value>, part: impl Fn(&Value) -> Option<Part>) -> Vec<Part> {
    match content {
        Some(Value::String(s)) => vec![Part::Text(s.clone())],
        Some(Value::Array(parts)) => parts.iter().filter_map(part).collect(),
        _ => Vec::new(),
    }
}

/// A request or response body: a parsed JSON value, or its bytes or text.
pub trait Body {
    /// The body as JSON.
    ///
    /// # Errors
    /// [`ProviderError::NotJson`], or [`ProviderError::TooLarge`] past
    /// [`MAX_BODY_BYTES`].
    fn json(&self) -> Result<Cow<'_, Value>, ProviderError>;
}

fn parse(bytes: &[u8]) -> Result<Cow<'static, Value>, ProviderError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ProviderError::TooLarge { bytes: bytes.len() });
    }
    serde_json::from_slice(bytes).map(Cow::Owned).map_err(|e| ProviderError::NotJson { detail: e.to_string() })
}

impl Body for Value {
    fn json(&self) -> Result<Cow<'_, Value>, ProviderError> {
        Ok(Cow::Borrowed(self))
    }
}
impl Body for [u8] {
    fn json(&self) -> Result<Cow<'_, Value>, ProviderError> {
        parse(self)
    }
}
impl Body for Vec<u8> {
    fn json(&self) -> Result<Cow<'_, Value>, ProviderError> {
        parse(self)
    }
}
impl Body for str {
    fn json(&self) -> Result<Cow<'_, Value>, ProviderError> {
        parse(self.as_bytes())
    }
}
impl Body for String {
    fn json(&self) -> Result<Cow<'_, Value>, ProviderError> {
        parse(self.as_bytes())
    }
}
impl<B: Body + ?Sized> Body for &B {
    fn json(&self) -> Result<Cow<'_, Value>, ProviderError> {
        (**self).json()
    }
}

/// A token count: a non-negative whole number (negative or fractional counts are
/// treated as missing).
pub(crate) fn count(v: &Value, key: &str) -> Option<u64> {
    v.get(key)?.as_u64()
}

/// A string field.
pub(crate) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str()
}

/// `{"error": {...}}` (or a top-level `type: "error"`), as an API error.
pub(crate) fn api_error(provider: &'static str, v: &Value) -> Option<ProviderError> {
    let e = v.get("error")?;
    let (error_type, message) = match e {
        Value::String(s) => ("error".to_owned(), s.clone()),
        Value::Object(_) => (
            text(e, "type")
                .or_else(|| text(e, "code"))
                .or_else(|| text(e, "status"))
                .map(str::to_owned)
                .or_else(|| e.get("code").map(|c| c.to_string()))
                .unwrap_or_else(|| "error".into()),
            text(e, "message").unwrap_or_default().to_owned(),
        ),
        _ => return None,
    };
    Some(ProviderError::Api { provider, error_type, message })
}

/// A JSON value given as text (tool arguments): parsed when it is JSON, kept as a
/// string otherwise.
pub(crate) fn json_or_text(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_owned()))
}

/// The request parameters the GenAI conventions name, from a request body, under
/// the conventions' keys; `renames` maps this provider's keys onto them.
pub(crate) fn request_params(req: &Value, renames: &[(&str, &str)]) -> Option<Value> {
    const KEYS: [&str; 9] = [
        "n",
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "seed",
        "stop_sequences",
        "frequency_penalty",
        "presence_penalty",
    ];
    let obj = req.as_object()?;
    let mut out = serde_json::Map::new();
    for (k, v) in obj {
        let key = renames.iter().find(|(from, _)| from == k).map_or(k.as_str(), |(_, to)| to);
        if KEYS.contains(&key) && !v.is_null() {
            out.insert(key.to_owned(), v.clone());
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// The event of a call, started from what OpenAI-style and Anthropic bodies share:
/// the requested model (or, missing, the answering one), the answering model and
/// the response id.
pub(crate) fn event_of(provider: &'static str, req: &Value, resp: &Value) -> LlmEvent {
    let model = text(req, "model").or_else(|| text(resp, "model")).unwrap_or_default().to_owned();
    let mut e = LlmEvent::new(model).provider(provider);
    if let Some(m) = text(resp, "model") {
        e = e.response_model(m.to_owned());
    }
    if let Some(id) = text(resp, "id") {
        e = e.response_id(id);
    }
    e
}

/// Checks that `v` is an object; the adapters' first test of a body's shape.
pub(crate) fn object<'a>(provider: &'static str, what: &str, v: &'a Value) -> Result<&'a Value, ProviderError> {
    match v {
        Value::Object(_) => Ok(v),
        _ => Err(ProviderError::Shape { provider, detail: format!("the {what} is not a JSON object") }),
    }
}
