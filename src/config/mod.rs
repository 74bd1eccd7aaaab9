//! Configuration: [`OtelConfig`] and its builder, environment variables, and
//! validation. An invalid value is a [`ConfigError`] that names the setting as the
//! user wrote it (the environment variable or the builder method) and the value
//! (API keys are never echoed).

pub(crate) mod agentops;
pub(crate) mod batch;
pub(crate) mod builder;
pub(crate) mod console;
mod env;
mod env_names;
pub(crate) mod exporter_spec;
pub(crate) mod metrics;
pub(crate) mod otel;
pub(crate) mod otlp;
pub(crate) mod parse;
pub(crate) mod proxy;
pub(crate) mod spool;
pub(crate) mod tls;
pub(crate) mod validate;

#[cfg(test)]
mod tests;
