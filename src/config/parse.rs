//! Parsing of environment-variable values: booleans, numbers, `k=v` lists.

use super::validate::ConfigError;

pub(crate) fn parse_bool(setting: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::new(setting, v, "expected true or false")),
    }
}

pub(crate) fn parse_num<T: std::str::FromStr>(setting: &str, v: &str) -> Result<T, ConfigError> {
    v.trim().parse().map_err(|_| ConfigError::new(setting, v, "expected a non-negative whole number"))
}

fn percent_decode(setting: &str, s: &str) -> Result<String, ConfigError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ConfigError::new(setting, s, "bad percent-encoding"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ConfigError::new(setting, s, "not UTF-8 after decoding"))
}

/// Parses the W3C-baggage-like `k1=v1,k2=v2` lists used by
/// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`.
pub(crate) fn parse_key_values(setting: &str, v: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, val) = item.split_once('=').ok_or_else(|| ConfigError::new(setting, item, "expected key=value"))?;
        let k = percent_decode(setting, k.trim())?;
        if k.is_empty() {
            return Err(ConfigError::new(setting, item, "empty key"));
        }
        out.push((k, percent_decode(setting, val.trim())?));
    }
    Ok(out)
}
