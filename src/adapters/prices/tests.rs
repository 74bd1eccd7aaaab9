//! The price table: the built-in data, name resolution, the cost formula.

use super::litellm::parse_litellm;
use super::price::ModelPrice;
use super::table::PriceTable;
use crate::event::LlmEvent;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-15 + 1e-12 * b.abs()
}

#[test]
fn the_builtin_data_parses_and_prices_current_models() {
    let t = PriceTable::builtin();
    assert!(t.len() > 300, "{}", t.len());
    let gpt4o = t.get("gpt-4o").unwrap();
    assert!(close(gpt4o.input, 2.5e-6) && close(gpt4o.output, 1e-5));
    assert!(close(gpt4o.cache_read.unwrap(), 1.25e-6));
    let sonnet = t.get("claude-sonnet-4-5").unwrap();
    assert!(close(sonnet.input, 3e-6) && close(sonnet.output, 1.5e-5));
    assert!(close(sonnet.cache_read.unwrap(), 3e-7) && close(sonnet.cache_creation.unwrap(), 3.75e-6));
    for model in ["gemini-2.5-pro", "deepseek-chat", "grok-4.20", "mistral-large-latest", "o3", "gpt-5"] {
        assert!(t.get(model).is_some(), "{model}");
    }
}

#[test]
fn names_resolve_as_users_write_them() {
    let t = PriceTable::builtin();
    let base = t.get("gpt-4o").unwrap();
    assert_eq!(t.get("openai/gpt-4o"), Some(base), "provider prefix");
    assert_eq!(t.get("GPT-4o"), Some(base), "case");
    assert_eq!(t.get("gpt-4o-2031-01-01"), Some(base), "a dated snapshot the table does not list");
    assert_eq!(t.get("claude-sonnet-4-5-20991231"), t.get("claude-sonnet-4-5"));
    assert_eq!(t.get("models/gemini-2.5-flash"), t.get("gemini-2.5-flash"));
    assert_eq!(t.get("grok-4.20"), t.get("xai/grok-4.20"), "LiteLLM's prefix for xAI");
    assert_eq!(t.get("my-fine-tune"), None);
}

#[test]
fn openai_and_anthropic_costs_follow_their_formulas() {
    let t = PriceTable::builtin();
    // OpenAI: (prompt − cached)·input + cached·cache_read + completion·output.
    let e = LlmEvent::new("gpt-4o").tokens(1000, 200).cache_tokens(400, 0);
    let want = 600.0 * 2.5e-6 + 400.0 * 1.25e-6 + 200.0 * 1e-5;
    assert!(close(t.cost(&e).unwrap(), want), "{:?} {want}", t.cost(&e));
    // Anthropic: input includes the cache parts (as the adapter reports it).
    let e = LlmEvent::new("claude-sonnet-4-5").tokens(20 + 1000 + 300, 60).cache_tokens(1000, 300);
    let want = 20.0 * 3e-6 + 1000.0 * 3e-7 + 300.0 * 3.75e-6 + 60.0 * 1.5e-5;
    assert!(close(t.cost(&e).unwrap(), want), "{:?} {want}", t.cost(&e));
    // The answering model wins when it is priced.
    let e = LlmEvent::new("my-deployment").response_model("gpt-4o-mini").tokens(10, 10);
    assert!(close(t.cost(&e).unwrap(), 10.0 * 1.5e-7 + 10.0 * 6e-7));
    // Reasoning tokens at their own price when the model has one.
    let mut t = PriceTable::empty();
    t.set("r1", ModelPrice::per_million(1.0, 2.0).reasoning_per_million(8.0));
    let e = LlmEvent::new("r1").tokens(0, 100).reasoning_tokens(40);
    assert!(close(t.cost(&e).unwrap(), 60.0 * 2e-6 + 40.0 * 8e-6));
    assert_eq!(t.cost(&LlmEvent::new("r1")), None, "no tokens, no cost");
}

#[test]
fn unknown_models_get_no_cost_and_are_counted_once() {
    let t = PriceTable::builtin();
    for _ in 0..3 {
        assert_eq!(t.cost(&LlmEvent::new("mystery-1").tokens(1, 1)), None);
        assert_eq!(t.cost(&LlmEvent::new("mystery-2").tokens(1, 1)), None);
    }
    assert_eq!(t.unknown_models(), 2);
}

#[test]
fn a_call_without_details_costs_its_input_and_output_at_their_prices() {
    let p = ModelPrice::per_million(2.5, 10.0).cache_read_per_million(1.25).reasoning_per_million(20.0);
    let plain = LlmEvent::new("m").tokens(1234, 567);
    let mut empty_details = plain.clone();
    empty_details.details_mut();
    assert_eq!(p.cost(&plain), p.cost(&empty_details));
    assert!(close(p.cost(&plain).unwrap(), 1234.0 * 2.5e-6 + 567.0 * 1e-5));
    assert_eq!(p.cost(&LlmEvent::new("m")), None, "no tokens, no cost");
}

#[test]
fn litellm_files_load_and_bad_ones_say_why() {
    let text = r#"{"sample_spec": {"max_tokens": "set to max"},
        "my-model": {"input_cost_per_token": 1e-6, "output_cost_per_token": "2e-6", "cache_read_input_token_cost": 5e-7},
        "dall-e": {"output_cost_per_image": 0.04}}"#;
    let m = parse_litellm(text).unwrap();
    assert_eq!(m.len(), 1);
    let p = m["my-model"];
    assert!(close(p.input, 1e-6) && close(p.output, 2e-6) && close(p.cache_read.unwrap(), 5e-7));
    let t = PriceTable::with_litellm_json(text).unwrap();
    assert!(t.get("my-model").is_some() && t.get("gpt-4o").is_some(), "the file extends the built-in prices");
    assert!(parse_litellm("[1,2]").unwrap_err().contains("object"));
    assert!(parse_litellm("{").unwrap_err().contains("not JSON"));
    assert!(parse_litellm(r#"{"x": {"mode": "chat"}}"#).is_err());
}
