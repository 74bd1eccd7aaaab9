//! Reading LiteLLM's price file (`model_prices_and_context_window.json`): an object
//! of model name → fields, of which the per-token prices are read. Entries without
//! input and output prices (images, audio, the `sample_spec` example) are skipped.

use std::collections::HashMap;

use serde_json::Value;

use super::price::ModelPrice;

fn price(v: &Value, key: &str) -> Option<f64> {
    let p = match v.get(key)? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (p.is_finite() && p >= 0.0).then_some(p)
}

/// The models of a LiteLLM price file.
pub(crate) fn parse_litellm(text: &str) -> Result<HashMap<String, ModelPrice>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(models) = v else {
        return Err("not a LiteLLM price file: expected an object of model names".into());
    };
    let mut out = HashMap::with_capacity(models.len());
    for (name, fields) in &models {
        let (Some(input), Some(output)) =
            (price(fields, "input_cost_per_token"), price(fields, "output_cost_per_token"))
        else {
            continue;
        };
        let mut p = ModelPrice::per_token(input, output);
        p.cache_read = price(fields, "cache_read_input_token_cost");
        p.cache_creation = price(fields, "cache_creation_input_token_cost");
        p.reasoning = price(fields, "output_cost_per_reasoning_token");
        out.insert(name.clone(), p);
    }
    if out.is_empty() && !models.is_empty() {
        return Err("not a LiteLLM price file: no entry has input_cost_per_token and output_cost_per_token".into());
    }
    Ok(out)
}
