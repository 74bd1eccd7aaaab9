//! The GenAI semantic-convention message list, as the `gen_ai.input.messages` /
//! `gen_ai.output.messages` JSON:
//! `[{"role": "...", "parts": [{"type": "text", "content": "..."}]}]`.
//!
//! Parts follow the conventions' schema: `text` and `reasoning` (`content`),
//! `tool_call` (`id`, `name`, `arguments`), `tool_call_response` (`id`,
//! `response`). Output messages carry a `finish_reason`.
//!
//! Long values are cut inside the structure, never in the JSON text: when the list
//! would exceed the length limit, the longest payloads are shortened (fairly: a
//! short system prompt is kept whole while a long document is cut), each cut one
//! ending with the truncation marker, and the value always parses.

use std::borrow::Cow;

use super::attr::TRUNCATED_SUFFIX;
use super::json::push_json_str;
use super::plain_messages::plain_text_json;
use crate::event::content::{Content, Part};

/// One part as written: its type, optional id and name, and its payload (text, or
/// JSON text for tool arguments and results) under `key`.
struct PartView<'a> {
    kind: &'static str,
    id: Option<&'a str>,
    name: Option<&'a str>,
    key: &'static str,
    payload: Cow<'a, str>,
    /// The payload is JSON text (written as is unless cut).
    json: bool,
}

struct MessageView<'a> {
    role: &'a str,
    finish_reason: Option<&'a str>,
    parts: Vec<PartView<'a>>,
}

fn json_text(v: &serde_json::Value) -> Cow<'static, str> {
    // Values built from serde_json::Value always serialize.
    Cow::Owned(serde_json::to_string(v).unwrap_or_default())
}

fn part_view(p: &Part) -> PartView<'_> {
    match p {
        Part::Text(t) => {
            PartView { kind: "text", id: None, name: None, key: "content", payload: t.into(), json: false }
        }
        Part::Reasoning(t) => {
            PartView { kind: "reasoning", id: None, name: None, key: "content", payload: t.into(), json: false }
        }
        Part::ToolCall(c) => PartView {
            kind: "tool_call",
            id: c.id.as_deref(),
            name: Some(&c.name),
            key: "arguments",
            payload: json_text(&c.arguments),
            json: true,
        },
        Part::ToolCallResponse { id, response } => PartView {
            kind: "tool_call_response",
            id: id.as_deref(),
            name: None,
            key: "response",
            payload: json_text(response),
            json: true,
        },
    }
}

fn views<'a>(c: &'a Content, default_role: &'a str, output: bool) -> Vec<MessageView<'a>> {
    let default_finish = output.then_some("stop");
    match c {
        Content::Text(t) => vec![MessageView {
            role: default_role,
            finish_reason: default_finish,
            parts: vec![PartView {
                kind: "text",
                id: None,
                name: None,
                key: "content",
                payload: t.into(),
                json: false,
            }],
        }],
        Content::Messages(m) => m
            .iter()
            .map(|m| MessageView {
                role: &m.role,
                finish_reason: if output { m.finish_reason.as_deref().or(default_finish) } else { None },
                parts: m.parts.iter().map(part_view).collect(),
            })
            .collect(),
    }
}

/// The messages JSON of `c`, at most about `max_len` bytes, and how many payloads
/// were cut to get there. (A list whose structure alone exceeds the limit keeps its
/// structure, with every payload reduced to the marker.)
pub(crate) fn messages_json(c: &Content, default_role: &str, output: bool, max_len: usize) -> (String, u64) {
    if let Some(json) = plain_text_json(c, default_role, output, max_len) {
        return (json, 0);
    }
    let msgs = views(c, default_role, output);
    let lens: Vec<usize> = msgs.iter().flat_map(|m| m.parts.iter().map(|p| p.payload.len())).collect();
    // Escaping only lengthens, so payloads longer than the limit alone need cutting.
    if lens.iter().sum::<usize>() <= max_len {
        let full = write(&msgs, usize::MAX);
        if full.len() <= max_len {
            return (full, 0);
        }
    }
    let overhead = write(&msgs, 0).len();
    let mut budget = max_len.saturating_sub(overhead);
    let mut out = String::new();
    // Escapes can still push the text over: shrink the budget by the excess, a few times.
    for _ in 0..4 {
        out = write(&msgs, fair_cap(&lens, budget));
        if out.len() <= max_len || budget == 0 {
            break;
        }
        budget = budget.saturating_sub(out.len() - max_len);
    }
    let cap = fair_cap(&lens, budget);
    (out, lens.iter().filter(|&&l| l > cap).count() as u64)
}

/// The largest per-payload length such that the payloads, each cut to it, fit in
/// `budget` ("water filling": short payloads are kept whole).
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

/// Writes the list with each payload cut to `cap` bytes (marker included). A cut
/// JSON payload is written as a string, so the whole stays valid JSON.
fn write(msgs: &[MessageView<'_>], cap: usize) -> String {
    let size: usize =
        msgs.iter().flat_map(|m| m.parts.iter()).map(|p| p.payload.len().min(cap) + 64).sum::<usize>() + 64;
    let mut out = String::with_capacity(size);
    out.push('[');
    for (i, m) in msgs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"role\":");
        push_json_str(&mut out, m.role);
        out.push_str(",\"parts\":[");
        for (j, p) in m.parts.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str("{\"type\":\"");
            out.push_str(p.kind);
            out.push('"');
            if let Some(id) = p.id {
                out.push_str(",\"id\":");
                push_json_str(&mut out, id);
            }
            if let Some(name) = p.name {
                out.push_str(",\"name\":");
                push_json_str(&mut out, name);
            }
            out.push_str(",\"");
            out.push_str(p.key);
            out.push_str("\":");
            if p.payload.len() <= cap {
                if p.json {
                    out.push_str(&p.payload);
                } else {
                    push_json_str(&mut out, &p.payload);
                }
            } else {
                let mut at = cap.saturating_sub(TRUNCATED_SUFFIX.len());
                while !p.payload.is_char_boundary(at) {
                    at -= 1;
                }
                push_json_str(&mut out, &format!("{}{TRUNCATED_SUFFIX}", &p.payload[..at]));
            }
            out.push('}');
        }
        out.push(']');
        if let Some(f) = m.finish_reason {
            out.push_str(",\"finish_reason\":");
            push_json_str(&mut out, f);
        }
        out.push('}');
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::content::{ChatMessage, ToolCall};
    use serde_json::json;
    use serde_json::Value as Json;

    fn contents(json: &str) -> Vec<String> {
        let v: Json = serde_json::from_str(json).expect("valid JSON");
        v.as_array().unwrap().iter().map(|m| m["parts"][0]["content"].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn plain_text_is_written_as_a_list_of_one_message() {
        for text in ["", "hi", "quote \" and \n", &"é".repeat(300)] {
            for output in [false, true] {
                let c = Content::Text(text.into());
                let general = write(&views(&c, "user", output), usize::MAX);
                assert_eq!(plain_text_json(&c, "user", output, usize::MAX).unwrap(), general, "{text:?} {output}");
                assert_eq!(messages_json(&c, "user", output, 100_000).0, general);
            }
        }
        for output in [false, true] {
            let json =
                plain_text_json(&Content::Text("no escapes".repeat(50)), "assistant", output, usize::MAX).unwrap();
            assert_eq!(json.capacity(), json.len(), "sized exactly: boxing it does not reallocate");
        }
        let long = Content::Text("x".repeat(500));
        assert_eq!(plain_text_json(&long, "user", false, 100), None, "too long: the general path cuts it");
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

    #[test]
    fn parts_follow_the_conventions_schema() {
        let call = ToolCall::new(Some("call_1".into()), "get_weather", json!({"city": "Paris"}));
        let input = Content::Messages(vec![
            ChatMessage::new("user", "weather?"),
            ChatMessage::with_parts("assistant", vec![Part::Reasoning("think".into()), Part::ToolCall(call)]),
            ChatMessage::tool_result("call_1", json!({"temp": 21})),
        ]);
        let (json, cut) = messages_json(&input, "user", false, 10_000);
        assert_eq!(cut, 0);
        let v: Json = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v,
            json!([
                {"role": "user", "parts": [{"type": "text", "content": "weather?"}]},
                {"role": "assistant", "parts": [
                    {"type": "reasoning", "content": "think"},
                    {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
                ]},
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": {"temp": 21}}]}
            ])
        );
        let output = Content::Messages(vec![ChatMessage::new("assistant", "hi").finish_reason("length")]);
        let v: Json = serde_json::from_str(&messages_json(&output, "assistant", true, 10_000).0).unwrap();
        assert_eq!(v[0]["finish_reason"], "length");
    }

    #[test]
    fn cut_arguments_stay_valid_json() {
        let call = ToolCall::new(None, "t", json!({"doc": "x".repeat(5000)}));
        let c = Content::Messages(vec![ChatMessage::with_parts("assistant", vec![Part::ToolCall(call)])]);
        let (json, cut) = messages_json(&c, "assistant", true, 1000);
        assert_eq!(cut, 1);
        let v: Json = serde_json::from_str(&json).unwrap();
        assert!(v[0]["parts"][0]["arguments"].as_str().unwrap().ends_with(TRUNCATED_SUFFIX));
        assert!(v[0]["parts"][0].get("id").is_none());
    }
}
