//! Spans turned back into AgentOps v0.3 events (the legacy v2 API's body), from
//! their attributes. Spans that are not events (the application's own spans) have
//! no v2 form.

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span};
use serde_json::{json, Map, Value as Json};
use uuid::Uuid;

use super::compat::parse_messages;
use crate::encode::attr;
use crate::encode::lookup::{attr_str, attr_value};
use crate::util::time::iso8601_nanos;

pub(crate) fn attr_json(attrs: &[KeyValue], key: &str) -> Json {
    match attr_value(attrs, key) {
        Some(any_value::Value::StringValue(s)) => s.clone().into(),
        Some(any_value::Value::IntValue(i)) => (*i).into(),
        Some(any_value::Value::DoubleValue(f)) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Some(any_value::Value::BoolValue(b)) => (*b).into(),
        _ => Json::Null,
    }
}

/// A JSON-carrying attribute (params, returns) parsed back to JSON.
fn attr_parsed(attrs: &[KeyValue], key: &str) -> Json {
    attr_str(attrs, key).map_or(Json::Null, |s| serde_json::from_str(s).unwrap_or_else(|_| s.into()))
}

fn messages_json(attrs: &[KeyValue], key: &str) -> Vec<Json> {
    attr_str(attrs, key)
        .and_then(parse_messages)
        .unwrap_or_default()
        .into_iter()
        .map(|(role, content)| json!({ "role": role, "content": content }))
        .collect()
}

/// A span's v0.3 event, or `None` for spans that are not events.
pub(crate) fn to_v2_event(span: &Span) -> Option<Json> {
    let a = &span.attributes;
    let event_type = attr_str(a, attr::EVENT_TYPE)?;
    let mut e = Map::new();
    e.insert("id".into(), attr_json(a, attr::EVENT_ID));
    e.insert("event_type".into(), event_type.into());
    e.insert("init_timestamp".into(), iso8601_nanos(span.start_time_unix_nano).into());
    e.insert("end_timestamp".into(), iso8601_nanos(span.end_time_unix_nano).into());
    e.insert("session_id".into(), attr_json(a, attr::SESSION_ID));
    if let Some(agent) = attr_str(a, attr::AGENT_ID) {
        e.insert("agent_id".into(), agent.into());
    }
    match event_type {
        "llms" => {
            e.insert("model".into(), attr_json(a, attr::GEN_AI_REQUEST_MODEL));
            let prompt = messages_json(a, attr::GEN_AI_INPUT_MESSAGES);
            e.insert("prompt".into(), if prompt.is_empty() { Json::Null } else { prompt.into() });
            let completion = messages_json(a, attr::GEN_AI_OUTPUT_MESSAGES);
            e.insert("completion".into(), completion.into_iter().next().unwrap_or(Json::Null));
            e.insert("prompt_tokens".into(), attr_json(a, attr::GEN_AI_INPUT_TOKENS));
            e.insert("completion_tokens".into(), attr_json(a, attr::GEN_AI_OUTPUT_TOKENS));
            e.insert("cost".into(), attr_json(a, attr::LLM_COST));
            e.insert("params".into(), attr_parsed(a, attr::LLM_PARAMS));
        }
        "actions" => {
            e.insert("action_type".into(), attr_json(a, attr::ACTION_TYPE));
            e.insert("params".into(), attr_parsed(a, attr::ENTITY_INPUT));
            e.insert("returns".into(), attr_parsed(a, attr::ENTITY_OUTPUT));
            e.insert("logs".into(), attr_json(a, attr::ACTION_LOGS));
            e.insert("screenshot".into(), attr_json(a, attr::ACTION_SCREENSHOT));
        }
        "tools" => {
            e.insert("name".into(), attr_json(a, attr::GEN_AI_TOOL_NAME));
            e.insert("params".into(), attr_parsed(a, attr::GEN_AI_TOOL_ARGUMENTS));
            e.insert("returns".into(), attr_parsed(a, attr::GEN_AI_TOOL_RESULT));
            e.insert("logs".into(), attr_json(a, attr::TOOL_LOGS));
        }
        "errors" => {
            let exception = span.events.iter().find(|ev| ev.name == "exception").map(|ev| &ev.attributes[..]);
            let details =
                exception.and_then(|x| attr_str(x, attr::EXCEPTION_MESSAGE)).map(str::to_owned).or_else(|| {
                    span.status.as_ref().filter(|s| s.code == StatusCode::Error as i32).map(|s| s.message.clone())
                });
            e.insert("error_type".into(), attr_json(a, attr::ERROR_TYPE));
            e.insert("code".into(), attr_json(a, attr::ERROR_CODE));
            e.insert("details".into(), details.map_or(Json::Null, Json::from));
            e.insert("logs".into(), exception.map_or(Json::Null, |x| attr_json(x, attr::EXCEPTION_STACKTRACE)));
            e.insert("trigger_event_id".into(), attr_json(a, attr::ERROR_TRIGGER_ID));
            e.insert("trigger_event_type".into(), attr_json(a, attr::ERROR_TRIGGER_TYPE));
        }
        _ => return None,
    }
    Some(Json::Object(e))
}

pub(crate) fn is_session_root(span: &Span) -> bool {
    attr_str(&span.attributes, attr::SPAN_KIND) == Some("session")
}

pub(crate) fn session_of(span: &Span) -> Option<Uuid> {
    attr_str(&span.attributes, attr::SESSION_ID).and_then(|s| Uuid::parse_str(s).ok())
}

pub(crate) fn root_tags(root: &Span) -> Vec<String> {
    match attr_value(&root.attributes, attr::SESSION_TAGS) {
        Some(any_value::Value::ArrayValue(arr)) => arr
            .values
            .iter()
            .filter_map(|v| match v.value.as_ref()? {
                any_value::Value::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
