//! The messages JSON of one plain text (`prompt("…")`, the common case), written
//! where it goes instead of into a `String` of its own: into the protobuf request's
//! bytes, or into the OTLP/JSON request escaped twice in one pass (it is JSON text
//! inside a JSON string). The description of an LLM span gives a
//! [`PlainMessages`] (a reference to the text) as the attribute's value; the direct
//! writers write it in place (`wire.rs`, `wire_json.rs`), the struct path makes it
//! a `String`. The same text as the general writer of `messages.rs` gives.

use super::json::{escaped_len, push_escaped_str, Escape, Text};
use crate::event::content::Content;

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
    PlainMessages::new(text, role, output, max_len).map(PlainMessages::to_json)
}

/// The messages JSON of a plain text that needs no cut, by reference: the direct
/// writers write it in place, the struct path makes it a `String`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PlainMessages<'a> {
    text: &'a str,
    role: &'a str,
    output: bool,
}

impl<'a> PlainMessages<'a> {
    /// The messages of `text`, or `None` when their JSON would exceed `max_len`
    /// (it needs cutting: the general writer of `messages.rs` does that).
    pub fn new(text: &'a str, role: &'a str, output: bool, max_len: usize) -> Option<Self> {
        fits(text, role, output, max_len).then_some(PlainMessages { text, role, output })
    }

    /// The JSON text's length before escaping: its length when nothing needs
    /// escaping, as prompts mostly do not.
    pub fn unescaped_len(&self) -> usize {
        unescaped_len(self.text, self.role, self.output)
    }

    /// Appends the JSON text (`Escape::Once`) or the body of a JSON string holding
    /// it (`Escape::Twice`).
    pub fn write<T: Text>(&self, out: &mut T, strings: Escape) {
        write_json(out, self.text, self.role, self.output, strings);
    }

    /// The JSON text, exactly sized.
    pub fn to_json(self) -> String {
        let mut out = String::with_capacity(json_len(self.text, self.role, self.output));
        self.write(&mut out, Escape::Once);
        out
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
            let m = PlainMessages::new(&text, role, output, usize::MAX).unwrap();
            prop_assert!(m.unescaped_len() <= json.len());
            prop_assert_eq!(m.to_json(), json.clone());
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
    fn texts_that_need_cutting_are_left_to_the_general_writer() {
        assert_eq!(PlainMessages::new(&"x".repeat(10), "user", false, 9), None);
        let fits = json_len("x", "user", false);
        assert!(PlainMessages::new("x", "user", false, fits).is_some());
        assert!(PlainMessages::new("\"", "user", false, fits).is_none(), "its escape does not fit");
    }
}
