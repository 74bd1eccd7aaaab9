//! From recorded events to OTLP: attribute names ([`attr`], public), the span of each
//! event kind (`schema`, described to a `sink`), value rules (capture, truncation,
//! JSON), and the writers: OTLP structures (`span`), protobuf bytes (`wire`) and
//! OTLP/JSON text (`wire_json`).

pub(crate) mod agentops_names;
pub mod attr;
pub(crate) mod encoder;
pub(crate) mod json;
mod literals;
pub(crate) mod lookup;
mod messages;
pub(crate) mod plain_messages;
pub(crate) mod protocol;
pub(crate) mod request;
mod schema;
pub(crate) mod sink;
pub(crate) mod span;
pub(crate) mod values;
pub(crate) mod wire;
mod wire_fields;
pub(crate) mod wire_json;

#[cfg(test)]
pub(crate) mod arb;
#[cfg(test)]
mod tests;
