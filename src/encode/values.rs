//! `ValuePolicy`: how event content becomes attribute values. Content capture on or
//! off, strings cut at the length limit (and counted), JSON values serialized with a
//! depth limit, names kept borrowed when they are literals.

use std::borrow::Cow;
use std::cell::Cell;

use opentelemetry::{Array, KeyValue, StringValue, Value};
use serde_json::Value as Json;

use super::attr;
use super::json::{drop_iteratively, json_depth, MAX_JSON_DEPTH};
use super::leftovers::Leftovers;
use super::messages::messages_json;
use super::plain_messages::{DeferredMessages, PlainMessages};
use crate::event::content::Content;

#[derive(Debug)]
pub(crate) struct ValuePolicy {
    pub capture_content: bool,
    pub max_value_len: usize,
    /// Values cut since the last [`take_truncated`](Self::take_truncated). The
    /// encoder lives on the export thread alone, so a `Cell` is enough.
    truncated: Cell<u64>,
}

impl ValuePolicy {
    pub fn new(capture_content: bool, max_value_len: usize) -> Self {
        ValuePolicy { capture_content, max_value_len, truncated: Cell::new(0) }
    }

    /// How many values were cut since the last call.
    pub fn take_truncated(&self) -> u64 {
        self.truncated.take()
    }

    fn count_truncated(&self, n: u64) {
        self.truncated.set(self.truncated.get() + n);
    }

    /// Cuts `s` to the length limit at a character boundary, with a marker.
    pub fn cut(&self, mut s: String) -> String {
        if s.len() <= self.max_value_len {
            return s;
        }
        let marker = attr::TRUNCATED_SUFFIX;
        let mut at = self.max_value_len.saturating_sub(marker.len());
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push_str(marker);
        self.count_truncated(1);
        s
    }

    pub fn str_kv(&self, key: &'static str, s: String) -> KeyValue {
        KeyValue::new(key, self.cut(s))
    }

    /// A name attribute; a literal stays borrowed (no copy until export).
    pub fn name_kv(&self, key: &'static str, s: Cow<'static, str>) -> KeyValue {
        match s {
            Cow::Borrowed(b) if b.len() <= self.max_value_len => KeyValue::new(key, b),
            other => KeyValue::new(key, self.cut(other.into_owned())),
        }
    }

    /// Content given as JSON: an attribute when content is captured; the value
    /// itself goes to `left` either way.
    pub fn push_json(&self, a: &mut Vec<KeyValue>, key: &'static str, v: Option<Json>, left: &mut Leftovers) {
        let Some(v) = v else { return };
        let deep = json_depth(&v) > MAX_JSON_DEPTH;
        if self.capture_content {
            let text = if deep {
                format!("<value nested deeper than {MAX_JSON_DEPTH} levels was dropped>")
            } else {
                // Non-finite floats cannot exist in serde_json::Value, so this cannot fail.
                serde_json::to_string(&v).unwrap_or_default()
            };
            a.push(KeyValue::new(key, self.cut(text)));
        }
        if deep {
            // serde_json's own drop recurses: hostile nesting is freed here, iteratively.
            drop_iteratively(v);
        } else {
            left.values.push(v);
        }
    }

    /// Chat content as the semantic conventions' messages JSON (when captured), cut
    /// inside the structure so it stays valid JSON; the content goes to `left`
    /// either way. A plain text that needs no cut is left to the direct writer
    /// when `deferred` takes it: a placeholder here, the text written in its place.
    pub fn push_messages(
        &self,
        a: &mut Vec<KeyValue>,
        deferred: &mut DeferredMessages,
        key: &'static str,
        c: Option<Content>,
        (role, output): (&'static str, bool),
        left: &mut Leftovers,
    ) {
        let Some(c) = c else { return };
        if !self.capture_content {
            left.contents.push(c);
            return;
        }
        let c = match c {
            Content::Text(text) if deferred.accepts() => {
                match PlainMessages::new(a.len(), text, role, output, self.max_value_len) {
                    Ok(m) => match deferred.push(m) {
                        Ok(()) => {
                            a.push(KeyValue::new(key, ""));
                            return;
                        }
                        Err(m) => Content::Text(m.into_text()),
                    },
                    Err(text) => Content::Text(text),
                }
            }
            c => c,
        };
        let (json, cut) = messages_json(&c, role, output, self.max_value_len);
        self.count_truncated(cut);
        a.push(KeyValue::new(key, json));
        left.contents.push(c);
    }
}

/// A count attribute; counts past `i64::MAX` (which OTLP's int64 cannot carry) are
/// clamped, never wrapped.
pub(crate) fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A number attribute; NaN and infinities (which OTLP JSON cannot carry as numbers)
/// become strings, so the value is kept and the payload stays valid.
pub(crate) fn number_kv(key: &'static str, v: f64) -> KeyValue {
    if v.is_finite() {
        KeyValue::new(key, v)
    } else {
        KeyValue::new(key, v.to_string())
    }
}

/// A string-array attribute value.
pub(crate) fn string_array(items: &[String]) -> Value {
    Value::Array(Array::String(items.iter().map(|s| StringValue::from(s.clone())).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_with_a_marker_at_a_char_boundary_and_counted() {
        let p = ValuePolicy::new(true, 100);
        let cut = p.cut("é".repeat(200));
        assert!(cut.len() <= 100, "{}", cut.len());
        assert!(cut.ends_with(attr::TRUNCATED_SUFFIX));
        assert_eq!(p.cut("short".into()), "short");
        assert_eq!(p.take_truncated(), 1);
        assert_eq!(p.take_truncated(), 0);
    }

    #[test]
    fn counts_clamp() {
        assert_eq!(clamp_i64(u64::MAX), i64::MAX);
        assert_eq!(clamp_i64(7), 7);
    }
}
