//! Finish reasons: providers' words mapped onto the GenAI conventions' (`stop`,
//! `length`, `content_filter`, `tool_call`, `error`) for output messages. The
//! span's `gen_ai.response.finish_reasons` keeps the provider's own words.

/// The conventions' finish reason for a provider's; an unknown word is kept.
pub(crate) fn normalize_finish(reason: &str) -> String {
    match reason {
        // OpenAI, Anthropic, Gemini (upper case), Responses API.
        "stop" | "end_turn" | "stop_sequence" | "STOP" | "completed" => "stop",
        "length" | "max_tokens" | "MAX_TOKENS" | "max_output_tokens" => "length",
        "tool_calls" | "function_call" | "tool_use" => "tool_call",
        "content_filter" | "refusal" | "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII"
        | "IMAGE_SAFETY" => "content_filter",
        "error" | "failed" | "MALFORMED_FUNCTION_CALL" => "error",
        other => other,
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_words_map_onto_the_conventions() {
        for (from, to) in [
            ("stop", "stop"),
            ("end_turn", "stop"),
            ("STOP", "stop"),
            ("max_tokens", "length"),
            ("tool_calls", "tool_call"),
            ("tool_use", "tool_call"),
            ("SAFETY", "content_filter"),
            ("pause_turn", "pause_turn"),
        ] {
            assert_eq!(normalize_finish(from), to, "{from}");
        }
    }
}
