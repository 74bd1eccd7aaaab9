//! What AgentOps answers, read in one place: the bearer token of `/v3/auth/token`,
//! the JWT of `/v2/create_session` and `/v2/reauthorize_jwt`, and the
//! `token_cost` of `/v2/update_session`. Any bytes give a value or a message,
//! never a panic (fuzzed in `fuzz/fuzz_targets/agentops_answers.rs`).

use serde_json::Value as Json;

/// The answer to `/v3/auth/token`: the token and the project id (empty when the
/// answer has none).
///
/// # Errors
/// A message saying what is wrong with the answer.
pub(crate) fn auth_token(body: &[u8]) -> Result<(String, String), String> {
    let v: Json = serde_json::from_slice(body).map_err(|e| format!("AgentOps auth answered with invalid JSON: {e}"))?;
    let token = v.get("token").and_then(Json::as_str).filter(|t| valid_header_value(t));
    let token = token.ok_or("AgentOps auth answered without a usable token")?;
    let project_id = v.get("project_id").and_then(Json::as_str).unwrap_or_default();
    Ok((token.to_owned(), project_id.to_owned()))
}

/// The `jwt` of a v2 answer to `endpoint`.
///
/// # Errors
/// A message naming `endpoint` when the answer has no usable JWT.
pub(crate) fn jwt(body: &[u8], endpoint: &str) -> Result<String, String> {
    serde_json::from_slice::<Json>(body)
        .ok()
        .and_then(|v| v.get("jwt").and_then(Json::as_str).map(str::to_owned))
        .filter(|j| valid_header_value(j))
        .ok_or_else(|| format!("AgentOps {endpoint} answered without a usable jwt"))
}

/// The `token_cost` of an `update_session` answer: a number, or a string holding
/// one (the API has sent both); finite and not negative, or none.
pub(crate) fn token_cost(body: &[u8]) -> Option<f64> {
    let v: Json = serde_json::from_slice(body).ok()?;
    let cost = match v.get("token_cost")? {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    (cost.is_finite() && cost >= 0.0).then_some(cost)
}

/// A token goes into an `Authorization` header: one that cannot (a newline, a
/// control character) would fail every request later, so it is refused here.
fn valid_header_value(s: &str) -> bool {
    !s.is_empty() && s.len() <= 16 * 1024 && s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_answers() {
        assert_eq!(auth_token(br#"{"token":"t","project_id":"p"}"#), Ok(("t".into(), "p".into())));
        assert_eq!(auth_token(br#"{"token":"t"}"#), Ok(("t".into(), String::new())));
        assert!(auth_token(b"not json").unwrap_err().contains("invalid JSON"));
        assert!(auth_token(br#"{"token":5}"#).unwrap_err().contains("without a usable token"));
        assert!(auth_token(b"{\"token\":\"a\\nb\"}").is_err(), "a newline cannot go into a header");
    }

    #[test]
    fn jwt_answers() {
        assert_eq!(jwt(br#"{"jwt":"j"}"#, "/v2/create_session"), Ok("j".into()));
        assert!(jwt(b"", "/v2/create_session").unwrap_err().contains("/v2/create_session"));
        assert!(jwt(br#"{"jwt":""}"#, "/v2/reauthorize_jwt").is_err());
    }

    #[test]
    fn cost_answers() {
        assert_eq!(token_cost(br#"{"token_cost":0.25}"#), Some(0.25));
        assert_eq!(token_cost(br#"{"token_cost":" 1.5 "}"#), Some(1.5));
        assert_eq!(token_cost(br#"{"token_cost":"NaN"}"#), None);
        assert_eq!(token_cost(br#"{"token_cost":"-1"}"#), None);
        assert_eq!(token_cost(br#"{"token_cost":"inf"}"#), None);
        assert_eq!(token_cost(b"[]"), None);
    }
}
