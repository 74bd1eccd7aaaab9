//! Reading attributes back from OTLP spans, for exporters that translate spans into
//! another vocabulary (AgentOps' compatibility names, its v2 events).

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};

/// The value of attribute `key`, if present.
pub(crate) fn attr_value<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

/// The string value of attribute `key`, if present and a string.
pub(crate) fn attr_str<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attr_value(attrs, key)? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}
