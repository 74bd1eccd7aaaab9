//! `ProviderCapture`: a ureq middleware that records the application's own
//! provider calls, each as one inference span, through a [`ProviderCall`].

use std::io::{Cursor, Read};

use ureq::http::{self, Method};
use ureq::middleware::{Middleware, MiddlewareNext};
use ureq::{AsSendBody, SendBody};

use super::call::ProviderCall;
use super::captured::CapturedBody;
use super::failure::error_type;
use super::routes::{route, BaseUrl};
use crate::adapters::MAX_BODY_BYTES;
use crate::error::config::ConfigError;
use crate::session::scope::Scope;

/// Records the provider calls an application makes through its own
/// [`ureq::Agent`]: add it to the agent, and each call it recognizes is one
/// inference span in the thread's current scope (or the one given with
/// [`scope`](Self::scope)):
///
/// ```
/// use agentops::providers::ProviderCapture;
///
/// let http: ureq::Agent = ureq::Agent::config_builder()
///     .http_status_as_error(false) // so that a provider's error body reaches its span
///     .middleware(ProviderCapture::new().base_url("http://localhost:11434/v1")?)
///     .build()
///     .into();
/// # Ok::<(), agentops::ConfigError>(())
/// ```
///
/// **Recognized:** POSTs to OpenAI's and the compatible providers' hosts (Azure
/// OpenAI, Groq, Mistral, xAI, DeepSeek, Perplexity), Anthropic's, Gemini's and
/// Vertex AI's, and to any base URL registered with [`base_url`](Self::base_url),
/// at `/chat/completions`, `/responses`, `/messages` or
/// `models/{model}:generateContent` / `:streamGenerateContent`. Everything else
/// passes through untouched and unrecorded, as does every request while no scope
/// is current (and none was given).
///
/// **Recorded:** the request's parameters and messages, the response's id, model,
/// usage, finish reasons and tool calls, the cost from the client's price table,
/// and the real call's start (as the request is sent) and end (when the body has
/// been read to its end, or dropped). A streamed body is decoded as the
/// application reads it: nothing is read twice or buffered whole, and a stream the
/// application stops reading ends its span, marked incomplete, when its body is
/// dropped. Failures end the span with status ERROR and `error.type`: an answer of
/// 400 or more (with the provider's error type and message when the agent has
/// `http_status_as_error(false)`; under ureq's default the body never reaches the
/// application, and the span has the status), no connection, a timeout.
///
/// **Never recorded:** headers (`Authorization`, `x-api-key`, …) and the URL's
/// query (Gemini's `key=`); only the host and port are (`server.address`,
/// `server.port`), and the request's credentials are cut out of any error message
/// a provider echoes them in. A request or response body over
/// [`max_body_bytes`](Self::max_body_bytes) is passed on whole but not kept: its
/// call is recorded without content (`agentops.llm.content_omitted`). A request
/// over the limit is sent with chunked transfer encoding, since its length is not
/// known without holding it all.
#[derive(Debug, Clone)]
pub struct ProviderCapture {
    bases: Vec<BaseUrl>,
    scope: Option<Scope>,
    limit: usize,
}

impl Default for ProviderCapture {
    fn default() -> Self {
        ProviderCapture::new()
    }
}

impl ProviderCapture {
    /// A middleware that records the known providers' calls in the current scope.
    pub fn new() -> Self {
        ProviderCapture { bases: Vec::new(), scope: None, limit: MAX_BODY_BYTES }
    }

    /// Recognizes calls under `url` too, by their endpoint path: a LiteLLM proxy,
    /// Ollama (`http://localhost:11434/v1`), vLLM, a company gateway. Their
    /// `gen_ai.provider.name` is the API's (`openai` for `/chat/completions`).
    ///
    /// # Errors
    /// [`ConfigError`] when `url` has no scheme or host.
    pub fn base_url(mut self, url: &str) -> Result<Self, ConfigError> {
        let base = BaseUrl::parse(url).ok_or_else(|| {
            ConfigError::new("ProviderCapture::base_url", url, "is not an absolute URL (scheme and host)")
        })?;
        self.bases.push(base);
        Ok(self)
    }

    /// Records into `scope` rather than the current scope of the calling thread.
    pub fn scope(mut self, scope: &Scope) -> Self {
        self.scope = Some(scope.clone());
        self
    }

    /// The most bytes of one request or response body kept to be read (default
    /// [`MAX_BODY_BYTES`](crate::providers::MAX_BODY_BYTES)).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

impl Middleware for ProviderCapture {
    fn handle(
        &self,
        request: http::Request<SendBody>,
        next: MiddlewareNext,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        if request.method() != Method::POST {
            return next.handle(request);
        }
        let Some(route) = route(request.uri(), &self.bases) else {
            return next.handle(request);
        };
        let Some(scope) = self.scope.clone().or_else(Scope::current) else {
            return next.handle(request);
        };
        let (parts, body) = request.into_parts();
        let where_to = without_query(&parts.uri);
        let mut reader = body.into_reader();
        let mut kept = Vec::new();
        (&mut reader).take(self.limit as u64 + 1).read_to_end(&mut kept).map_err(ureq::Error::Io)?;
        let whole = kept.len() <= self.limit;
        let json = if whole { serde_json::from_slice(&kept).ok() } else { None };
        let mut call = ProviderCall::starting(Some(scope), route.api, json, self.limit).url(parts.uri.to_string());
        if let Some(p) = route.provider {
            call = call.provider(p);
        }
        for secret in secrets(&parts) {
            call = call.redact(secret);
        }
        let mut rest = Cursor::new(&kept[..]).chain(reader);
        let mut sent: &[u8] = &kept;
        // A body kept whole is sent as bytes, so that ureq still sends its length
        // (`as_body` is how ureq's own `send` makes a body of bytes); a longer one
        // is sent on from what was read and the rest.
        let body = if whole { sent.as_body() } else { SendBody::from_reader(&mut rest) };
        match next.handle(http::Request::from_parts(parts, body)) {
            Ok(response) => {
                call.status(response.status().as_u16());
                let (parts, body) = response.into_parts();
                let mut wrapped = ureq::Body::builder();
                if let Some(mime) = body.mime_type() {
                    wrapped = wrapped.mime_type(mime);
                }
                // The body as ureq decoded it (content encoding, charset): the
                // wrapper hands on exactly what the application would have read.
                let captured = CapturedBody::new(body.into_reader(), call);
                Ok(http::Response::from_parts(parts, wrapped.reader(captured)))
            }
            Err(ureq::Error::StatusCode(status)) => {
                // `http_status_as_error(true)`: the body stays unread, as ureq leaves it.
                call.status(status);
                let _ = call.finish();
                Err(ureq::Error::StatusCode(status))
            }
            Err(e) => {
                call.fail(error_type(&e), format!("request to {where_to} failed: {e}"));
                Err(e)
            }
        }
    }
}

/// The credentials a request carries: API key headers, a bearer token, a `key=`.
fn secrets(parts: &http::request::Parts) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key"] {
        for value in parts.headers.get_all(name) {
            let Ok(v) = value.to_str() else { continue };
            out.push(v.to_owned());
            if let Some((_, token)) = v.split_once(' ') {
                out.push(token.trim().to_owned());
            }
        }
    }
    for pair in parts.uri.query().unwrap_or_default().split('&') {
        if let Some(v) = pair.strip_prefix("key=") {
            out.push(v.to_owned());
        }
    }
    out
}

/// Where a request went, for a failure's message: without the query (where
/// Gemini's key travels) and with any userinfo masked.
fn without_query(uri: &http::Uri) -> String {
    let url = uri.to_string();
    crate::util::redact::url(url.split_once('?').map_or(url.as_str(), |(before, _)| before))
}
