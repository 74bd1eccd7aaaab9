//! The attribute names the AgentOps backend reads today (`gen_ai.system`,
//! `gen_ai.usage.prompt_tokens`, `gen_ai.prompt.N.*`, …), written next to the GenAI
//! semantic-convention ones.

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::Value as Json;

use crate::encode::attr;
use crate::encode::lookup::attr_value;

pub(crate) fn str_value(s: String) -> Option<AnyValue> {
    Some(AnyValue { value: Some(any_value::Value::StringValue(s)) })
}

pub(crate) fn kv(key: impl Into<String>, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key: key.into(), value, key_strindex: 0 }
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

/// Adds the names the AgentOps backend reads today next to the standard ones.
pub(crate) fn add_agentops_names(span: &mut Span) {
    let a = &span.attributes;
    let mut extra = Vec::new();
    if let Some(v) = attr_value(a, attr::GEN_AI_PROVIDER) {
        extra.push(kv("gen_ai.system", Some(AnyValue { value: Some(v.clone()) })));
    }
    for (from, to) in [
        (attr::GEN_AI_INPUT_TOKENS, "gen_ai.usage.prompt_tokens"),
        (attr::GEN_AI_OUTPUT_TOKENS, "gen_ai.usage.completion_tokens"),
    ] {
        if let Some(v) = attr_value(a, from) {
            extra.push(kv(to, Some(AnyValue { value: Some(v.clone()) })));
        }
    }
    for (from, prefix) in
        [(attr::GEN_AI_INPUT_MESSAGES, "gen_ai.prompt"), (attr::GEN_AI_OUTPUT_MESSAGES, "gen_ai.completion")]
    {
        if let Some(any_value::Value::StringValue(json)) = attr_value(a, from) {
            for (i, (role, content)) in parse_messages(json).into_iter().enumerate() {
                extra.push(kv(format!("{prefix}.{i}.role"), str_value(role)));
                extra.push(kv(format!("{prefix}.{i}.content"), str_value(content)));
            }
        }
    }
    span.attributes.extend(extra);
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
        let get = |k: &str| attr_value(&span.attributes, k).cloned();
        assert_eq!(get("gen_ai.system"), Some(any_value::Value::StringValue("openai".into())));
        assert_eq!(get("gen_ai.usage.prompt_tokens"), Some(any_value::Value::IntValue(7)));
        assert_eq!(get("gen_ai.prompt.0.role"), Some(any_value::Value::StringValue("system".into())));
        assert_eq!(get("gen_ai.prompt.1.content"), Some(any_value::Value::StringValue("hi".into())));
        assert!(get("gen_ai.completion.0.role").is_none());
    }
}
