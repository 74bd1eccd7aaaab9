//! The messages JSON of one plain text (`prompt("…")`, the common case), written
//! where it goes instead of into a `String` of its own: into the protobuf request's
//! bytes, or into the OTLP/JSON request escaped twice in one pass (it is JSON text
//! inside a JSON string). For the direct writers the encoder leaves a placeholder
//! attribute and a [`PlainMessages`] in the span's [`DeferredMessages`]; the writers
//! put the text in the placeholder's place (`wire.rs`, `wire_json.rs`). The same
//! text as the general writer of `messages.rs` gives.

use super::json::{escaped_len, push_escaped_str, Escape, Text};
use crate::event::content::Content;
use crate::util::prefetch::prefetch;

/// The JSON text's fixed pieces, as they are (index 0) and escaped as the body of a
/// JSON string (index 1, for `Escape::Twice`).
const OPEN: [&str; 2] = ["[{\"role\":\"", "[{\\\"role\\\":\\\""];
const PARTS: [&str; 2] = [
    "\",\"parts\":[{\"type\":\"text\",\"content\":\"",
    "\\\",\\\"parts\\\":[{\\\"type\\\":\\\"text\\\",\\\"content\\\":\\\"",
];
const CLOSE_PART: [&str; 2] = ["\"}]", "\\\"}]"];
const FINISH: [&str; 2] = [",\"finish_reason\":\"stop\"", ",\\\"finish_reason\\\":\\\"stop\\\""];
const CLOSE: [&str; 2] = ["}]", "}]"];

/// The length of the messages JSON of `text` before escaping (escapes lengthen it).
fn unescaped_len(text: &str, role: &str, output: bool) -> usize {
    let finish = if output { FINISH[0].len() } else { 0 };
    OPEN[0].len() + role.len() + PARTS[0].len() + text.len() + CLOSE_PART[0].len() + finish + CLOSE[0].len()
}

/// The length of the messages JSON of `text`.
fn json_len(text: &str, role: &str, output: bool) -> usize {
    unescaped_len(text, role, output) - role.len() - text.len() + escaped_len(role) + escaped_len(text)
}

/// The longest an escape makes a byte (`\u001f`).
const MAX_ESCAPE: usize = 6;

/// Whether the messages JSON of `text` fits in `max_len`, so needs no cut. The
/// text is only scanned for escapes when it could exceed the limit with them.
fn fits(text: &str, role: &str, output: bool, max_len: usize) -> bool {
    let unescaped = unescaped_len(text, role, output);
    let longest = unescaped.saturating_add((role.len() + text.len()).saturating_mul(MAX_ESCAPE - 1));
    unescaped <= max_len && (longest <= max_len || json_len(text, role, output) <= max_len)
}

/// Appends the messages JSON of `text`: as JSON text (`Escape::Once`: its strings
/// escaped once), or as the body of a JSON string holding it (`Escape::Twice`).
fn write_json<T: Text>(out: &mut T, text: &str, role: &str, output: bool, strings: Escape) {
    let form = usize::from(strings == Escape::Twice);
    out.put(OPEN[form]);
    push_escaped_str(out, role, strings);
    out.put(PARTS[form]);
    push_escaped_str(out, text, strings);
    out.put(CLOSE_PART[form]);
    if output {
        out.put(FINISH[form]);
    }
    out.put(CLOSE[form]);
}

/// The messages JSON of a plain text that fits in `max_len` (no cut needed), in
/// one exactly sized allocation (so boxing it as an attribute value does not
/// reallocate); `None` for lists of messages and texts that need cutting.
pub(super) fn plain_text_json(c: &Content, role: &str, output: bool, max_len: usize) -> Option<String> {
    let Content::Text(text) = c else { return None };
    if !fits(text, role, output, max_len) {
        return None;
    }
    let mut out = String::with_capacity(json_len(text, role, output));
    write_json(&mut out, text, role, output, Escape::Once);
    Some(out)
}

/// A messages attribute whose JSON a direct writer writes, in place of the
/// placeholder at `attributes[at]` of its span.
#[derive(Debug)]
pub(crate) struct PlainMessages {
    at: usize,
    text: String,
    role: &'static str,
    output: bool,
}

impl PlainMessages {
    /// The messages of `text` for the attribute at `at`, or the text back when its
    /// JSON would exceed `max_len` (it needs cutting).
    pub fn new(at: usize, text: String, role: &'static str, output: bool, max_len: usize) -> Result<Self, String> {
        if !fits(&text, role, output, max_len) {
            return Err(text);
        }
        // Cold (see `util/prefetch.rs`): loading while the rest of the span is built.
        prefetch(text.as_str());
        Ok(PlainMessages { at, text, role, output })
    }

    /// The text back (the writer will not take it).
    pub fn into_text(self) -> String {
        self.text
    }

    /// The JSON text's length before escaping: its length when nothing needs
    /// escaping, as prompts mostly do not.
    pub fn unescaped_len(&self) -> usize {
        unescaped_len(&self.text, self.role, self.output)
    }

    /// Appends the JSON text (`Escape::Once`) or the body of a JSON string holding
    /// it (`Escape::Twice`).
    pub fn write<T: Text>(&self, out: &mut T, strings: Escape) {
        write_json(out, &self.text, self.role, self.output, strings);
    }

    /// The JSON text, for a span that leaves the direct path.
    #[cfg(test)]
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.unescaped_len());
        self.write(&mut out, Escape::Once);
        out
    }
}

/// The messages attributes of one span that its direct writer writes (an LLM
/// event has two: prompt and completion). Only the direct path enables it; the
/// struct path gets every value in its attribute.
#[derive(Debug, Default)]
pub(crate) struct DeferredMessages {
    enabled: bool,
    items: [Option<PlainMessages>; 2],
}

impl DeferredMessages {
    /// A list that takes messages when `enabled`.
    pub fn new(enabled: bool) -> Self {
        DeferredMessages { enabled, items: [None, None] }
    }

    /// Whether messages can be left to the writer.
    pub fn accepts(&self) -> bool {
        self.enabled && self.items.iter().any(Option::is_none)
    }

    /// Adds `m`, or gives it back when the list is full.
    pub fn push(&mut self, m: PlainMessages) -> Result<(), PlainMessages> {
        match self.items.iter_mut().find(|i| i.is_none()) {
            Some(slot) if self.enabled => {
                *slot = Some(m);
                Ok(())
            }
            _ => Err(m),
        }
    }

    /// Whether no messages were left to the writer.
    pub fn is_empty(&self) -> bool {
        self.items.iter().all(Option::is_none)
    }

    /// The messages for the attribute at `i`, if they were left to the writer.
    pub fn at(&self, i: usize) -> Option<&PlainMessages> {
        self.items.iter().flatten().find(|m| m.at == i)
    }

    /// The texts, once written (for the bulk free of callers' memory).
    pub fn into_texts(self) -> impl Iterator<Item = String> {
        self.items.into_iter().flatten().map(|m| m.text)
    }

    /// Every deferred value (tests put them back into their attributes).
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = (usize, &PlainMessages)> {
        self.items.iter().flatten().map(|m| (m.at, m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn written_in_place_is_the_json_text_and_its_json_string(
            text in "(\\PC|[\"\\\\\\x00-\\x1f]){0,100}", output in any::<bool>(), assistant in any::<bool>(),
        ) {
            let role = if assistant { "assistant" } else { "user" };
            let c = Content::Text(text.clone());
            let json = plain_text_json(&c, role, output, usize::MAX).unwrap();
            prop_assert_eq!(json.capacity(), json.len());
            let m = PlainMessages::new(3, text, role, output, usize::MAX).unwrap();
            prop_assert!(m.unescaped_len() <= json.len());
            let mut bytes = Vec::new();
            m.write(&mut bytes, Escape::Once);
            prop_assert_eq!(String::from_utf8(bytes).unwrap(), json.clone());
            let mut twice = String::new();
            m.write(&mut twice, Escape::Twice);
            prop_assert_eq!(format!("\"{twice}\""), serde_json::to_string(&json).unwrap());
        }
    }

    #[test]
    fn the_escaped_pieces_are_the_pieces_escaped() {
        for piece in [OPEN, PARTS, CLOSE_PART, FINISH, CLOSE] {
            let mut escaped = String::new();
            push_escaped_str(&mut escaped, piece[0], Escape::Once);
            assert_eq!(piece[1], escaped);
        }
    }

    #[test]
    fn texts_that_need_cutting_are_given_back() {
        assert_eq!(PlainMessages::new(0, "x".repeat(10), "user", false, 9).unwrap_err(), "x".repeat(10));
        let fits = json_len("x", "user", false);
        assert!(PlainMessages::new(0, "x".into(), "user", false, fits).is_ok());
        assert!(PlainMessages::new(0, "\"".into(), "user", false, fits).is_err(), "its escape does not fit");
    }

    #[test]
    fn the_list_takes_two_and_only_when_enabled() {
        let m = |at| PlainMessages::new(at, "t".into(), "user", false, 1000).unwrap();
        assert!(DeferredMessages::new(false).push(m(0)).is_err());
        let mut d = DeferredMessages::new(true);
        assert!(d.push(m(4)).is_ok() && d.push(m(7)).is_ok());
        assert!(!d.accepts() && d.push(m(9)).is_err());
        assert_eq!(d.at(7).map(|m| m.at), Some(7));
        assert!(d.at(5).is_none());
        assert_eq!(d.into_texts().count(), 2);
    }
}
