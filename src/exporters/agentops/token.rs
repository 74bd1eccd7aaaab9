//! `SessionExporter`: the AgentOps backend, current protocol.
//!
//! On the sending thread (never the caller's): `POST {api}/v3/auth/token` with the
//! API key gets a bearer token and the project id; spans then go as OTLP/HTTP
//! protobuf to `{exporter}/v1/traces`, with the resource attribute
//! `agentops.project.id` and, on LLM spans, the attribute names the AgentOps
//! backend reads (`compat.rs`). A 401 from the
//! OTLP endpoint re-authenticates once and resends. Metrics go the same way, to
//! `{exporter}/v1/metrics`, with the same token. A key the API rejects stops all
//! further attempts (no retry storm): every later batch is counted as dropped.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use parking_lot::Mutex;

use super::answers;
use super::compat::{add_project_id, kv, project_id_overhead, str_value, to_agentops_names, PROJECT_ID};
use super::KeyLatch;
use crate::config::agentops::AgentOpsConfig;
use crate::encode::protocol::Protocol;
use crate::error::config::ConfigError;
use crate::error::export::{ExportError, ExportErrorKind};
use crate::export::batch::ExportBatch;
use crate::export::context::ExportContext;
use crate::export::exporter::{ExportOutcome, Exporter};
use crate::export::metrics::{MetricsExporter, MetricsOutcome};
use crate::exporters::otlp_body::{export_encoded, export_metrics_request, export_request};
use crate::transport::http::{write_buffer_for, ClientSettings, HttpClient, Transports};
use crate::transport::outcome::Response;
use crate::transport::retry::send_with_retry;

#[derive(Debug, Clone)]
struct Token {
    bearer: String,
    project_id: String,
}

/// One client's AgentOps credentials, shared by its sending lanes: one token at a
/// time, and one attempt with a key the API rejects.
#[derive(Debug, Default, Clone)]
pub(crate) struct SharedAuth {
    token: Arc<Mutex<Option<Token>>>,
    latch: KeyLatch,
}

/// Exports to AgentOps with token authentication (see the module docs).
#[derive(Debug)]
pub(crate) struct SessionExporter {
    config: AgentOpsConfig,
    http: HttpClient,
    max_request_bytes: usize,
    auth: SharedAuth,
    /// The encoder writes AgentOps' names into the spans (every span exporter of
    /// the client is this one): batches need only the project id.
    names_encoded: bool,
    buf: Vec<u8>,
    /// A request with the project id spliced in.
    spliced: Vec<u8>,
}

impl SessionExporter {
    /// An exporter sharing credentials with the others of the same client;
    /// requests above `max_request_bytes` are split. `names_encoded`: the encoder
    /// writes AgentOps' names itself.
    ///
    /// # Errors
    /// A [`ConfigError`] when the TLS files no longer load.
    pub(crate) fn new(
        config: AgentOpsConfig,
        max_request_bytes: usize,
        auth: SharedAuth,
        transports: &Transports,
        names_encoded: bool,
    ) -> Result<Self, ConfigError> {
        let c = &config;
        let settings =
            ClientSettings::new(c.timeout, &c.exporter_endpoint, &c.proxy, &c.tls, write_buffer_for(max_request_bytes));
        Ok(SessionExporter {
            http: transports.client(settings)?,
            config,
            max_request_bytes,
            auth,
            names_encoded,
            buf: Vec::new(),
            spliced: Vec::new(),
        })
    }

    /// The token, authenticating first if there is none. The lock is held during
    /// authentication on purpose: another lane needs the same token and would
    /// otherwise ask for a second one.
    fn credentials(&self, cx: &ExportContext<'_>) -> Result<Token, ExportError> {
        let mut token = self.auth.token.lock();
        self.auth.latch.check()?;
        if let Some(t) = &*token {
            return Ok(t.clone());
        }
        let url = format!("{}/v3/auth/token", self.config.api_endpoint);
        let key = self.config.api_key.expose();
        let body = serde_json::to_vec(&serde_json::json!({ "api_key": key })).unwrap_or_default();
        let headers = [("X-API-Key".to_owned(), key.to_owned())];
        let resp = send_with_retry(cx, |deadline| {
            cx.count_request(body.len());
            self.http.post(&url, &headers, "application/json", None, &body, deadline)
        })
        .map_err(|e| match self.auth.latch.note(e, "/v3/auth/token") {
            e if e.kind == ExportErrorKind::Unauthorized => e,
            e => ExportError::new(e.kind, format!("AgentOps authentication failed: {e}")),
        })?;
        let (bearer, project_id) =
            answers::auth_token(&resp.body).map_err(|m| ExportError::new(ExportErrorKind::Failed, m))?;
        let t = Token { bearer: format!("Bearer {bearer}"), project_id };
        *token = Some(t.clone());
        Ok(t)
    }

    /// After a 401 with `failed`: a fresh token, unless another lane already got one.
    fn refresh(&self, failed: &str, cx: &ExportContext<'_>) -> Result<Token, ExportError> {
        {
            let mut token = self.auth.token.lock();
            if token.as_ref().is_some_and(|t| t.bearer == failed) {
                *token = None;
            }
        }
        self.credentials(cx)
    }

    /// Posts an OTLP protobuf body to `{exporter}{path}` with `bearer`.
    fn post(&self, path: &str, body: &[u8], bearer: &str, cx: &ExportContext<'_>) -> Result<Response, ExportError> {
        let url = format!("{}{path}", self.config.exporter_endpoint);
        let headers = [("Authorization".to_owned(), bearer.to_owned())];
        send_with_retry(cx, |deadline| {
            cx.count_request(body.len());
            self.http.post(&url, &headers, Protocol::HttpProtobuf.content_type(), None, body, deadline)
        })
    }

    /// Like `post`; a 401 (the token expired or was revoked) authenticates again,
    /// once, and resends.
    fn post_authenticated(
        &self,
        path: &str,
        body: &[u8],
        token: &Token,
        cx: &ExportContext<'_>,
    ) -> Result<Response, ExportError> {
        match self.post(path, body, &token.bearer, cx) {
            Err(ExportError { kind: ExportErrorKind::Rejected { status: 401 }, .. }) => {
                let fresh = self.refresh(&token.bearer, cx)?;
                match self.post(path, body, &fresh.bearer, cx) {
                    Err(e @ ExportError { kind: ExportErrorKind::Rejected { status: 401 }, .. }) => {
                        let msg = format!("AgentOps refused a fresh token: {e}");
                        Err(ExportError::new(ExportErrorKind::Unauthorized, msg))
                    }
                    other => other,
                }
            }
            other => other,
        }
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
        let token = self.credentials(cx)?;
        let project = token.project_id.as_str();
        let overhead = project_id_overhead(project);
        let (mut buf, mut spliced) = (std::mem::take(&mut self.buf), std::mem::take(&mut self.spliced));
        let max = self.max_request_bytes;
        let direct = batch.wire(Protocol::HttpProtobuf).filter(|b| self.names_encoded && b.len() + overhead <= max);
        let result = match direct {
            // Written directly with AgentOps' names: the project id is spliced in.
            Some(body) if add_project_id(body, project, &mut spliced) => {
                export_encoded(&spliced, batch.len(), Protocol::HttpProtobuf, None, |body, _| {
                    self.post_authenticated("/v1/traces", body, &token, cx)
                })
            }
            _ => {
                let converted;
                let req = if self.names_encoded {
                    batch.to_otlp()
                } else {
                    // Next to other exporters the batch has the GenAI names: a copy
                    // gets AgentOps'.
                    let mut req = batch.to_otlp().clone();
                    req.resource_spans
                        .iter_mut()
                        .flat_map(|rs| &mut rs.scope_spans)
                        .flat_map(|ss| &mut ss.spans)
                        .for_each(to_agentops_names);
                    converted = req;
                    &converted
                };
                let max = max.saturating_sub(overhead).max(1);
                export_request(req, Protocol::HttpProtobuf, max, &mut buf, None, |body, _| {
                    if !add_project_id(body, project, &mut spliced) {
                        let msg = "an encoded request did not frame as one (a bug)";
                        return Err(ExportError::new(ExportErrorKind::Failed, msg));
                    }
                    self.post_authenticated("/v1/traces", &spliced, &token, cx)
                })
            }
        };
        (self.buf, self.spliced) = (buf, spliced);
        result
    }
}

impl MetricsExporter for SessionExporter {
    fn name(&self) -> &str {
        "agentops"
    }

    /// The same OTLP, with the project id on the resource, to `{exporter}/v1/metrics`.
    fn export_metrics(
        &mut self,
        req: &ExportMetricsServiceRequest,
        cx: &ExportContext<'_>,
    ) -> Result<MetricsOutcome, ExportError> {
        let token = self.credentials(cx)?;
        let mut req = req.clone();
        for rm in &mut req.resource_metrics {
            if let Some(r) = &mut rm.resource {
                r.attributes.push(kv(PROJECT_ID, str_value(token.project_id.clone())));
            }
        }
        let mut buf = std::mem::take(&mut self.buf);
        let result = export_metrics_request(&req, Protocol::HttpProtobuf, &mut buf, None, |body, _| {
            self.post_authenticated("/v1/metrics", body, &token, cx)
        });
        self.buf = buf;
        result
    }
}
