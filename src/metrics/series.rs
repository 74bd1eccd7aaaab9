//! Instruments bound to the attribute sets that recur: one set per kind of LLM call
//! (operation, provider, requested and answering model) and per tool. Recording
//! through a bound instrument is a bucket search and a few atomic updates; the SDK's
//! unbound path hashes and compares every attribute of every measurement, on the
//! export thread, for every LLM event (`benches/RESULTS.md` has what it cost).
//!
//! Each instrument is bound at its first measurement, not when its series is made:
//! with cumulative temporality the SDK exports every bound attribute set, recorded
//! or not, and a point of zero for what never happened (the output tokens of a call
//! that failed) would be noise.

use std::borrow::Cow;
use std::cell::OnceCell;

use opentelemetry::metrics::{BoundCounter, BoundHistogram};
use opentelemetry::{KeyValue, Value};

use super::instruments::{key, Instruments};
use crate::encode::attr;
use crate::event::LlmEvent;

/// Series kept at most, per kind; calls beyond (an unbounded set of model names)
/// are recorded unbound, which is slower but still correct.
pub(crate) const MAX_SERIES: usize = 256;

/// A name as an attribute value. Takes the `Cow` itself, not a `&str`: a borrowed
/// `'static` name (a literal model or tool name) is passed on without a copy.
#[allow(clippy::ptr_arg)]
pub(crate) fn text(v: &Cow<'static, str>) -> Value {
    Value::from(v.clone())
}

/// The operation of an LLM call (`chat` unless it says otherwise).
fn operation(e: &LlmEvent) -> &str {
    e.operation.as_deref().unwrap_or("chat")
}

/// The attributes of an LLM call's measurements (no token type, no error).
pub(crate) fn llm_attrs(e: &LlmEvent) -> Vec<KeyValue> {
    let mut attrs = Vec::with_capacity(5);
    attrs.push(KeyValue::new(attr::GEN_AI_OPERATION, e.operation.clone().unwrap_or(Cow::Borrowed("chat"))));
    if let Some(p) = &e.provider {
        attrs.push(KeyValue::new(attr::GEN_AI_PROVIDER, text(p)));
    }
    attrs.push(KeyValue::new(attr::GEN_AI_REQUEST_MODEL, text(&e.model)));
    if let Some(m) = &e.response_model {
        attrs.push(KeyValue::new(attr::GEN_AI_RESPONSE_MODEL, text(m)));
    }
    attrs
}

/// The attributes of an LLM call's cost: provider and requested model.
pub(crate) fn cost_attrs(e: &LlmEvent) -> Vec<KeyValue> {
    let mut by = Vec::with_capacity(2);
    if let Some(p) = &e.provider {
        by.push(KeyValue::new(attr::GEN_AI_PROVIDER, text(p)));
    }
    by.push(KeyValue::new(attr::GEN_AI_REQUEST_MODEL, text(&e.model)));
    by
}

/// One kind of LLM call and its instruments, each bound at its first use.
pub(crate) struct LlmSeries {
    operation: String,
    provider: Option<String>,
    model: String,
    response_model: Option<String>,
    /// Also, unbound, for a failed call's duration (which adds `error.type`).
    pub attrs: Vec<KeyValue>,
    cost_attrs: Vec<KeyValue>,
    input: OnceCell<BoundHistogram<u64>>,
    output: OnceCell<BoundHistogram<u64>>,
    duration: OnceCell<BoundHistogram<f64>>,
    cost: OnceCell<BoundCounter<f64>>,
}

impl LlmSeries {
    fn new(e: &LlmEvent) -> Self {
        LlmSeries {
            operation: operation(e).to_owned(),
            provider: e.provider.as_deref().map(str::to_owned),
            model: e.model.clone().into_owned(),
            response_model: e.response_model.as_deref().map(str::to_owned),
            attrs: llm_attrs(e),
            cost_attrs: cost_attrs(e),
            input: OnceCell::new(),
            output: OnceCell::new(),
            duration: OnceCell::new(),
            cost: OnceCell::new(),
        }
    }

    /// Records a call's token counts and cost.
    pub fn usage(&self, i: &Instruments, input: Option<u64>, output: Option<u64>, cost: Option<f64>) {
        let record = |cell: &OnceCell<BoundHistogram<u64>>, kind: &'static str, n: u64| {
            let bound = cell.get_or_init(|| {
                let mut a = self.attrs.clone();
                a.push(KeyValue::new(key::TOKEN_TYPE, kind));
                i.token_usage.bind(&a)
            });
            bound.record(n);
        };
        input.inspect(|n| record(&self.input, "input", *n));
        output.inspect(|n| record(&self.output, "output", *n));
        cost.inspect(|c| self.cost.get_or_init(|| i.llm_cost.bind(&self.cost_attrs)).add(*c));
    }

    /// Records a call's duration (one that did not fail).
    pub fn duration(&self, i: &Instruments, seconds: f64) {
        self.duration.get_or_init(|| i.operation_duration.bind(&self.attrs)).record(seconds);
    }

    fn is_for(&self, e: &LlmEvent) -> bool {
        self.model == e.model
            && self.provider.as_deref() == e.provider.as_deref()
            && self.response_model.as_deref() == e.response_model.as_deref()
            && self.operation == operation(e)
    }
}

/// One tool and its duration, bound at its first use.
pub(crate) struct ToolSeries {
    name: String,
    pub attrs: Vec<KeyValue>,
    duration: OnceCell<BoundHistogram<f64>>,
}

impl ToolSeries {
    /// Records a call's duration (one that did not fail).
    pub fn duration(&self, i: &Instruments, seconds: f64) {
        self.duration.get_or_init(|| i.tool_duration.bind(&self.attrs)).record(seconds);
    }
}

/// The tool duration's attributes (the `Cow` itself: see [`text`]).
#[allow(clippy::ptr_arg)]
pub(crate) fn tool_attrs(name: &Cow<'static, str>) -> Vec<KeyValue> {
    vec![KeyValue::new(attr::GEN_AI_OPERATION, "execute_tool"), KeyValue::new(attr::GEN_AI_TOOL_NAME, text(name))]
}

/// The series seen so far, with the last one found remembered: an agent usually
/// calls the same model many times in a row.
#[derive(Default)]
pub(crate) struct SeriesCache {
    llm: Vec<LlmSeries>,
    last_llm: usize,
    tools: Vec<ToolSeries>,
}

impl SeriesCache {
    /// The index of `e`'s series, made if new; `None` past [`MAX_SERIES`].
    pub fn llm(&mut self, e: &LlmEvent) -> Option<usize> {
        if self.llm.get(self.last_llm).is_some_and(|s| s.is_for(e)) {
            return Some(self.last_llm);
        }
        let found = match self.llm.iter().position(|s| s.is_for(e)) {
            Some(at) => at,
            None if self.llm.len() < MAX_SERIES => {
                self.llm.push(LlmSeries::new(e));
                self.llm.len() - 1
            }
            None => return None,
        };
        self.last_llm = found;
        Some(found)
    }

    /// The index of the tool's series, made if new; `None` past [`MAX_SERIES`].
    #[allow(clippy::ptr_arg)] // the `Cow` itself, as `text` takes it
    pub fn tool(&mut self, name: &Cow<'static, str>) -> Option<usize> {
        if let Some(at) = self.tools.iter().position(|s| s.name == *name) {
            return Some(at);
        }
        if self.tools.len() >= MAX_SERIES {
            return None;
        }
        let series = ToolSeries { name: name.clone().into_owned(), attrs: tool_attrs(name), duration: OnceCell::new() };
        self.tools.push(series);
        Some(self.tools.len() - 1)
    }

    pub fn llm_at(&self, at: usize) -> &LlmSeries {
        &self.llm[at]
    }

    pub fn tool_at(&self, at: usize) -> &ToolSeries {
        &self.tools[at]
    }
}
