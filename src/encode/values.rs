//! `ValuePolicy`: how event content becomes attribute values. Content capture on or
//! off, strings cut at the length limit (and counted), JSON values serialized with a
//! depth limit, names kept borrowed when they are literals. Values are read from
//! the event, never moved out of it.

use std::borrow::Cow;
use std::cell::Cell;

use opentelemetry::{Array, StringValue, Value};
use serde_json::Value as Json;

use super::json::{json_depth, MAX_JSON_DEPTH};
use super::messages::messages_json;
use super::plain_messages::PlainMessages;
use super::sink::{AttrValue, Truncated};
use crate::event::content::Content;

#[derive(Debug)]
pub(crate) struct ValuePolicy {
    pub capture_content: bool,
    pub max_value_len: usize,
    /// LLM spans carry AgentOps' names for content and usage instead of the GenAI
    /// messages JSON (`agentops_names.rs`).
    pub agentops_names: bool,
    /// Values cut since the last [`take_truncated`](Self::take_truncated). The
    /// encoder lives on the export thread alone, so a `Cell` is enough.
    truncated: Cell<u64>,
}

impl ValuePolicy {
    pub fn new(capture_content: bool, max_value_len: usize) -> Self {
        ValuePolicy { capture_content, max_value_len, agentops_names: false, truncated: Cell::new(0) }
    }

    /// How many values were cut since the last call.
    pub fn take_truncated(&self) -> u64 {
        self.truncated.take()
    }

    fn count_truncated(&self, n: u64) {
        self.truncated.set(self.truncated.get() + n);
    }

    /// `s` cut to the length limit at a character boundary, leaving room for the
    /// marker; counted when cut. Call it once per value: each call counts.
    pub fn cut<'a>(&self, s: &'a str) -> Truncated<'a> {
        if s.len() <= self.max_value_len {
            return Truncated::whole(s);
        }
        let mut at = self.max_value_len.saturating_sub(super::attr::TRUNCATED_SUFFIX.len());
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        self.count_truncated(1);
        Truncated { head: &s[..at], cut: true }
    }

    /// A name attribute; a literal that fits stays borrowed (no copy on the struct path).
    // Whether the `Cow` borrows is what is read, so it is taken as such.
    #[allow(clippy::ptr_arg)]
    pub fn name<'a>(&self, s: &'a Cow<'static, str>) -> AttrValue<'a> {
        match s {
            Cow::Borrowed(b) if b.len() <= self.max_value_len => AttrValue::Static(b),
            other => AttrValue::Str(self.cut(other)),
        }
    }

    /// Content given as JSON, when captured: serialized into `scratch` and cut to
    /// the limit. A value nested deeper than the limit is replaced by a note (and
    /// must not be freed recursively: see `pipeline/reclaim.rs`).
    pub fn json<'s>(&self, v: Option<&Json>, scratch: &'s mut String) -> Option<Truncated<'s>> {
        let v = v.filter(|_| self.capture_content)?;
        scratch.clear();
        if json_depth(v) > MAX_JSON_DEPTH {
            scratch.push_str(&format!("<value nested deeper than {MAX_JSON_DEPTH} levels was dropped>"));
        } else {
            // Non-finite floats cannot exist in serde_json::Value, so this cannot fail.
            let _ = serde_json::to_writer(string_writer(scratch), v);
        }
        Some(self.cut(scratch))
    }

    /// Chat content as the semantic conventions' messages JSON (when captured), cut
    /// inside the structure so it stays valid JSON. A plain text that needs no cut
    /// is given by reference, for the writers to write in place; anything else is
    /// written into `scratch`.
    pub fn messages<'a>(
        &self,
        c: Option<&'a Content>,
        (role, output): (&'static str, bool),
        scratch: &'a mut String,
    ) -> Option<AttrValue<'a>> {
        let c = c.filter(|_| self.capture_content)?;
        if let Content::Text(text) = c {
            if let Some(m) = PlainMessages::new(text, role, output, self.max_value_len) {
                return Some(AttrValue::Messages(m));
            }
        }
        let (json, cut) = messages_json(c, role, output, self.max_value_len);
        self.count_truncated(cut);
        *scratch = json;
        Some(AttrValue::Str(Truncated::whole(scratch)))
    }
}

/// `String` as an `io::Write` for serde_json, which writes only valid UTF-8.
fn string_writer(s: &mut String) -> impl std::io::Write + '_ {
    struct W<'s>(&'s mut String);
    impl std::io::Write for W<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            // serde_json writes whole UTF-8 sequences (its output is a `str`).
            match std::str::from_utf8(buf) {
                Ok(t) => {
                    self.0.push_str(t);
                    Ok(buf.len())
                }
                Err(e) => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    W(s)
}

/// A count attribute; counts past `i64::MAX` (which OTLP's int64 cannot carry) are
/// clamped, never wrapped.
pub(crate) fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A number attribute; NaN and infinities (which OTLP JSON cannot carry as numbers)
/// become strings, so the value is kept and the payload stays valid.
pub(crate) fn number(v: f64) -> AttrValue<'static> {
    match v {
        v if v.is_finite() => AttrValue::F64(v),
        v if v.is_nan() => AttrValue::Static("NaN"),
        v if v > 0.0 => AttrValue::Static("inf"),
        _ => AttrValue::Static("-inf"),
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
        let long = "é".repeat(200);
        let cut = p.cut(&long).to_owned_string();
        assert!(cut.len() <= 100, "{}", cut.len());
        assert!(cut.ends_with(super::super::attr::TRUNCATED_SUFFIX));
        assert_eq!(p.cut("short"), Truncated::whole("short"));
        assert_eq!(p.take_truncated(), 1);
        assert_eq!(p.take_truncated(), 0);
    }

    #[test]
    fn non_finite_numbers_are_written_as_rust_prints_them() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let AttrValue::Static(s) = number(v) else { panic!("{v}") };
            assert_eq!(s, v.to_string());
        }
    }

    #[test]
    fn counts_clamp() {
        assert_eq!(clamp_i64(u64::MAX), i64::MAX);
        assert_eq!(clamp_i64(7), 7);
    }
}
