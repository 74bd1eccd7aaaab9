//! The attribute names the AgentOps backend reads, written instead of the GenAI
//! messages JSON when every span exporter of a client is AgentOps' (and converted
//! to by its exporter otherwise: `exporters/agentops/compat.rs`).
//!
//! How we know it reads them: the AgentOps dashboard shows an LLM span's content
//! from `gen_ai.completion.N.*` and `gen_ai.prompt.N.*`
//! (`app/dashboard/components/charts/bar-chart/span-processing.ts`,
//! `processLlmSpanContent`), its metrics queries read `gen_ai.usage.prompt_tokens`
//! and `gen_ai.usage.completion_tokens` (`app/api/agentops/api/models/span_metrics.py`),
//! and AgentOps' own SDKs write `gen_ai.prompt.{i}.content` (agentops-ts,
//! `src/semconv/messages.ts`); nothing there reads `gen_ai.input.messages`. So the
//! content goes once, under these names, not twice.

use std::borrow::Cow;

/// The provider, as AgentOps names it (`gen_ai.provider.name` is written too).
pub(crate) const SYSTEM: &str = "gen_ai.system";
/// Input tokens (`gen_ai.usage.input_tokens` is written too).
pub(crate) const PROMPT_TOKENS: &str = "gen_ai.usage.prompt_tokens";
/// Output tokens (`gen_ai.usage.output_tokens` is written too).
pub(crate) const COMPLETION_TOKENS: &str = "gen_ai.usage.completion_tokens";

/// Which list a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// `gen_ai.prompt.N.*`, from `gen_ai.input.messages`.
    Prompt,
    /// `gen_ai.completion.N.*`, from `gen_ai.output.messages`.
    Completion,
}

const PROMPT: [[&str; 2]; 8] = [
    ["gen_ai.prompt.0.role", "gen_ai.prompt.0.content"],
    ["gen_ai.prompt.1.role", "gen_ai.prompt.1.content"],
    ["gen_ai.prompt.2.role", "gen_ai.prompt.2.content"],
    ["gen_ai.prompt.3.role", "gen_ai.prompt.3.content"],
    ["gen_ai.prompt.4.role", "gen_ai.prompt.4.content"],
    ["gen_ai.prompt.5.role", "gen_ai.prompt.5.content"],
    ["gen_ai.prompt.6.role", "gen_ai.prompt.6.content"],
    ["gen_ai.prompt.7.role", "gen_ai.prompt.7.content"],
];
const COMPLETION: [[&str; 2]; 8] = [
    ["gen_ai.completion.0.role", "gen_ai.completion.0.content"],
    ["gen_ai.completion.1.role", "gen_ai.completion.1.content"],
    ["gen_ai.completion.2.role", "gen_ai.completion.2.content"],
    ["gen_ai.completion.3.role", "gen_ai.completion.3.content"],
    ["gen_ai.completion.4.role", "gen_ai.completion.4.content"],
    ["gen_ai.completion.5.role", "gen_ai.completion.5.content"],
    ["gen_ai.completion.6.role", "gen_ai.completion.6.content"],
    ["gen_ai.completion.7.role", "gen_ai.completion.7.content"],
];

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Prompt => "prompt",
            Side::Completion => "completion",
        }
    }

    /// The keys of message `i`: `(…role, …content)`; literals for the first eight.
    pub fn keys(self, i: usize) -> (Cow<'static, str>, Cow<'static, str>) {
        let table = match self {
            Side::Prompt => &PROMPT,
            Side::Completion => &COMPLETION,
        };
        match table.get(i) {
            Some([role, content]) => (Cow::Borrowed(role), Cow::Borrowed(content)),
            None => {
                let side = self.name();
                (Cow::Owned(format!("gen_ai.{side}.{i}.role")), Cow::Owned(format!("gen_ai.{side}.{i}.content")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_indexed_names_literal_or_not() {
        for side in [Side::Prompt, Side::Completion] {
            for i in 0..12 {
                let (role, content) = side.keys(i);
                assert_eq!(role, format!("gen_ai.{}.{i}.role", side.name()));
                assert_eq!(content, format!("gen_ai.{}.{i}.content", side.name()));
                assert_eq!(matches!(role, Cow::Borrowed(_)), i < 8);
            }
        }
    }
}
