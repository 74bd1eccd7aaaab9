//! [`Totals`]: what a capture adds up to (`agentops stats`): sessions, spans,
//! tokens, cost and calls by model, errors by type.

use std::collections::BTreeMap;
use std::fmt;

use super::spans::CapturedSession;
use crate::encode::attr;
use crate::util::time::usd;

/// One model's LLM calls.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ModelTotals {
    /// LLM spans.
    pub calls: u64,
    /// Their input tokens.
    pub input_tokens: u64,
    /// Their output tokens.
    pub output_tokens: u64,
    /// Their cost in USD (spans without a cost add nothing).
    pub cost: f64,
}

/// What a capture's sessions add up to.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Totals {
    /// Sessions (traces).
    pub sessions: u64,
    /// Sessions whose root span is in the capture (they ended).
    pub ended_sessions: u64,
    /// Spans.
    pub spans: u64,
    /// Input tokens of every LLM span.
    pub input_tokens: u64,
    /// Output tokens of every LLM span.
    pub output_tokens: u64,
    /// LLM calls by model (the request's model, else the response's).
    pub by_model: BTreeMap<String, ModelTotals>,
    /// Errors by type: error spans by `error.type`, and failed LLM and tool calls
    /// as `failed llm`, `failed tool` (agents, actions and sessions are marked
    /// failed for what failed inside them, so they are not counted again).
    pub errors_by_type: BTreeMap<String, u64>,
}

fn count(v: Option<f64>) -> u64 {
    v.filter(|x| x.is_finite() && *x > 0.0).map_or(0, |x| x as u64)
}

impl Totals {
    /// Adds a session.
    pub fn add(&mut self, session: &CapturedSession) {
        self.sessions += 1;
        self.ended_sessions += u64::from(session.root().is_some());
        for s in &session.spans {
            self.spans += 1;
            let kind = s.event_kind();
            if kind == "llm" {
                // The model asked for: a provider's dated answer (`gpt-4o-mini-2024-07-18`)
                // and a call with no answer are the same model to the person reading.
                let model = s
                    .attribute(attr::GEN_AI_REQUEST_MODEL)
                    .or_else(|| s.attribute(attr::GEN_AI_RESPONSE_MODEL))
                    .map_or_else(|| "(unknown model)".to_owned(), ToString::to_string);
                let m = self.by_model.entry(model).or_default();
                let (i, o) = (count(s.number(attr::GEN_AI_INPUT_TOKENS)), count(s.number(attr::GEN_AI_OUTPUT_TOKENS)));
                m.calls += 1;
                m.input_tokens += i;
                m.output_tokens += o;
                m.cost += s.number(attr::LLM_COST).filter(|c| c.is_finite()).unwrap_or(0.0);
                self.input_tokens += i;
                self.output_tokens += o;
            }
            if kind == "error" {
                let ty = s.attribute(attr::ERROR_TYPE).map_or_else(|| s.name.clone(), ToString::to_string);
                *self.errors_by_type.entry(ty).or_default() += 1;
            } else if s.error.is_some() && (kind == "llm" || kind == "tool") {
                *self.errors_by_type.entry(format!("failed {kind}")).or_default() += 1;
            }
        }
    }

    /// The cost of every LLM call, in USD.
    pub fn cost(&self) -> f64 {
        self.by_model.values().map(|m| m.cost).sum()
    }

    /// Errors of every type.
    pub fn errors(&self) -> u64 {
        self.errors_by_type.values().sum()
    }
}

impl fmt::Display for Totals {
    /// The totals for people: a line of counts, then one line per model and per
    /// error type.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "total: {} sessions ({} ended) | {} spans | tokens in/out: {}/{} | cost: {} | errors: {}",
            self.sessions,
            self.ended_sessions,
            self.spans,
            self.input_tokens,
            self.output_tokens,
            usd(self.cost()),
            self.errors()
        )?;
        for (model, m) in &self.by_model {
            writeln!(
                f,
                "  model {model}: {} calls | tokens in/out: {}/{} | cost: {}",
                m.calls,
                m.input_tokens,
                m.output_tokens,
                usd(m.cost)
            )?;
        }
        for (ty, n) in &self.errors_by_type {
            writeln!(f, "  error {ty}: {n}")?;
        }
        Ok(())
    }
}
