//! The AgentOps backend against a fake AgentOps server (a real HTTP server on
//! 127.0.0.1, over http and https) that checks headers and bodies strictly, issues tokens and JWTs, can
//! force 401s, and records what arrived.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentops::{
    AgentOpsConfig, AgentOpsProtocol, Client, EndState, ErrorEvent, LlmEvent, OtelConfig, RetryPolicy, ToolEvent,
};
use common::metrics::{histogram, metric};
use common::{attr_int, attr_str, base_url, by_trace, ca, closed_port, Reply, Request, Scheme, TestServer};
use serde_json::{json, Value as Json};

const KEY: &str = "6f1c2b1e-3a4d-4c5e-9f00-112233445566";
const LONG: Duration = Duration::from_secs(60);

/// A latch the test opens; the auth endpoint waits on it when set.
type Gate = Arc<(Mutex<bool>, std::sync::Condvar)>;

/// What the fake server knows and how it misbehaves on request.
#[derive(Default)]
struct Fake {
    auth_calls: AtomicU64,
    tokens: AtomicU64,
    valid_tokens: Mutex<Vec<String>>,
    jwts: Mutex<HashMap<String, String>>, // jwt -> session id
    jwt_counter: AtomicU64,
    reject_key: AtomicBool,
    traces_401_once: AtomicBool,
    events_401_once: AtomicBool,
    auth_gate: Mutex<Option<Gate>>,
    violations: Mutex<Vec<String>>,
}

impl Fake {
    fn violation(&self, r: &Request, what: impl Into<String>) -> Reply {
        let msg = format!("{} {}: {}", r.method, r.path, what.into());
        self.violations.lock().unwrap().push(msg.clone());
        Reply::json(400, json!({ "error": msg }))
    }

    fn handle(&self, r: &Request) -> Reply {
        if r.method != "POST" {
            return self.violation(r, "expected POST");
        }
        match r.path.as_str() {
            "/v3/auth/token" => self.auth(r),
            "/v1/traces" | "/v1/metrics" => self.otlp(r),
            "/v2/create_session" => self.create_session(r),
            "/v2/create_events" => self.with_jwt(r, |_| Reply::json(200, json!({"status": "ok"}))),
            "/v2/update_session" => {
                self.with_jwt(r, |_| Reply::json(200, json!({"status": "ok", "token_cost": "0.0123"})))
            }
            "/v2/reauthorize_jwt" => self.reauthorize(r),
            _ => Reply::status(404),
        }
    }

    fn auth(&self, r: &Request) -> Reply {
        self.auth_calls.fetch_add(1, Ordering::SeqCst);
        let gate = self.auth_gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            let (open, cv) = &*gate;
            let g = open.lock().unwrap();
            let _g = cv.wait_timeout_while(g, LONG, |open| !*open).unwrap();
        }
        if r.header("content-type") != Some("application/json") {
            return self.violation(r, "content type");
        }
        let body: Json = match serde_json::from_slice(&r.body) {
            Ok(b) => b,
            Err(e) => return self.violation(r, format!("body is not JSON: {e}")),
        };
        if body.get("api_key").and_then(Json::as_str) != r.header("x-api-key") {
            return self.violation(r, "X-API-Key header and api_key body differ");
        }
        if self.reject_key.load(Ordering::SeqCst) || r.header("x-api-key") != Some(KEY) {
            return Reply::json(401, json!({"error": "invalid api key"}));
        }
        let token = format!("tok-{}", self.tokens.fetch_add(1, Ordering::SeqCst) + 1);
        self.valid_tokens.lock().unwrap().push(token.clone());
        Reply::json(200, json!({ "token": token, "project_id": "proj-1" }))
    }

    fn otlp(&self, r: &Request) -> Reply {
        if r.header("content-type") != Some("application/x-protobuf") {
            return self.violation(r, "AgentOps OTLP must be protobuf");
        }
        let Some(token) = r.header("authorization").and_then(|a| a.strip_prefix("Bearer ")) else {
            return self.violation(r, "no bearer token");
        };
        if !self.valid_tokens.lock().unwrap().iter().any(|t| t == token) {
            return Reply::status(401);
        }
        if self.traces_401_once.swap(false, Ordering::SeqCst) {
            // The token "expired": it stops working from now on.
            self.valid_tokens.lock().unwrap().retain(|t| t != token);
            return Reply::status(401);
        }
        if String::from_utf8_lossy(&r.body).contains(KEY) {
            return self.violation(r, "the API key appears in the spans");
        }
        Reply::ok()
    }

    fn create_session(&self, r: &Request) -> Reply {
        if r.header("x-agentops-api-key") != Some(KEY) {
            return if r.header("x-agentops-api-key").is_some() {
                Reply::json(401, json!({"error": "invalid api key"}))
            } else {
                self.violation(r, "no X-Agentops-Api-Key")
            };
        }
        if self.reject_key.load(Ordering::SeqCst) {
            return Reply::status(401);
        }
        let body = r.json();
        let s = &body["session"];
        let Some(id) = s["session_id"].as_str().filter(|id| uuid::Uuid::parse_str(id).is_ok()) else {
            return self.violation(r, "session.session_id is not a UUID");
        };
        if !is_iso(&s["init_timestamp"]) || !s["tags"].is_array() {
            return self.violation(r, format!("bad session shape: {s}"));
        }
        let jwt = format!("jwt-{}", self.jwt_counter.fetch_add(1, Ordering::SeqCst) + 1);
        self.jwts.lock().unwrap().insert(jwt.clone(), id.to_owned());
        Reply::json(200, json!({ "status": "ok", "jwt": jwt, "session_url": "x" }))
    }

    fn reauthorize(&self, r: &Request) -> Reply {
        if r.header("x-agentops-api-key") != Some(KEY) {
            return self.violation(r, "no X-Agentops-Api-Key");
        }
        let body = r.json();
        let Some(id) = body["session_id"].as_str() else { return self.violation(r, "no session_id") };
        let jwt = format!("jwt-{}", self.jwt_counter.fetch_add(1, Ordering::SeqCst) + 1);
        self.jwts.lock().unwrap().insert(jwt.clone(), id.to_owned());
        Reply::json(200, json!({ "jwt": jwt }))
    }

    /// Checks the Bearer JWT belongs to the session(s) in the body.
    fn with_jwt(&self, r: &Request, ok: impl Fn(&Json) -> Reply) -> Reply {
        if r.header("x-agentops-api-key") != Some(KEY) {
            return self.violation(r, "no X-Agentops-Api-Key");
        }
        let Some(jwt) = r.header("authorization").and_then(|a| a.strip_prefix("Bearer ")) else {
            return self.violation(r, "no bearer jwt");
        };
        let Some(session) = self.jwts.lock().unwrap().get(jwt).cloned() else { return Reply::status(401) };
        let body = r.json();
        if r.path == "/v2/create_events" {
            if self.events_401_once.swap(false, Ordering::SeqCst) {
                self.jwts.lock().unwrap().remove(jwt);
                return Reply::status(401);
            }
            let Some(events) = body["events"].as_array() else { return self.violation(r, "no events array") };
            for e in events {
                if let Err(why) = check_event(e, &session) {
                    return self.violation(r, why);
                }
            }
        } else {
            let s = &body["session"];
            if s["session_id"].as_str() != Some(session.as_str()) {
                return self.violation(r, "update for another session than the jwt's");
            }
            if !is_iso(&s["end_timestamp"]) || s["end_state"].as_str().is_none() || !s["event_counts"].is_object() {
                return self.violation(r, format!("bad update shape: {s}"));
            }
        }
        ok(&body)
    }
}

fn is_iso(v: &Json) -> bool {
    // 2024-05-06T12:53:20.123456+00:00
    v.as_str()
        .is_some_and(|s| s.len() == 32 && s.as_bytes()[10] == b'T' && s.ends_with("+00:00") && s.as_bytes()[19] == b'.')
}

fn check_event(e: &Json, session: &str) -> Result<(), String> {
    let need = |k: &str| if e.get(k).is_some() { Ok(()) } else { Err(format!("event lacks {k}: {e}")) };
    for k in ["id", "event_type", "init_timestamp", "end_timestamp", "session_id"] {
        need(k)?;
    }
    if e["session_id"].as_str() != Some(session) {
        return Err(format!("event of another session: {e}"));
    }
    if !is_iso(&e["init_timestamp"]) || !is_iso(&e["end_timestamp"]) {
        return Err(format!("timestamps not ISO-8601 with microseconds: {e}"));
    }
    let fields: &[&str] = match e["event_type"].as_str() {
        Some("llms") => &["model", "prompt", "completion", "prompt_tokens", "completion_tokens", "cost"],
        Some("actions") => &["action_type", "params", "returns", "logs", "screenshot"],
        Some("tools") => &["name", "params", "returns", "logs"],
        Some("errors") => &["error_type", "code", "details", "logs", "trigger_event_id", "trigger_event_type"],
        other => return Err(format!("unknown event_type {other:?}")),
    };
    fields.iter().try_for_each(|k| need(k))
}

fn fake(scheme: Scheme) -> (Arc<Fake>, TestServer) {
    let f = Arc::new(Fake::default());
    let f2 = f.clone();
    (f, TestServer::start_as(scheme, 0, move |r| f2.handle(r)))
}

/// `config` trusting the test CA, for a server of `scheme`.
fn trusting(scheme: Scheme, config: AgentOpsConfig) -> AgentOpsConfig {
    match ca(scheme) {
        Some(ca) => config.ca_certificate(ca),
        None => config,
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(10)
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(200))
        .max_elapsed(Duration::from_secs(30))
}

fn client(server: &TestServer, protocol: AgentOpsProtocol) -> Client {
    let scheme = if server.ca().is_some() { Scheme::Https } else { Scheme::Http };
    client_to(scheme, &server.base_url(), protocol)
}

fn client_to(scheme: Scheme, url: &str, protocol: AgentOpsProtocol) -> Client {
    Client::new(
        OtelConfig::builder()
            .agentops(trusting(
                scheme,
                AgentOpsConfig::new(KEY)
                    .api_endpoint(url)
                    .exporter_endpoint(url)
                    .app_url("https://app.example")
                    .protocol(protocol),
            ))
            .retry(fast_retry())
            // Exports only on flush or shutdown: one batch per test, exact counts.
            .batch(agentops::BatchConfig::default().scheduled_delay(Duration::from_secs(3600)))
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// The LLM span of `hi` → `hello` (openai, 3 + 5 tokens) with the names AgentOps
/// reads, each once, and the content once: not also as the GenAI messages JSON.
fn assert_as_agentops_reads_it(llm: &opentelemetry_proto::tonic::trace::v1::Span) {
    let a = &llm.attributes;
    assert_eq!(attr_str(a, "gen_ai.system"), Some("openai"));
    assert_eq!(attr_str(a, "gen_ai.provider.name"), Some("openai"));
    assert_eq!(attr_int(a, "gen_ai.usage.prompt_tokens"), Some(3));
    assert_eq!(attr_int(a, "gen_ai.usage.completion_tokens"), Some(5));
    assert_eq!(attr_int(a, "gen_ai.usage.input_tokens"), Some(3));
    assert_eq!(attr_str(a, "gen_ai.prompt.0.role"), Some("user"));
    assert_eq!(attr_str(a, "gen_ai.prompt.0.content"), Some("hi"));
    assert_eq!(attr_str(a, "gen_ai.completion.0.role"), Some("assistant"));
    assert_eq!(attr_str(a, "gen_ai.completion.0.content"), Some("hello"));
    for gone in ["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.prompt.1.content"] {
        assert!(a.iter().all(|kv| kv.key != gone), "{gone} in {a:?}");
    }
    let mut keys: Vec<&str> = a.iter().map(|kv| kv.key.as_str()).collect();
    keys.sort_unstable();
    assert!(keys.windows(2).all(|w| w[0] != w[1]), "a key twice: {keys:?}");
}

/// Next to another exporter, AgentOps still gets its names (a converted copy),
/// while the other exporter gets the GenAI ones.
#[test]
fn next_to_another_exporter_agentops_gets_its_names_and_the_other_the_genai_ones() {
    let (f, server) = fake(Scheme::Http);
    let memory = agentops::exporters::InMemoryExporter::new();
    let url = server.base_url();
    let client = Client::new(
        OtelConfig::builder()
            .agentops(AgentOpsConfig::new(KEY).api_endpoint(&url).exporter_endpoint(&url))
            .in_memory(memory.clone())
            .enable_metrics(false)
            .build()
            .unwrap(),
    )
    .unwrap();
    let s = client.start_session(&["mixed"]);
    s.record(LlmEvent::new("gpt-4o").provider("openai").prompt("hi").completion("hello").tokens(3, 5));
    s.end(EndState::Success, "");
    client.shutdown(LONG).unwrap();
    assert_clean(&f);
    let spans = server.accepted_spans();
    let (llm, res) = spans.iter().find(|(s, _)| s.name == "chat gpt-4o").unwrap();
    assert_as_agentops_reads_it(llm);
    assert_eq!(res.iter().filter(|kv| kv.key == "agentops.project.id").count(), 1);
    let local = memory.spans().into_iter().find(|s| s.name == "chat gpt-4o").unwrap();
    let keys: Vec<String> = local.attributes.iter().map(|kv| kv.key.to_string()).collect();
    assert!(keys.contains(&"gen_ai.input.messages".to_owned()), "{keys:?}");
    assert!(!keys.iter().any(|k| k.starts_with("gen_ai.prompt.") || k == "gen_ai.system"), "{keys:?}");
}

fn assert_clean(f: &Fake) {
    let v = f.violations.lock().unwrap();
    assert!(v.is_empty(), "the fake AgentOps server saw protocol violations: {v:#?}");
}

on_both_schemes! {
    fn token_flow_bearer_spans_and_compat_names(scheme: Scheme) {
        let (f, server) = fake(scheme);
        let client = client(&server, AgentOpsProtocol::Otlp);
        let s = client.start_session(&["agentops"]);
        assert_eq!(
            s.replay_url().unwrap(),
            format!("https://app.example/sessions?trace_id={}", s.id().simple()),
            "the replay URL names the trace id"
        );
        s.record(LlmEvent::new("gpt-4o").provider("openai").prompt("hi").completion("hello").tokens(3, 5));
        s.record(ToolEvent::new("search").params(&"q"));
        let summary = s.end(EndState::Success, "done");
        assert_eq!(summary.replay_url.as_deref(), s.replay_url());
        client.shutdown(LONG).unwrap();
        assert_clean(&f);

        let auth = server.requests_to("/v3/auth/token");
        assert_eq!(auth.len(), 1, "one token for the whole run");
        assert_eq!(auth[0].json(), json!({ "api_key": KEY }));
        let traces = server.requests_to("/v1/traces");
        assert!(traces.iter().all(|r| r.header("authorization") == Some("Bearer tok-1")));
        let spans = server.accepted_spans();
        assert_eq!(spans.len(), 3);
        for (_, res) in &spans {
            assert_eq!(attr_str(res, "agentops.project.id"), Some("proj-1"));
        }
        let (llm, _) = spans.iter().find(|(s, _)| s.name == "chat gpt-4o").unwrap();
        assert_as_agentops_reads_it(llm);
        assert_eq!(by_trace(&spans).len(), 1);
        let st = client.stats();
        assert_eq!((st.spans_exported, st.spans_dropped()), (3, 0));

        // Metrics go the same way: the same token, protobuf, the project id on the resource.
        let metrics = server.requests_to("/v1/metrics");
        assert_eq!(metrics.len(), 1, "one collection, at shutdown");
        assert_eq!(metrics[0].header("authorization"), Some("Bearer tok-1"));
        let req = metrics[0].otlp_metrics();
        let res = &req.resource_metrics[0].resource.as_ref().unwrap().attributes;
        assert_eq!(attr_str(res, "agentops.project.id"), Some("proj-1"));
        let (points, _) = histogram(metric(&req, "gen_ai.client.token.usage"));
        let tokens: f64 = points.iter().map(|p| p.sum.unwrap()).sum();
        assert_eq!(tokens, 8.0, "3 input + 5 output tokens");
        assert_eq!((st.metrics_exports, st.metrics_exports_failed), (1, 0));
}
}

on_both_schemes! {
    fn a_401_on_spans_reauthenticates_once_and_resends(scheme: Scheme) {
        let (f, server) = fake(scheme);
        f.traces_401_once.store(true, Ordering::SeqCst);
        let client = client(&server, AgentOpsProtocol::Otlp);
        let s = client.start_session(&["reauth"]);
        s.record(LlmEvent::new("m"));
        s.end(EndState::Success, "");
        client.shutdown(LONG).unwrap();
        assert_clean(&f);
        assert_eq!(server.requests_to("/v3/auth/token").len(), 2);
        let traces = server.requests_to("/v1/traces");
        assert_eq!(traces.iter().map(|r| r.status).collect::<Vec<_>>(), vec![401, 200]);
        assert_eq!(traces[1].header("authorization"), Some("Bearer tok-2"));
        assert_eq!(server.accepted_spans().len(), 2);
        assert_eq!(client.stats().spans_exported, 2);
}
}

on_both_schemes! {
    fn a_rejected_key_is_reported_once_counted_and_never_retried(scheme: Scheme) {
        let (f, server) = fake(scheme);
        f.reject_key.store(true, Ordering::SeqCst);
        let client = client(&server, AgentOpsProtocol::Otlp);
        let s = client.start_session(&["bad-key"]);
        s.record(LlmEvent::new("m"));
        let err = client.flush(LONG).unwrap_err();
        assert!(err.to_string().contains("rejected the API key"), "{err}");
        s.record(LlmEvent::new("m"));
        s.end(EndState::Success, "");
        let err = client.shutdown(LONG).unwrap_err();
        assert!(!err.to_string().contains(KEY), "the key never appears in errors");
        assert_eq!(server.requests_to("/v3/auth/token").len(), 1, "no retry storm");
        assert!(server.requests_to("/v1/traces").is_empty());
        let st = client.stats();
        assert_eq!(st.spans_recorded, 3);
        assert_eq!(st.spans_dropped_rejected, 3);
        assert_eq!(st.spans_exported, 0);
        let last = st.last_error.unwrap();
        assert!(last.contains("rejected the API key") && !last.contains(KEY), "{last}");
        assert_clean(&f);
}
}

on_both_schemes! {
    fn start_session_does_not_wait_for_authentication(scheme: Scheme) {
        let (f, server) = fake(scheme);
        let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        *f.auth_gate.lock().unwrap() = Some(gate.clone());
        let client = client(&server, AgentOpsProtocol::Otlp);
        let first = client.start_session(&["first"]);
        first.record(LlmEvent::new("m"));
        // Start an export: the sending thread now authenticates, held at the gate.
        let _ = client.flush(Duration::from_millis(1));
        let deadline = Instant::now() + LONG;
        while f.auth_calls.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(f.auth_calls.load(Ordering::SeqCst), 1, "authentication is in progress");
        let s = client.start_session(&["slow-auth"]);
        for _ in 0..10 {
            s.record(LlmEvent::new("m"));
        }
        s.end(EndState::Success, "");
        first.end(EndState::Success, "");
        // All of that returned while the auth endpoint was still holding its answer.
        assert!(!*gate.0.lock().unwrap(), "the caller waited for the auth endpoint");
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        client.shutdown(LONG).unwrap();
        assert_eq!(server.accepted_spans().len(), 13);
        assert_clean(&f);
}
}

on_both_schemes! {
    fn an_api_down_at_start_then_up_gets_everything(scheme: Scheme) {
        let port = closed_port();
        let url = base_url(scheme, port);
        let client = client_to(scheme, &url, AgentOpsProtocol::Otlp);
        let s = client.start_session(&["down"]);
        for _ in 0..5 {
            s.record(ToolEvent::new("t"));
        }
        s.end(EndState::Success, "");
        let _ = client.flush(Duration::from_millis(1)); // start the export
        let deadline = Instant::now() + LONG;
        while client.stats().retries == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let f = Arc::new(Fake::default());
        let f2 = f.clone();
        let server = TestServer::start_as(scheme, port, move |r| f2.handle(r));
        client.shutdown(LONG).unwrap();
        assert_eq!(server.accepted_spans().len(), 6);
        assert_eq!(client.stats().spans_exported, 6);
        assert_clean(&f);
}
}

on_both_schemes! {
    fn legacy_v2_full_lifecycle(scheme: Scheme) {
        let (f, server) = fake(scheme);
        let client = client(&server, AgentOpsProtocol::LegacyV2);
        let s = client.start_session(&["legacy", "v2"]);
        assert_eq!(s.replay_url().unwrap(), format!("https://app.example/drilldown?session_id={}", s.id()));
        let llm = s.record(LlmEvent::new("gpt-4o").prompt("2+2?").completion("4").tokens(4, 1).cost(0.001));
        s.record(ToolEvent::new("calc").params(&json!({"expr": "2+2"})).returns(&4));
        let plan = s.start_action("plan");
        plan.returns(&"done");
        plan.end();
        s.record(ErrorEvent::new("Oops").code("E1").details("went wrong").trigger(llm));
        let summary = s.end_and_flush(EndState::Success, "answered", LONG).unwrap();
        assert_eq!(summary.token_cost, Some(0.0123));
        assert_eq!(summary.event_counts.total(), 4);
        client.shutdown(LONG).unwrap();
        assert_clean(&f);

        let create = server.requests_to("/v2/create_session");
        assert_eq!(create.len(), 1);
        let cs = create[0].json();
        assert_eq!(cs["session"]["session_id"], s.id().to_string());
        assert_eq!(cs["session"]["tags"], json!(["legacy", "v2"]));
        assert_eq!(cs["session"]["host_env"]["SDK"]["Language"], "Rust");
        let events: Vec<Json> = server
            .requests_to("/v2/create_events")
            .iter()
            .flat_map(|r| {
                assert_eq!(r.header("authorization"), Some("Bearer jwt-1"));
                r.json()["events"].as_array().unwrap().clone()
            })
            .collect();
        assert_eq!(events.len(), 4);
        let by_type = |t: &str| events.iter().find(|e| e["event_type"] == t).unwrap_or_else(|| panic!("no {t}")).clone();
        let l = by_type("llms");
        assert_eq!(l["model"], "gpt-4o");
        assert_eq!(l["prompt"], json!([{"role": "user", "content": "2+2?"}]));
        assert_eq!(l["completion"], json!({"role": "assistant", "content": "4"}));
        assert_eq!((l["prompt_tokens"].as_i64(), l["completion_tokens"].as_i64()), (Some(4), Some(1)));
        assert_eq!(l["cost"], 0.001);
        assert_eq!(l["id"], llm.id.to_string());
        let t = by_type("tools");
        assert_eq!((t["name"].as_str(), &t["params"], &t["returns"]), (Some("calc"), &json!({"expr": "2+2"}), &json!(4)));
        let a = by_type("actions");
        assert_eq!((a["action_type"].as_str(), &a["returns"]), (Some("plan"), &json!("done")));
        let e = by_type("errors");
        assert_eq!(
            (e["error_type"].as_str(), e["code"].as_str(), e["details"].as_str()),
            (Some("Oops"), Some("E1"), Some("went wrong"))
        );
        assert_eq!(
            (e["trigger_event_id"].as_str(), e["trigger_event_type"].as_str()),
            (Some(llm.id.to_string().as_str()), Some("llms"))
        );
        let update = server.requests_to("/v2/update_session");
        assert_eq!(update.len(), 1);
        let u = &update[0].json()["session"];
        assert_eq!(u["end_state"], "Success");
        assert_eq!(u["end_state_reason"], "answered");
        assert_eq!(u["event_counts"], json!({"llms": 1, "tools": 1, "actions": 1, "errors": 1}));
        assert_eq!(u["tags"], json!(["legacy", "v2"]));
        let st = client.stats();
        assert_eq!((st.spans_exported, st.spans_dropped()), (5, 0));
}
}

on_both_schemes! {
    fn legacy_v2_reauthorizes_the_jwt_on_401(scheme: Scheme) {
        let (f, server) = fake(scheme);
        f.events_401_once.store(true, Ordering::SeqCst);
        let client = client(&server, AgentOpsProtocol::LegacyV2);
        let s = client.start_session(&["reauth"]);
        s.record(LlmEvent::new("m"));
        s.end(EndState::Success, "");
        client.shutdown(LONG).unwrap();
        assert_clean(&f);
        let reauth = server.requests_to("/v2/reauthorize_jwt");
        assert_eq!(reauth.len(), 1);
        assert_eq!(reauth[0].json(), json!({ "session_id": s.id().to_string() }));
        let events = server.requests_to("/v2/create_events");
        assert_eq!(events.iter().map(|r| r.status).collect::<Vec<_>>(), vec![401, 200]);
        assert_eq!(events[1].header("authorization"), Some("Bearer jwt-2"));
        assert_eq!(server.requests_to("/v2/update_session").len(), 1);
        assert_eq!(client.stats().spans_exported, 2);
}
}

on_both_schemes! {
    fn legacy_v2_concurrent_sessions_each_get_their_own_jwt(scheme: Scheme) {
        let (f, server) = fake(scheme);
        let client = client(&server, AgentOpsProtocol::LegacyV2);
        let ids: Vec<uuid::Uuid> = std::thread::scope(|scope| {
            let hs: Vec<_> = (0..2)
                .map(|i| {
                    let client = client.clone();
                    scope.spawn(move || {
                        let s = client.start_session(&[format!("s{i}")]);
                        for _ in 0..20 {
                            s.record(ToolEvent::new("t"));
                        }
                        s.end(EndState::Success, "").session_id
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        client.shutdown(LONG).unwrap();
        assert_clean(&f); // every create_events batch matched its session's JWT
        assert_eq!(server.requests_to("/v2/create_session").len(), 2);
        let mut per_session: HashMap<String, usize> = HashMap::new();
        for r in server.requests_to("/v2/create_events") {
            for e in r.json()["events"].as_array().unwrap() {
                *per_session.entry(e["session_id"].as_str().unwrap().to_owned()).or_default() += 1;
            }
        }
        for id in ids {
            assert_eq!(per_session[&id.to_string()], 20);
        }
        assert_eq!(server.requests_to("/v2/update_session").len(), 2);
}
}

on_both_schemes! {
    fn legacy_v2_rejected_key_is_reported_and_not_retried(scheme: Scheme) {
        let (f, server) = fake(scheme);
        f.reject_key.store(true, Ordering::SeqCst);
        let client = client(&server, AgentOpsProtocol::LegacyV2);
        for _ in 0..3 {
            let s = client.start_session(&["bad"]);
            s.record(LlmEvent::new("m"));
            s.end(EndState::Success, "");
        }
        let err = client.shutdown(LONG).unwrap_err();
        assert!(err.to_string().contains("rejected the API key"), "{err}");
        assert_eq!(server.requests_to("/v2/create_session").len(), 1, "no retry storm");
        let st = client.stats();
        assert_eq!((st.spans_dropped_rejected, st.spans_exported), (6, 0));
        assert_clean(&f);
}
}

#[test]
fn the_key_never_shows_in_debug_output() {
    let cfg = OtelConfig::builder().agentops(AgentOpsConfig::new(KEY)).build().unwrap();
    assert!(!format!("{cfg:?}").contains(KEY));
    let bad = OtelConfig::builder().agentops(AgentOpsConfig::new("not-a-uuid-secret")).build().unwrap_err();
    assert_eq!(bad.setting, "AGENTOPS_API_KEY");
    assert!(!bad.to_string().contains("not-a-uuid-secret"));
}

on_both_schemes! {
    fn legacy_v2_host_env_opt_out(scheme: Scheme) {
        let (f, server) = fake(scheme);
        let client = Client::new(
            OtelConfig::builder()
                .agentops(
                    trusting(
                        scheme,
                        AgentOpsConfig::new(KEY)
                            .api_endpoint(server.base_url())
                            .protocol(AgentOpsProtocol::LegacyV2)
                            .env_data_opt_out(true),
                    ),
                )
                .build()
                .unwrap(),
        )
        .unwrap();
        let s = client.start_session(&["private"]);
        s.end(EndState::Success, "");
        client.shutdown(LONG).unwrap();
        assert_clean(&f);
        let create = server.requests_to("/v2/create_session");
        assert_eq!(create.len(), 1);
        let session = &create[0].json()["session"];
        assert!(session.get("host_env").is_none(), "{session}");
        assert_eq!(server.requests_to("/v2/update_session").len(), 1);
}
}

on_both_schemes! {
    fn legacy_v2_resumed_sessions_reuse_or_reauthorize_their_jwt(scheme: Scheme) {
        let (f, server) = fake(scheme);
        // A session started elsewhere (another process, the Python SDK).
        let first = client(&server, AgentOpsProtocol::LegacyV2);
        let original = first.start_session(&["original"]);
        let id = original.id();
        drop(original.end_and_flush(EndState::Indeterminate, "handed over", LONG).unwrap());
        first.shutdown(LONG).unwrap();
        assert_eq!(server.requests_to("/v2/create_session").len(), 1);

        // Resumed without its JWT: a fresh one is asked for, the session is not created again.
        let second = client(&server, AgentOpsProtocol::LegacyV2);
        let resumed = second.session().resume(id).start();
        assert_eq!(resumed.id(), id, "the same session id");
        resumed.record(LlmEvent::new("m").tokens(1, 1));
        resumed.end(EndState::Success, "finished here");
        second.shutdown(LONG).unwrap();
        assert_eq!(server.requests_to("/v2/create_session").len(), 1, "not created twice");
        let reauth = server.requests_to("/v2/reauthorize_jwt");
        assert_eq!(reauth.len(), 1);
        assert_eq!(reauth[0].json(), json!({ "session_id": id.to_string() }));
        let events = server.requests_to("/v2/create_events");
        let last = events.last().unwrap();
        assert_eq!((last.status, last.header("authorization")), (200, Some("Bearer jwt-2")));

        // Resumed with its JWT: it is used as it is.
        let third = client(&server, AgentOpsProtocol::LegacyV2);
        let again = third.session().resume(id).jwt("jwt-2").start();
        again.record(ToolEvent::new("t"));
        again.end(EndState::Success, "");
        third.shutdown(LONG).unwrap();
        assert_eq!(server.requests_to("/v2/reauthorize_jwt").len(), 1, "no new JWT needed");
        assert_eq!(server.requests_to("/v2/create_events").last().unwrap().header("authorization"), Some("Bearer jwt-2"));
        assert_clean(&f);
        assert_eq!(third.stats().spans_dropped(), 0);
}
}

on_both_schemes! {
    fn spans_spooled_while_agentops_is_down_are_delivered_by_the_next_client(scheme: Scheme) {
        let dir = std::env::temp_dir().join(format!("agentops-spool-agentops-{scheme:?}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let port = closed_port();
        let url = base_url(scheme, port);
        let spooled_client = || {
            let config = OtelConfig::builder()
                .agentops(trusting(scheme, AgentOpsConfig::new(KEY).api_endpoint(&url).exporter_endpoint(&url)))
                .retry(RetryPolicy::default().max_attempts(2).initial_backoff(Duration::from_millis(5)))
                .batch(agentops::BatchConfig::default().scheduled_delay(Duration::from_secs(3600)))
                .enable_metrics(false)
                .spool_dir(&dir)
                .build()
                .unwrap();
            Client::new(config).unwrap()
        };
        // AgentOps unreachable: not even a token. The batch is kept, not dropped.
        let first = spooled_client();
        let s = first.start_session(&["spooled"]);
        s.record(LlmEvent::new("gpt-4o").provider("openai").prompt("hi").completion("hello").tokens(3, 5));
        s.end(EndState::Success, "");
        first.shutdown(LONG).unwrap();
        let st = first.stats();
        assert_eq!((st.spans_spooled, st.spans_exported, st.spans_dropped()), (2, 0, 0), "{st:#?}");

        // AgentOps is back: the next client authenticates and delivers them, once.
        let f = Arc::new(Fake::default());
        let f2 = f.clone();
        let server = TestServer::start_as(scheme, port, move |r| f2.handle(r));
        let second = spooled_client();
        second.shutdown(LONG).unwrap();
        assert_clean(&f);
        assert_eq!(second.stats().spool.spans_delivered, 2);
        let spans = server.accepted_spans();
        assert_eq!(spans.len(), 2);
        assert!(server.requests_to("/v1/traces").iter().all(|r| r.header("authorization") == Some("Bearer tok-1")));
        for (_, res) in &spans {
            assert_eq!(res.iter().filter(|kv| kv.key == "agentops.project.id").count(), 1, "the project id once");
        }
        let (llm, _) = spans.iter().find(|(s, _)| s.name == "chat gpt-4o").unwrap();
        // Written by the encoder, spooled, and not added again at delivery.
        assert_as_agentops_reads_it(llm);
        let _ = std::fs::remove_dir_all(&dir);
}
}
