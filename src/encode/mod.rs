//! From recorded events to OTLP: attribute names ([`attr`], public), the span of each
//! event kind, value rules (capture, truncation, JSON), and the OTLP structures.

pub mod attr;
pub(crate) mod encoder;
mod events;
pub(crate) mod json;
pub(crate) mod leftovers;
pub(crate) mod lookup;
mod messages;
pub(crate) mod plain_messages;
pub(crate) mod recorded;
pub(crate) mod span;
pub(crate) mod values;
pub(crate) mod wire;
pub(crate) mod wire_json;

#[cfg(test)]
mod tests;
