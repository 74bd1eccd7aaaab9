//! `ModelPrice`: what one model costs, and the cost of a call at those prices.

use crate::event::LlmEvent;

/// What one model costs, in US dollars per token.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ModelPrice {
    /// Per input token not read from or written to a cache.
    pub input: f64,
    /// Per output token.
    pub output: f64,
    /// Per input token read from the prompt cache (default: `input`).
    pub cache_read: Option<f64>,
    /// Per input token written to the prompt cache (default: `input`).
    pub cache_creation: Option<f64>,
    /// Per reasoning token (default: `output`).
    pub reasoning: Option<f64>,
}

impl ModelPrice {
    /// Prices in US dollars per token, as LiteLLM lists them.
    pub fn per_token(input: f64, output: f64) -> Self {
        ModelPrice { input, output, cache_read: None, cache_creation: None, reasoning: None }
    }

    /// Prices in US dollars per million tokens, as providers publish them.
    pub fn per_million(input: f64, output: f64) -> Self {
        ModelPrice::per_token(input / 1e6, output / 1e6)
    }

    /// Sets the cache-read price, per million tokens.
    pub fn cache_read_per_million(mut self, usd: f64) -> Self {
        self.cache_read = Some(usd / 1e6);
        self
    }

    /// Sets the cache-creation (write) price, per million tokens.
    pub fn cache_creation_per_million(mut self, usd: f64) -> Self {
        self.cache_creation = Some(usd / 1e6);
        self
    }

    /// Sets the reasoning-token price, per million tokens.
    pub fn reasoning_per_million(mut self, usd: f64) -> Self {
        self.reasoning = Some(usd / 1e6);
        self
    }

    /// The cost of a call: uncached input, cache reads, cache writes and output at
    /// their prices. The event's `input_tokens` include the cache parts (the GenAI
    /// conventions' rule, which the adapters follow), so this is OpenAI's
    /// `(prompt − cached)·input + cached·cache_read + completion·output` and
    /// Anthropic's `input·input + cache_read·cache_read +
    /// cache_creation·cache_creation + output·output` alike. `None` without tokens.
    pub fn cost(&self, e: &LlmEvent) -> Option<f64> {
        if e.input_tokens.is_none() && e.output_tokens.is_none() {
            return None;
        }
        let (input, output) = (e.input_tokens.unwrap_or(0) as f64, e.output_tokens.unwrap_or(0) as f64);
        let d = e.details();
        let read = (d.cache_read_tokens.unwrap_or(0) as f64).min(input);
        let creation = (d.cache_creation_tokens.unwrap_or(0) as f64).min(input - read);
        let reasoning = (d.reasoning_tokens.unwrap_or(0) as f64).min(output);
        let uncached = input - read - creation;
        let out = match self.reasoning {
            Some(r) => (output - reasoning) * self.output + reasoning * r,
            None => output * self.output,
        };
        let cost = uncached * self.input
            + read * self.cache_read.unwrap_or(self.input)
            + creation * self.cache_creation.unwrap_or(self.input)
            + out;
        cost.is_finite().then_some(cost)
    }
}
