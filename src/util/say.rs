//! Messages meant for a person: through the `log` facade when the application has a
//! logger that shows them, else on stderr, once each, so that a configuration error
//! or a replay link is not lost because nobody installed a logger. Never stdout: a
//! CLI's output is its own.

/// Says `msg` at `level` (target `agentops`).
pub(crate) fn say(level: log::Level, msg: std::fmt::Arguments<'_>) {
    if log::log_enabled!(target: "agentops", level) {
        log::log!(target: "agentops", level, "{msg}");
    } else {
        let label = match level {
            log::Level::Error => "error",
            log::Level::Warn => "warning",
            _ => "info",
        };
        eprintln!("agentops: {label}: {msg}");
    }
}
