//! `PriceTable`: what a model costs per token, consulted when an LLM event has
//! tokens but no explicit cost.
//!
//! The built-in prices are data, not code: `litellm_prices.json` is the OpenAI,
//! Anthropic, Google Gemini, Mistral, xAI and DeepSeek chat models of LiteLLM's
//! `model_prices_and_context_window_backup.json` (litellm 1.110.2 from PyPI, MIT,
//! Copyright (c) 2023 Berri AI; taken 2026-11-26), reduced to the price fields. A
//! full LiteLLM file can replace or extend them (`AGENTOPS_PRICE_TABLE`), and code
//! can set any model's price.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::litellm::parse_litellm;
use super::price::ModelPrice;
use crate::event::LlmEvent;

/// The built-in table's source: LiteLLM's format, the six providers' chat models.
const BUILTIN: &str = include_str!("litellm_prices.json");

/// Prices by model name. Names resolve as users expect: exact, then without a
/// provider prefix (`openai/gpt-4o`), with LiteLLM's prefix for providers it keys
/// that way (`gemini/…`, `xai/…`), and without a date or `-latest` suffix
/// (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`).
#[derive(Debug)]
pub struct PriceTable {
    base: Arc<HashMap<String, ModelPrice>>,
    overrides: HashMap<String, ModelPrice>,
    /// Resolutions made so far, misses included.
    resolved: Mutex<HashMap<String, Option<ModelPrice>>>,
    unknown: Mutex<HashSet<String>>,
    unknown_count: AtomicU64,
}

fn builtin() -> Arc<HashMap<String, ModelPrice>> {
    static TABLE: OnceLock<Arc<HashMap<String, ModelPrice>>> = OnceLock::new();
    // The file ships with the crate and a unit test parses it, so it cannot fail here.
    TABLE.get_or_init(|| Arc::new(parse_litellm(BUILTIN).unwrap_or_default())).clone()
}

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable::builtin()
    }
}

impl Clone for PriceTable {
    fn clone(&self) -> Self {
        PriceTable::with_base(self.base.clone(), self.overrides.clone())
    }
}

/// LiteLLM keys these providers' models with a prefix.
const PREFIXES: [&str; 4] = ["gemini/", "xai/", "mistral/", "deepseek/"];

impl PriceTable {
    fn with_base(base: Arc<HashMap<String, ModelPrice>>, overrides: HashMap<String, ModelPrice>) -> Self {
        PriceTable {
            base,
            overrides,
            resolved: Mutex::new(HashMap::new()),
            unknown: Mutex::new(HashSet::new()),
            unknown_count: AtomicU64::new(0),
        }
    }

    /// The built-in prices (see the module docs for their source and date).
    pub fn builtin() -> Self {
        PriceTable::with_base(builtin(), HashMap::new())
    }

    /// A table of no models, for prices set in code only.
    pub fn empty() -> Self {
        PriceTable::with_base(Arc::new(HashMap::new()), HashMap::new())
    }

    /// The built-in prices, with those of a LiteLLM-format file
    /// (`model_prices_and_context_window.json`) over them.
    ///
    /// # Errors
    /// A message saying why the text is not such a file.
    pub fn with_litellm_json(text: &str) -> Result<Self, String> {
        let mut t = PriceTable::builtin();
        t.overrides.extend(parse_litellm(text)?);
        Ok(t)
    }

    /// Sets (or replaces) one model's price.
    pub fn set(&mut self, model: impl Into<String>, price: ModelPrice) {
        self.overrides.insert(model.into(), price);
        self.resolved.get_mut().clear();
    }

    /// How many models the table prices.
    pub fn len(&self) -> usize {
        self.base.len() + self.overrides.keys().filter(|k| !self.base.contains_key(*k)).count()
    }

    /// Whether the table prices no model.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn exact(&self, name: &str) -> Option<ModelPrice> {
        self.overrides.get(name).or_else(|| self.base.get(name)).copied()
    }

    /// The price of `model`, resolving its name (see the type's docs).
    pub fn get(&self, model: &str) -> Option<ModelPrice> {
        if let Some(p) = self.exact(model) {
            return Some(p);
        }
        if let Some(hit) = self.resolved.lock().get(model) {
            return *hit;
        }
        let found = self.resolve(model);
        let mut resolved = self.resolved.lock();
        if resolved.len() >= 4096 {
            resolved.clear();
        }
        resolved.insert(model.to_owned(), found);
        found
    }

    fn resolve(&self, model: &str) -> Option<ModelPrice> {
        let lower = model.trim().to_ascii_lowercase();
        let bare = lower.rsplit('/').next().unwrap_or(&lower).to_owned();
        let mut names = vec![lower.clone(), bare.clone()];
        if let Some(undated) = strip_version_suffix(&bare) {
            names.push(undated);
        }
        for name in names {
            if let Some(p) = self.exact(&name) {
                return Some(p);
            }
            if let Some(p) = PREFIXES.iter().find_map(|prefix| self.exact(&format!("{prefix}{name}"))) {
                return Some(p);
            }
        }
        None
    }

    /// The cost of an LLM call by its answering model (or, when unknown, the
    /// requested one); `None` when neither is priced or the event has no tokens. A
    /// model without a price is counted once ([`unknown_models`](Self::unknown_models))
    /// and logged once.
    pub fn cost(&self, e: &LlmEvent) -> Option<f64> {
        if e.input_tokens.is_none() && e.output_tokens.is_none() {
            return None;
        }
        self.price_of(e)?.cost(e)
    }

    /// The price of the answering model, else the requested one; a model without
    /// one is noted (see [`unknown_models`](Self::unknown_models)).
    fn price_of(&self, e: &LlmEvent) -> Option<ModelPrice> {
        let price = e.response_model.as_deref().and_then(|m| self.get(m)).or_else(|| self.get(&e.model));
        if price.is_none() {
            self.note_unknown(&e.model);
        }
        price
    }

    fn note_unknown(&self, model: &str) {
        let mut unknown = self.unknown.lock();
        if unknown.len() < 10_000 && unknown.insert(model.to_owned()) {
            self.unknown_count.fetch_add(1, Ordering::Relaxed);
            log::warn!(
                target: "agentops",
                "no price for model {model:?}: its calls get no cost (set one with OtelConfigBuilder::model_price, or load a LiteLLM price file with AGENTOPS_PRICE_TABLE)"
            );
        }
    }

    /// Distinct models seen without a price.
    pub fn unknown_models(&self) -> u64 {
        self.unknown_count.load(Ordering::Relaxed)
    }
}

/// `name` without a trailing date (`-2024-08-06`, `-20250929`) or `-latest`.
fn strip_version_suffix(name: &str) -> Option<String> {
    if let Some(base) = name.strip_suffix("-latest") {
        return Some(base.to_owned());
    }
    let (base, last) = name.rsplit_once('-')?;
    if last.len() == 8 && last.bytes().all(|b| b.is_ascii_digit()) {
        return Some(base.to_owned());
    }
    // -YYYY-MM-DD: three numeric segments at the end.
    let mut parts = name.rsplitn(4, '-');
    let (d, m, y, rest) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let numeric = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(y, 4) && numeric(m, 2) && numeric(d, 2)).then(|| rest.to_owned())
}
