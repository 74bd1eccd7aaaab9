//! The environment variables this crate reads, to catch a misspelled one: a variable
//! with one of our prefixes that is none of them gets one warning naming the
//! closest known name (`OTEL_EXPORTER_OTLP_ENDPIONT` → `OTEL_EXPORTER_OTLP_ENDPOINT`),
//! instead of being silently ignored.

use std::sync::atomic::{AtomicBool, Ordering};

/// Every variable read, but the per-signal OTLP ones (see [`is_known`]).
const KNOWN: &[&str] = &[
    "AGENTOPS_API_ENDPOINT",
    "AGENTOPS_API_KEY",
    "AGENTOPS_APP_URL",
    "AGENTOPS_CAPTURE_CONTENT",
    "AGENTOPS_CONSOLE",
    "AGENTOPS_ENABLE_METRICS",
    "AGENTOPS_ENVIRONMENT",
    "AGENTOPS_ENV_DATA_OPT_OUT",
    "AGENTOPS_EXPORTER_ENDPOINT",
    "AGENTOPS_EXPORT_THREAD_NICE",
    "AGENTOPS_MAX_VALUE_LENGTH",
    "AGENTOPS_PRICE_TABLE",
    "AGENTOPS_PROTOCOL",
    "AGENTOPS_SPOOL_DIR",
    "AGENTOPS_SPOOL_MAX_BYTES",
    "AGENTOPS_TRACES_FILE",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
    "OTEL_METRICS_EXPORTER",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_EXPORTER",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
];

/// What follows `OTEL_EXPORTER_OTLP_` or `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_`.
const OTLP_SETTINGS: &[&str] =
    &["ENDPOINT", "PROTOCOL", "COMPRESSION", "HEADERS", "TIMEOUT", "CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY"];

/// The prefixes checked. Other `OTEL_*` variables belong to other SDKs too
/// (propagators, logs) and are not ours to judge.
const PREFIXES: &[&str] =
    &["AGENTOPS_", "OTEL_EXPORTER_OTLP_", "OTEL_BSP_", "OTEL_TRACES_", "OTEL_METRIC", "OTEL_SERVICE_", "OTEL_SDK_"];

fn otlp_names() -> impl Iterator<Item = String> {
    ["", "TRACES_", "METRICS_"]
        .into_iter()
        .flat_map(|signal| OTLP_SETTINGS.iter().map(move |s| format!("OTEL_EXPORTER_OTLP_{signal}{s}")))
}

/// Whether `name` is read by this crate, or is a variable of another signal that
/// it has no business with (`OTEL_EXPORTER_OTLP_LOGS_*`).
fn is_known(name: &str) -> bool {
    KNOWN.contains(&name) || name.starts_with("OTEL_EXPORTER_OTLP_LOGS_") || otlp_names().any(|n| n == name)
}

/// Edit distance (insertions, deletions, substitutions), on bytes.
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &y) in b.iter().enumerate() {
            let next = (diag + usize::from(x != y)).min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The variables among `names` with our prefixes that we do not read, each with
/// the closest name we do read (when one is close: a third of its length at most).
pub(crate) fn unknown(names: impl IntoIterator<Item = String>) -> Vec<(String, Option<String>)> {
    let known: Vec<String> = KNOWN.iter().map(|s| (*s).to_owned()).chain(otlp_names()).collect();
    let mut out: Vec<(String, Option<String>)> = names
        .into_iter()
        .filter(|n| PREFIXES.iter().any(|p| n.starts_with(p)) && !is_known(n))
        .map(|n| {
            let best = known.iter().min_by_key(|k| distance(&n, k)).filter(|k| distance(&n, k) <= k.len() / 3);
            (n, best.cloned())
        })
        .collect();
    out.sort();
    out
}

/// Warns, once per process, about variables of the environment we do not read.
pub(crate) fn warn_unknown_in_env() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if WARNED.swap(true, Ordering::Relaxed) {
        return;
    }
    for (name, closest) in unknown(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok())) {
        let hint = closest.map(|c| format!("; did you mean {c}?")).unwrap_or_default();
        crate::util::say::say(log::Level::Warn, format_args!("{name} is not a variable this crate reads{hint}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelled_variables_get_the_closest_name_and_others_are_left_alone() {
        let names = [
            "OTEL_EXPORTER_OTLP_ENDPIONT",
            "AGENTOPS_APIKEY",
            "AGENTOPS_SOMETHING_ELSE_ENTIRELY",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "OTEL_PROPAGATORS",
            "PATH",
            "AGENTOPS_API_KEY",
        ]
        .map(String::from);
        assert_eq!(
            unknown(names),
            [
                ("AGENTOPS_APIKEY".to_owned(), Some("AGENTOPS_API_KEY".to_owned())),
                ("AGENTOPS_SOMETHING_ELSE_ENTIRELY".to_owned(), None),
                ("OTEL_EXPORTER_OTLP_ENDPIONT".to_owned(), Some("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned())),
            ]
        );
    }

    #[test]
    fn every_variable_the_crate_reads_is_known() {
        let src = concat!(
            include_str!("env.rs"),
            include_str!("agentops.rs"),
            include_str!("metrics.rs"),
            include_str!("spool.rs")
        );
        let mut rest = src;
        while let Some(i) = rest.find("\"AGENTOPS_").or_else(|| rest.find("\"OTEL_")).map(|i| i + 1) {
            let name: String = rest[i..].chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
            if !name.ends_with('_') {
                assert!(is_known(&name), "{name} is read but not in env_names.rs");
            }
            rest = &rest[i + name.len()..];
        }
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
