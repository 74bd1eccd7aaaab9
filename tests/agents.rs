//! Agents and tool calls end to end, decoded at a receiver: LLM → tool → LLM with
//! matching call ids, under an `invoke_agent` span, with costs from the price table.

mod common;

use std::time::Duration;

use agentops::providers::openai;
use agentops::{attr, Client, EndState, OtelConfig, OtlpExporterConfig};
use common::{attr_f64, attr_str, TestServer};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span};
use serde_json::json;

fn find<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}"))
}

#[test]
fn an_agent_runs_the_tools_the_model_asked_for() {
    let server = TestServer::otlp();
    let client =
        Client::new(OtelConfig::builder().otlp(OtlpExporterConfig::new(server.base_url())).build().unwrap()).unwrap();
    let session = client.start_session(&["agents"]);
    let request =
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "weather in Paris and Oslo?"}]});
    let response = json!({"id": "chatcmpl-1", "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_paris", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_oslo", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]}}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 400}}});
    let agent_id = session.agent("researcher", |agent| {
        let event = openai::chat_completion(&request, &response).unwrap();
        let calls: Vec<_> = event.tool_calls().into_iter().cloned().collect();
        agent.record(event);
        for call in &calls {
            let _ = agent.tool_call(call, |args| match args["city"].as_str() {
                Some("Paris") => Ok(json!({"temp": 21})),
                _ => Err("no station in Oslo"),
            });
        }
        agent.id().to_owned()
    });
    let summary = session.end(EndState::Success, "done");
    client.shutdown(Duration::from_secs(30)).unwrap();

    let spans: Vec<Span> = server.accepted_spans().into_iter().map(|(s, _)| s).collect();
    let agent = find(&spans, "invoke_agent researcher");
    let root = find(&spans, "session");
    assert_eq!(agent.parent_span_id, root.span_id);
    assert_eq!(agent.kind, SpanKind::Internal as i32);
    assert_eq!(attr_str(&agent.attributes, attr::GEN_AI_OPERATION), Some("invoke_agent"));
    assert_eq!(attr_str(&agent.attributes, attr::GEN_AI_AGENT_NAME), Some("researcher"));
    assert_eq!(attr_str(&agent.attributes, attr::GEN_AI_AGENT_ID), Some(agent_id.as_str()));
    assert_eq!(agent.status.as_ref().unwrap().code, StatusCode::Error as i32, "a tool failed inside it");

    let llm = find(&spans, "chat gpt-4o-mini");
    assert_eq!(llm.parent_span_id, agent.span_id);
    assert_eq!(attr_str(&llm.attributes, attr::AGENT_ID), Some(agent_id.as_str()));
    assert_eq!(attr_str(&llm.attributes, attr::GEN_AI_RESPONSE_ID), Some("chatcmpl-1"));
    // (1000 − 400)·0.15 + 400·0.075 + 100·0.60, per million tokens.
    let cost = attr_f64(&llm.attributes, attr::LLM_COST).unwrap();
    assert!((cost - (600.0 * 0.15e-6 + 400.0 * 0.075e-6 + 100.0 * 0.6e-6)).abs() < 1e-15, "{cost}");
    assert!((summary.cost - cost).abs() < 1e-18);
    let output: serde_json::Value =
        serde_json::from_str(attr_str(&llm.attributes, attr::GEN_AI_OUTPUT_MESSAGES).unwrap()).unwrap();
    assert_eq!(output[0]["parts"][1]["id"], "call_oslo");
    assert_eq!(output[0]["finish_reason"], "tool_call");

    let tools: Vec<&Span> = spans.iter().filter(|s| s.name == "execute_tool get_weather").collect();
    assert_eq!(tools.len(), 2);
    for t in &tools {
        assert_eq!(t.parent_span_id, agent.span_id);
        assert_eq!(attr_str(&t.attributes, attr::AGENT_ID), Some(agent_id.as_str()));
    }
    let paris =
        tools.iter().find(|t| attr_str(&t.attributes, attr::GEN_AI_TOOL_CALL_ID) == Some("call_paris")).unwrap();
    assert_eq!(attr_str(&paris.attributes, attr::GEN_AI_TOOL_ARGUMENTS), Some(r#"{"city":"Paris"}"#));
    assert_eq!(attr_str(&paris.attributes, attr::GEN_AI_TOOL_RESULT), Some(r#"{"temp":21}"#));
    assert_ne!(paris.status.as_ref().map(|s| s.code), Some(StatusCode::Error as i32));
    let oslo = tools.iter().find(|t| attr_str(&t.attributes, attr::GEN_AI_TOOL_CALL_ID) == Some("call_oslo")).unwrap();
    let st = oslo.status.as_ref().unwrap();
    assert_eq!((st.code, st.message.as_str()), (StatusCode::Error as i32, "error: no station in Oslo"));
    let err = spans.iter().find(|s| s.name.starts_with("error ")).unwrap();
    assert_eq!(err.links[0].span_id, oslo.span_id, "the error links to the failed tool");
    assert_eq!((summary.event_counts.agents, summary.event_counts.tools, summary.event_counts.errors), (1, 2, 1));
}
