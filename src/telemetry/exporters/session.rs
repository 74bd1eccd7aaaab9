//! `SessionExporter`: the AgentOps backend, current protocol.
//!
//! On the sending thread (never the caller's): `POST {api}/v3/auth/token` with the
//! API key gets a bearer token and the project id; spans then go as OTLP/HTTP
//! protobuf to `{exporter}/v1/traces`, with the resource attribute
//! `agentops.project.id` and, on each span, the attribute names the AgentOps
//! backend reads today next to the GenAI semantic-convention ones. A 401 from the
//! OTLP endpoint re-authenticates once and resends. A key the API rejects stops all
//! further attempts (no retry storm): every later batch is counted as dropped.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use parking_lot::Mutex;
use serde_json::Value as Json;
use std::sync::Arc;

use super::otlp::{content_type, export_request};
use super::{ExportBatch, ExportContext, ExportError, ExportErrorKind, ExportOutcome, Exporter};
use crate::config::{AgentOpsConfig, Protocol};
use crate::telemetry::encoder::attr;
use crate::telemetry::http::{send_with_retry, HttpClient, Response};

#[derive(Debug, Default)]
enum Auth {
    #[default]
    None,
    Token {
        bearer: String,
        project_id: String,
    },
    /// The API refused the key; the message says so (without the key).
    Rejected(String),
}

/// One client's AgentOps credentials, shared by its sending lanes: one token at a
/// time, one attempt with a key the API rejects.
#[derive(Debug, Default, Clone)]
pub(crate) struct SharedAuth(Arc<Mutex<Auth>>);

/// Exports to AgentOps with token authentication (see the module docs).
#[derive(Debug)]
pub struct SessionExporter {
    config: AgentOpsConfig,
    http: HttpClient,
    max_request_bytes: usize,
    auth: SharedAuth,
    buf: Vec<u8>,
}

fn str_value(s: String) -> Option<AnyValue> {
    Some(AnyValue { value: Some(any_value::Value::StringValue(s)) })
}

fn kv(key: impl Into<String>, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key: key.into(), value, key_strindex: 0 }
}

fn attr_of<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

/// `(role, text)` of each message in a GenAI message-list JSON attribute.
pub(crate) fn parse_messages(json: &str) -> Vec<(String, String)> {
    let Ok(Json::Array(msgs)) = serde_json::from_str::<Json>(json) else { return Vec::new() };
    msgs.iter()
        .map(|m| {
            let role = m.get("role").and_then(Json::as_str).unwrap_or("user").to_owned();
            let text = m
                .get("parts")
                .and_then(Json::as_array)
                .map(|parts| parts.iter().filter_map(|p| p.get("content").and_then(Json::as_str)).collect::<Vec<_>>())
                .unwrap_or_default()
                .join("");
            (role, text)
        })
        .collect()
}

/// Adds the names the AgentOps backend reads today (`gen_ai.system`,
/// `gen_ai.usage.prompt_tokens`, `gen_ai.prompt.N.*`, …) next to the standard ones.
pub(crate) fn add_agentops_names(span: &mut Span) {
    let a = &span.attributes;
    let mut extra = Vec::new();
    if let Some(v) = attr_of(a, attr::GEN_AI_PROVIDER) {
        extra.push(kv("gen_ai.system", Some(AnyValue { value: Some(v.clone()) })));
    }
    for (from, to) in [
        (attr::GEN_AI_INPUT_TOKENS, "gen_ai.usage.prompt_tokens"),
        (attr::GEN_AI_OUTPUT_TOKENS, "gen_ai.usage.completion_tokens"),
    ] {
        if let Some(v) = attr_of(a, from) {
            extra.push(kv(to, Some(AnyValue { value: Some(v.clone()) })));
        }
    }
    for (from, prefix) in
        [(attr::GEN_AI_INPUT_MESSAGES, "gen_ai.prompt"), (attr::GEN_AI_OUTPUT_MESSAGES, "gen_ai.completion")]
    {
        if let Some(any_value::Value::StringValue(json)) = attr_of(a, from) {
            for (i, (role, content)) in parse_messages(json).into_iter().enumerate() {
                extra.push(kv(format!("{prefix}.{i}.role"), str_value(role)));
                extra.push(kv(format!("{prefix}.{i}.content"), str_value(content)));
            }
        }
    }
    span.attributes.extend(extra);
}

impl SessionExporter {
    /// An exporter for these settings; requests above `max_request_bytes` are split.
    pub fn new(config: AgentOpsConfig, max_request_bytes: usize) -> Self {
        Self::with_auth(config, max_request_bytes, SharedAuth::default())
    }

    /// An exporter sharing credentials with others of the same client.
    pub(crate) fn with_auth(config: AgentOpsConfig, max_request_bytes: usize, auth: SharedAuth) -> Self {
        SessionExporter { http: HttpClient::new(config.timeout), config, max_request_bytes, auth, buf: Vec::new() }
    }

    /// The bearer header and project id, authenticating first if there is no token.
    /// The lock is held during authentication on purpose: another lane needs the
    /// same token and would otherwise ask for a second one. `Unauthorized` (and
    /// remembered) when the API rejects the key.
    fn credentials(&self, cx: &ExportContext<'_>) -> Result<(String, String), ExportError> {
        let mut auth = self.auth.0.lock();
        match &*auth {
            Auth::Token { bearer, project_id } => return Ok((bearer.clone(), project_id.clone())),
            Auth::Rejected(msg) => return Err(ExportError::new(ExportErrorKind::Unauthorized, msg.clone())),
            Auth::None => {}
        }
        let url = format!("{}/v3/auth/token", self.config.api_endpoint);
        let key = self.config.api_key.expose();
        let body = serde_json::to_vec(&serde_json::json!({ "api_key": key })).unwrap_or_default();
        let headers = [("X-API-Key".to_owned(), key.to_owned())];
        let sent = send_with_retry(cx, |deadline| {
            cx.count_request(body.len());
            self.http.post(&url, &headers, "application/json", None, &body, deadline)
        });
        match sent {
            Ok(resp) => {
                let v: Json = serde_json::from_slice(&resp.body).map_err(|e| {
                    ExportError::new(ExportErrorKind::Failed, format!("AgentOps auth answered with invalid JSON: {e}"))
                })?;
                let token = v.get("token").and_then(Json::as_str).ok_or_else(|| {
                    ExportError::new(ExportErrorKind::Failed, "AgentOps auth answered without a token")
                })?;
                let project_id = v.get("project_id").and_then(Json::as_str).unwrap_or_default().to_owned();
                let bearer = format!("Bearer {token}");
                *auth = Auth::Token { bearer: bearer.clone(), project_id: project_id.clone() };
                Ok((bearer, project_id))
            }
            Err(ExportError { kind: ExportErrorKind::Rejected { status: s @ (401 | 403) }, .. }) => {
                let msg = format!(
                    "AgentOps rejected the API key (HTTP {s} from {url}); check AGENTOPS_API_KEY. \
                     Nothing more will be sent to AgentOps by this client."
                );
                *auth = Auth::Rejected(msg.clone());
                Err(ExportError::new(ExportErrorKind::Unauthorized, msg))
            }
            Err(e) => Err(ExportError::new(e.kind, format!("AgentOps authentication failed: {e}"))),
        }
    }

    /// After a 401 with `failed`: a fresh token, unless another lane already got one.
    fn refresh(&self, failed: &str, cx: &ExportContext<'_>) -> Result<(String, String), ExportError> {
        {
            let mut auth = self.auth.0.lock();
            if matches!(&*auth, Auth::Token { bearer, .. } if bearer == failed) {
                *auth = Auth::None;
            }
        }
        self.credentials(cx)
    }

    fn post_traces(&self, body: &[u8], bearer: &str, cx: &ExportContext<'_>) -> Result<Response, ExportError> {
        let url = format!("{}/v1/traces", self.config.exporter_endpoint);
        let headers = [("Authorization".to_owned(), bearer.to_owned())];
        send_with_retry(cx, |deadline| {
            cx.count_request(body.len());
            self.http.post(&url, &headers, content_type(Protocol::HttpProtobuf), None, body, deadline)
        })
    }

    /// The batch as AgentOps wants it: project id on the resource, compat names on
    /// every span.
    fn request_for(&self, batch: &ExportBatch, project_id: &str) -> ExportTraceServiceRequest {
        let mut req = batch.to_otlp().clone();
        for rs in &mut req.resource_spans {
            if let Some(r) = &mut rs.resource {
                r.attributes.push(kv("agentops.project.id", str_value(project_id.to_owned())));
            }
            for span in rs.scope_spans.iter_mut().flat_map(|s| s.spans.iter_mut()) {
                add_agentops_names(span);
            }
        }
        req
    }
}

impl Exporter for SessionExporter {
    fn name(&self) -> &str {
        "agentops"
    }

    fn reads_spans(&self) -> bool {
        false
    }

    fn export(&mut self, batch: &ExportBatch, cx: &ExportContext<'_>) -> Result<ExportOutcome, ExportError> {
        let (bearer, project_id) = self.credentials(cx)?;
        let req = self.request_for(batch, &project_id);
        let mut buf = std::mem::take(&mut self.buf);
        let result = export_request(&req, Protocol::HttpProtobuf, self.max_request_bytes, &mut buf, None, |body, _| {
            match self.post_traces(body, &bearer, cx) {
                Err(ExportError { kind: ExportErrorKind::Rejected { status: 401 }, .. }) => {
                    // The token expired or was revoked: authenticate again, once.
                    let (fresh, _) = self.refresh(&bearer, cx)?;
                    match self.post_traces(body, &fresh, cx) {
                        Err(e @ ExportError { kind: ExportErrorKind::Rejected { status: 401 }, .. }) => {
                            Err(ExportError::new(
                                ExportErrorKind::Unauthorized,
                                format!("AgentOps refused a fresh token: {e}"),
                            ))
                        }
                        other => other,
                    }
                }
                other => other,
            }
        });
        self.buf = buf;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compat_names_are_added() {
        let mut span = Span {
            attributes: vec![
                kv(attr::GEN_AI_PROVIDER, str_value("openai".into())),
                kv(attr::GEN_AI_INPUT_TOKENS, Some(AnyValue { value: Some(any_value::Value::IntValue(7)) })),
                kv(
                    attr::GEN_AI_INPUT_MESSAGES,
                    str_value(r#"[{"role":"system","parts":[{"type":"text","content":"be brief"}]},{"role":"user","parts":[{"type":"text","content":"hi"}]}]"#.into()),
                ),
            ],
            ..Default::default()
        };
        add_agentops_names(&mut span);
        let get = |k: &str| attr_of(&span.attributes, k).cloned();
        assert_eq!(get("gen_ai.system"), Some(any_value::Value::StringValue("openai".into())));
        assert_eq!(get("gen_ai.usage.prompt_tokens"), Some(any_value::Value::IntValue(7)));
        assert_eq!(get("gen_ai.prompt.0.role"), Some(any_value::Value::StringValue("system".into())));
        assert_eq!(get("gen_ai.prompt.1.content"), Some(any_value::Value::StringValue("hi".into())));
        assert!(get("gen_ai.completion.0.role").is_none());
    }
}
