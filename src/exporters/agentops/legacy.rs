//! `LegacySessionExporter`: the original AgentOps SessionExporter protocol (v2).
//!
//! Per session: `POST /v2/create_session` (API key header) returns a JWT; events go
//! to `POST /v2/create_events` with `Authorization: Bearer {jwt}`; when the session
//! root arrives, `POST /v2/update_session` sends the end state and counts and reads
//! back `token_cost`. A 401 on events calls `POST /v2/reauthorize_jwt` and resends.
//! Spans are turned back into v0.3 events from their attributes; spans that are
//! not events (the application's own spans) have no v2 form and are skipped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::trace::v1::Span;
use parking_lot::Mutex;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use super::answers;
use super::v2_events::{attr_json, is_session_root, root_tags, session_of, to_v2_event};
use super::KeyLatch;
use crate::config::agentops::AgentOpsConfig;
use crate::encode::attr;
use crate::error::config::ConfigError;
use crate::error::export::{ExportError, ExportErrorKind};
use crate::export::batch::ExportBatch;
use crate::export::context::ExportContext;
use crate::export::exporter::{ExportOutcome, Exporter, SessionStart};
use crate::transport::http::{ClientSettings, HttpClient, Transports, SMALL_WRITE_BUFFER};
use crate::transport::retry::send_with_retry;
use crate::util::host::host_name;
use crate::util::time::{iso8601, iso8601_nanos};

/// `token_cost` answers from `update_session`, kept until `Session::end_and_flush`
/// picks them up.
#[derive(Debug, Default)]
pub(crate) struct SessionCosts {
    costs: Mutex<HashMap<Uuid, f64>>,
}

impl SessionCosts {
    /// Costs not picked up are forgotten beyond this many sessions.
    const MAX: usize = 10_000;

    fn insert(&self, id: Uuid, cost: f64) {
        let mut m = self.costs.lock();
        if m.len() >= Self::MAX {
            m.clear();
        }
        m.insert(id, cost);
    }

    pub fn take(&self, id: &Uuid) -> Option<f64> {
        self.costs.lock().remove(id)
    }
}

/// Exports to AgentOps over the v2 session API (see the module docs).
#[derive(Debug)]
pub(crate) struct LegacySessionExporter {
    config: AgentOpsConfig,
    http: HttpClient,
    jwts: HashMap<Uuid, String>,
    ended: HashSet<Uuid>,
    costs: Arc<SessionCosts>,
    latch: KeyLatch,
}

/// What the legacy `create_session` says about the machine, unless opted out.
fn host_env() -> Json {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default();
    let host = host_name().unwrap_or_default();
    json!({
        "SDK": { "AgentOps SDK Version": env!("CARGO_PKG_VERSION"), "Language": "Rust" },
        "OS": { "Hostname": host, "OS": std::env::consts::OS, "Arch": std::env::consts::ARCH },
        "CPU": { "Total cores": cores },
        "Project Working Directory": { "Project Working Directory": cwd },
    })
}

impl LegacySessionExporter {
    /// An exporter over the v2 API, through the pipeline's client for its API
    /// endpoint.
    ///
    /// # Errors
    /// A [`ConfigError`] when the TLS files no longer load.
    pub(crate) fn new(
        config: AgentOpsConfig,
        costs: Arc<SessionCosts>,
        transports: &Transports,
    ) -> Result<Self, ConfigError> {
        let c = &config;
        let settings = ClientSettings::new(c.timeout, &c.api_endpoint, &c.proxy, &c.tls, SMALL_WRITE_BUFFER);
        Ok(LegacySessionExporter {
            http: transports.client(settings)?,
            config,
            jwts: HashMap::new(),
            ended: HashSet::new(),
            costs,
            latch: KeyLatch::default(),
        })
    }

    fn post(&self, path: &str, body: &Json, jwt: Option<&str>, cx: &ExportContext<'_>) -> Result<Vec<u8>, ExportError> {
        let url = format!("{}{path}", self.config.api_endpoint);
        let body = serde_json::to_vec(body).unwrap_or_default();
        let mut headers = vec![("X-Agentops-Api-Key".to_owned(), self.config.api_key.expose().to_owned())];
        if let Some(jwt) = jwt {
            headers.push(("Authorization".to_owned(), format!("Bearer {jwt}")));
        }
        let resp = send_with_retry(cx, |deadline| {
            cx.count_request(body.len());
            self.http.post(&url, &headers, "application/json", None, &body, deadline)
        })?;
        Ok(resp.body)
    }

    fn create_session(
        &mut self,
        id: Uuid,
        tags: &[String],
        started_at: SystemTime,
        cx: &ExportContext<'_>,
    ) -> Result<(), ExportError> {
        self.latch.check()?;
        let mut session = json!({ "session_id": id.to_string(), "init_timestamp": iso8601(started_at), "tags": tags });
        if !self.config.env_data_opt_out {
            session["host_env"] = host_env();
        }
        let resp = self
            .post("/v2/create_session", &json!({ "session": session }), None, cx)
            .map_err(|e| self.latch.note(e, "/v2/create_session"))?;
        let jwt =
            answers::jwt(&resp, "/v2/create_session").map_err(|m| ExportError::new(ExportErrorKind::Failed, m))?;
        self.jwts.insert(id, jwt);
        Ok(())
    }

    /// Posts to a session's endpoint with its JWT, reauthorizing once on a 401.
    fn post_for_session(
        &mut self,
        id: Uuid,
        path: &str,
        body: &Json,
        cx: &ExportContext<'_>,
    ) -> Result<Vec<u8>, ExportError> {
        let jwt = self.jwts.get(&id).cloned().unwrap_or_default();
        match self.post(path, body, Some(&jwt), cx) {
            Err(ExportError { kind: ExportErrorKind::Rejected { status: 401 }, .. }) => {
                let jwt = self.reauthorize(id, cx)?;
                self.post(path, body, Some(&jwt), cx)
            }
            other => other,
        }
    }

    /// A fresh JWT for a session AgentOps already knows (expired, or resumed here).
    fn reauthorize(&mut self, id: Uuid, cx: &ExportContext<'_>) -> Result<String, ExportError> {
        let resp = self
            .post("/v2/reauthorize_jwt", &json!({ "session_id": id.to_string() }), None, cx)
            .map_err(|e| self.latch.note(e, "/v2/reauthorize_jwt"))?;
        let jwt =
            answers::jwt(&resp, "/v2/reauthorize_jwt").map_err(|m| ExportError::new(ExportErrorKind::Failed, m))?;
        self.jwts.insert(id, jwt.clone());
        Ok(jwt)
    }

    fn export_session(&mut self, id: Uuid, spans: &[&Span], cx: &ExportContext<'_>) -> Result<(), ExportError> {
        if !self.jwts.contains_key(&id) {
            // Its start was not seen (the queue was full then): create it now.
            let started = spans.iter().map(|s| s.start_time_unix_nano).min().unwrap_or(0);
            let tags = spans.iter().find(|s| is_session_root(s)).map(|s| root_tags(s)).unwrap_or_default();
            self.create_session(id, &tags, UNIX_EPOCH + std::time::Duration::from_nanos(started), cx)?;
        }
        let events: Vec<Json> = spans.iter().filter_map(|s| to_v2_event(s)).collect();
        if !events.is_empty() {
            self.post_for_session(id, "/v2/create_events", &json!({ "events": events }), cx)?;
        }
        if let Some(root) = spans.iter().find(|s| is_session_root(s)) {
            let a = &root.attributes;
            let count = |t: &str| attr_json(a, &format!("{}{t}", attr::SESSION_EVENT_COUNT_PREFIX));
            let session = json!({
                "session_id": id.to_string(),
                "init_timestamp": iso8601_nanos(root.start_time_unix_nano),
                "end_timestamp": iso8601_nanos(root.end_time_unix_nano),
                "end_state": attr_json(a, attr::SESSION_END_STATE),
                "end_state_reason": attr_json(a, attr::SESSION_END_STATE_REASON),
                "tags": root_tags(root),
                "event_counts": { "llms": count("llms"), "tools": count("tools"), "actions": count("actions"), "errors": count("errors") },
            });
            let resp = self.post_for_session(id, "/v2/update_session", &json!({ "session": session }), cx)?;
            if let Some(cost) = answers::token_cost(&resp) {
                self.costs.insert(id, cost);
            }
            self.jwts.remove(&id);
            if self.ended.len() >= SessionCosts::MAX {
                self.ended.clear();
            }
            self.ended.insert(id);
        }
        Ok(())
    }
}

impl Exporter for LegacySessionExporter {
    fn name(&self) -> &str {
        "agentops-v2"
    }

    fn reads_spans(&self) -> bool {
        false
    }

    /// A new session is created; a resumed one keeps its JWT, or gets a fresh one.
    fn session_started(&mut self, session: &SessionStart, cx: &ExportContext<'_>) -> Result<(), ExportError> {
        match (session.resumed, &session.jwt) {
            (true, Some(jwt)) => drop(self.jwts.insert(session.session_id, jwt.clone())),
            (true, None) => drop(self.reauthorize(session.session_id, cx)?),
            (false, _) => self.create_session(session.session_id, &session.tags, session.started_at, cx)?,
        }
        Ok(())
    }

    fn export(&mut self, batch: &ExportBatch, cx: &ExportContext<'_>) -> Result<ExportOutcome, ExportError> {
        self.latch.check()?;
        let req = batch.to_otlp();
        let mut by_session: Vec<(Uuid, Vec<&Span>)> = Vec::new();
        let mut unplaced = 0u64;
        for span in req.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans) {
            match session_of(span) {
                Some(id) => match by_session.iter_mut().find(|(s, _)| *s == id) {
                    Some((_, v)) => v.push(span),
                    None => by_session.push((id, vec![span])),
                },
                None => unplaced += 1,
            }
        }
        let mut outcome = ExportOutcome::default();
        if unplaced > 0 {
            outcome.message = Some(format!("{unplaced} span(s) outside any session have no v2 form and were skipped"));
        }
        let mut failures = 0u64;
        let mut last_err = None;
        for (id, spans) in by_session {
            if self.ended.contains(&id) {
                // A late span of an ended session: v2 has no way to add it.
                continue;
            }
            if let Err(e) = self.export_session(id, &spans, cx) {
                failures += spans.len() as u64;
                last_err = Some(e);
            }
        }
        match last_err {
            Some(e) if failures == batch.len() as u64 => Err(e),
            Some(e) => {
                outcome.rejected_spans = failures;
                outcome.message = Some(format!("some sessions failed: {e}"));
                Ok(outcome)
            }
            None => Ok(outcome),
        }
    }
}
