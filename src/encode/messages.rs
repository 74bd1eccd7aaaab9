//! The GenAI semantic-convention message list, as the `gen_ai.input.messages` /
//! `gen_ai.output.messages` JSON:
//! `[{"role": "...", "parts": [{"type": "text", "content": "..."}]}]`.
//!
//! Long values are cut inside the structure, never in the JSON text: when the list
//! would exceed the length limit, the longest contents are shortened (fairly: a
//! short system prompt is kept whole while a long document is cut), each cut one
//! ending with the truncation marker, and the value always parses.

use super::attr::TRUNCATED_SUFFIX;
use super::json::push_json_str;
use crate::event::content::Content;

/// The messages JSON of `c`, at most about `max_len` bytes, and how many contents
/// were cut to get there. (A list whose structure alone exceeds the limit keeps its
/// structure, with every content reduced to the marker.)
pub(crate) fn messages_json(c: &Content, default_role: &str, output: bool, max_len: usize) -> (String, u64) {
    // Borrowed (role, content) pairs: the prompt is not copied.
    let msgs: Vec<(&str, &str)> = match c {
        Content::Text(t) => vec![(default_role, t.as_str())],
        Content::Messages(m) => m.iter().map(|m| (m.role.as_str(), m.content.as_str())).collect(),
    };
    let msgs = &msgs[..];
    let raw: usize = msgs.iter().map(|(_, c)| c.len()).sum();
    // Escaping only lengthens, so contents longer than the limit alone need cutting.
    if raw <= max_len {
        let full = write(msgs, output, usize::MAX);
        if full.len() <= max_len {
            return (full, 0);
        }
    }
    let overhead = write(msgs, output, 0).len();
    let lens: Vec<usize> = msgs.iter().map(|(_, c)| c.len()).collect();
    let mut budget = max_len.saturating_sub(overhead);
    let mut out = String::new();
    // Escapes can still push the text over: shrink the budget by the excess, a few times.
    for _ in 0..4 {
        let cap = fair_cap(&lens, budget);
        out = write(msgs, output, cap);
        if out.len() <= max_len || budget == 0 {
            break;
        }
        budget = budget.saturating_sub(out.len() - max_len);
    }
    let cap = fair_cap(&lens, budget);
    (out, lens.iter().filter(|&&l| l > cap).count() as u64)
}

/// The largest per-content length such that the contents, each cut to it, fit in
/// `budget` ("water filling": short contents are kept whole).
fn fair_cap(lens: &[usize], budget: usize) -> usize {
    let mut sorted = lens.to_vec();
    sorted.sort_unstable();
    let mut left = budget;
    for (i, &len) in sorted.iter().enumerate() {
        let share = left / (sorted.len() - i);
        if len > share {
            return share;
        }
        left -= len;
    }
    usize::MAX
}

/// Writes the list with each content cut to `cap` bytes (marker included).
fn write(msgs: &[(&str, &str)], output: bool, cap: usize) -> String {
    let size: usize = msgs.iter().map(|(role, content)| role.len() + content.len().min(cap) + 80).sum();
    let mut out = String::with_capacity(size + 2);
    out.push('[');
    for (i, &(role, content)) in msgs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"role\":");
        push_json_str(&mut out, role);
        out.push_str(",\"parts\":[{\"type\":\"text\",\"content\":");
        if content.len() <= cap {
            push_json_str(&mut out, content);
        } else {
            let mut at = cap.saturating_sub(TRUNCATED_SUFFIX.len());
            while !content.is_char_boundary(at) {
                at -= 1;
            }
            push_json_str(&mut out, &format!("{}{TRUNCATED_SUFFIX}", &content[..at]));
        }
        out.push_str("}]");
        if output {
            out.push_str(",\"finish_reason\":\"stop\"");
        }
        out.push('}');
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::content::ChatMessage;
    use serde_json::Value as Json;

    fn contents(json: &str) -> Vec<String> {
        let v: Json = serde_json::from_str(json).expect("valid JSON");
        v.as_array().unwrap().iter().map(|m| m["parts"][0]["content"].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn short_lists_are_written_whole() {
        let c = Content::Messages(vec![ChatMessage::new("system", "be \"brief\""), ChatMessage::new("user", "hi")]);
        let (json, cut) = messages_json(&c, "user", false, 1000);
        assert_eq!(cut, 0);
        assert_eq!(contents(&json), ["be \"brief\"", "hi"]);
        let (json, _) = messages_json(&Content::Text("x".into()), "assistant", true, 1000);
        let v: Json = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["role"], "assistant");
        assert_eq!(v[0]["finish_reason"], "stop");
    }

    #[test]
    fn a_huge_prompt_is_cut_inside_the_structure() {
        let big = "word \"quoted\" ünï ".repeat(600_000); // about 12 MB
        let c = Content::Messages(vec![ChatMessage::new("system", "keep me"), ChatMessage::new("user", big.clone())]);
        let (json, cut) = messages_json(&c, "user", false, 65_536);
        assert!(json.len() <= 65_536, "{}", json.len());
        assert_eq!(cut, 1);
        let got = contents(&json);
        assert_eq!(got[0], "keep me", "the short message is kept whole");
        assert!(got[1].ends_with(TRUNCATED_SUFFIX));
        assert!(big.starts_with(got[1].trim_end_matches(TRUNCATED_SUFFIX)));
        assert!(got[1].len() > 30_000, "the budget is used, not wasted: {}", got[1].len());
    }

    #[test]
    fn every_shape_stays_valid_json() {
        let many: Vec<ChatMessage> = (0..200).map(|i| ChatMessage::new("user", "\n".repeat(i * 7))).collect();
        for max in [16, 100, 1000, 5000] {
            let (json, _) = messages_json(&Content::Messages(many.clone()), "user", true, max);
            assert_eq!(contents(&json).len(), 200);
            let (json, _) = messages_json(&Content::Text("é\u{0}\"".repeat(10_000)), "user", false, max);
            assert_eq!(contents(&json).len(), 1);
            assert!(json.len() <= max.max(80), "{max}: {}", json.len());
        }
    }
}
