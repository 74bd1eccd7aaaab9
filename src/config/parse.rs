//! Parsing of environment-variable values: booleans, numbers, `k=v` lists.

use crate::error::config::ConfigError;

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

fn percent_decode(s: &str) -> Result<String, &'static str> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or("bad percent-encoding")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 after decoding")
}

/// Parses the W3C-baggage-like `k1=v1,k2=v2` lists used by
/// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`. With `secret`
/// (headers: a value may be a token) an error echoes no value, only the key.
pub(crate) fn parse_key_values(setting: &str, v: &str, secret: bool) -> Result<Vec<(String, String)>, ConfigError> {
    let shown = |item: &str, key: Option<&str>| match (secret, key) {
        (false, _) => item.to_owned(),
        (true, Some(k)) => format!("{k}=<redacted>"),
        (true, None) => "<redacted>".to_owned(),
    };
    let mut out = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((k, val)) = item.split_once('=') else {
            let why = "expected key=value (the separator is `=`, not `:`)";
            return Err(ConfigError::new(setting, shown(item, None), why));
        };
        let k = percent_decode(k.trim()).map_err(|why| ConfigError::new(setting, shown(item, None), why))?;
        if k.is_empty() {
            return Err(ConfigError::new(setting, shown(item, None), "empty key"));
        }
        let val = percent_decode(val.trim()).map_err(|why| ConfigError::new(setting, shown(item, Some(&k)), why))?;
        out.push((k, val));
    }
    Ok(out)
}
