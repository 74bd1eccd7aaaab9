//! AgentOps backend settings: the API key (validated, never printed), endpoints,
//! and which protocol the session exporter speaks.

use std::fmt;
use std::time::Duration;

use super::otlp::validate_proxy;
use super::parse::parse_bool;
use super::tls::TlsFiles;
use super::validate::{validate_timeout, validate_url};
use crate::config::proxy::ProxySetting;
use crate::error::config::ConfigError;

/// The AgentOps API's default endpoint.
pub const DEFAULT_API_ENDPOINT: &str = "https://api.agentops.ai";
/// AgentOps' default OTLP endpoint.
pub const DEFAULT_EXPORTER_ENDPOINT: &str = "https://otlp.agentops.ai";
/// The AgentOps dashboard.
pub const DEFAULT_APP_URL: &str = "https://app.agentops.ai";

/// Which AgentOps protocol the session exporter speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AgentOpsProtocol {
    /// Current: `POST /v3/auth/token`, then OTLP/HTTP with a Bearer token.
    #[default]
    Otlp,
    /// The original SessionExporter protocol: `/v2/create_session`,
    /// `/v2/create_events`, `/v2/update_session`, per-session JWTs.
    LegacyV2,
}

/// An AgentOps API key. Never shown: `Debug` and `Display` print `<redacted>`; only
/// the exporters read it, to send it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Settings of the AgentOps session exporter.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct AgentOpsConfig {
    pub(crate) api_key: ApiKey,
    pub(crate) api_endpoint: String,
    pub(crate) exporter_endpoint: String,
    pub(crate) app_url: String,
    pub(crate) protocol: AgentOpsProtocol,
    pub(crate) env_data_opt_out: bool,
    pub(crate) timeout: Duration,
    pub(crate) proxy: ProxySetting,
    pub(crate) tls: TlsFiles,
}

fn trimmed(url: impl Into<String>) -> String {
    url.into().trim_end_matches('/').to_owned()
}

impl AgentOpsConfig {
    /// Exports to AgentOps with this API key (a UUID), to the default endpoints.
    pub fn new(api_key: impl Into<String>) -> Self {
        AgentOpsConfig {
            api_key: ApiKey(api_key.into().trim().to_owned()),
            api_endpoint: DEFAULT_API_ENDPOINT.into(),
            exporter_endpoint: DEFAULT_EXPORTER_ENDPOINT.into(),
            app_url: DEFAULT_APP_URL.into(),
            protocol: AgentOpsProtocol::default(),
            env_data_opt_out: false,
            timeout: Duration::from_secs(10),
            proxy: ProxySetting::default(),
            tls: TlsFiles::default(),
        }
    }

    /// The API endpoint (`AGENTOPS_API_ENDPOINT`).
    pub fn api_endpoint(mut self, url: impl Into<String>) -> Self {
        self.api_endpoint = trimmed(url);
        self
    }

    /// The OTLP endpoint spans go to (`AGENTOPS_EXPORTER_ENDPOINT`).
    pub fn exporter_endpoint(mut self, url: impl Into<String>) -> Self {
        self.exporter_endpoint = trimmed(url);
        self
    }

    /// The dashboard, for replay links (`AGENTOPS_APP_URL`).
    pub fn app_url(mut self, url: impl Into<String>) -> Self {
        self.app_url = trimmed(url);
        self
    }

    /// Which protocol to speak (`AGENTOPS_PROTOCOL` = `otlp` or `v2`).
    pub fn protocol(mut self, p: AgentOpsProtocol) -> Self {
        self.protocol = p;
        self
    }

    /// Leaves host data (OS, CPU count, working directory) out of legacy
    /// `create_session` (`AGENTOPS_ENV_DATA_OPT_OUT`).
    pub fn env_data_opt_out(mut self, out: bool) -> Self {
        self.env_data_opt_out = out;
        self
    }

    /// Timeout of one HTTP request (default 10 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Sends requests through this proxy instead of the one the proxy variables
    /// name for the exporter endpoint; `NO_PROXY` still applies (see
    /// [`OtlpExporterConfig::proxy`](crate::OtlpExporterConfig::proxy)).
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Connects directly, whatever the proxy variables say.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::Direct;
        self
    }

    /// Trusts the CAs of this PEM bundle instead of the public web roots (see
    /// [`OtlpExporterConfig::ca_certificate`](crate::OtlpExporterConfig::ca_certificate)).
    pub fn ca_certificate(mut self, pem_path: impl Into<std::path::PathBuf>) -> Self {
        self.tls.ca = Some(("AgentOpsConfig::ca_certificate".into(), pem_path.into()));
        self
    }

    /// Mutual TLS with this client certificate and key (PEM files).
    pub fn client_certificate(
        mut self,
        cert_pem: impl Into<std::path::PathBuf>,
        key_pem: impl Into<std::path::PathBuf>,
    ) -> Self {
        let setting = "AgentOpsConfig::client_certificate".to_owned();
        self.tls.client = Some(((setting.clone(), cert_pem.into()), (setting, key_pem.into())));
        self
    }

    /// The dashboard link of a session.
    pub(crate) fn replay_url(&self, session_id: &uuid::Uuid) -> String {
        match self.protocol {
            AgentOpsProtocol::Otlp => format!("{}/sessions?trace_id={}", self.app_url, session_id.simple()),
            AgentOpsProtocol::LegacyV2 => format!("{}/drilldown?session_id={session_id}", self.app_url),
        }
    }

    /// Reads the `AGENTOPS_*` environment variables (`AGENTOPS_API_KEY`, the
    /// endpoints, `AGENTOPS_PROTOCOL`, …) as [`OtelConfig::from_env`](crate::OtelConfig::from_env)
    /// does; `None` without an API key.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable with a bad value.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_lookup(&|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads `AGENTOPS_*`; `None` without an API key.
    pub(crate) fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let Some(key) = get("AGENTOPS_API_KEY") else {
            return Ok(None);
        };
        let mut c = AgentOpsConfig::new(key);
        if let Some(v) = get("AGENTOPS_API_ENDPOINT") {
            c = c.api_endpoint(v);
        }
        if let Some(v) = get("AGENTOPS_EXPORTER_ENDPOINT") {
            c = c.exporter_endpoint(v);
        }
        if let Some(v) = get("AGENTOPS_APP_URL") {
            c = c.app_url(v);
        }
        if let Some(v) = get("AGENTOPS_PROTOCOL") {
            c.protocol = match v.trim() {
                "otlp" | "v3" => AgentOpsProtocol::Otlp,
                "v2" | "legacy" => AgentOpsProtocol::LegacyV2,
                other => return Err(ConfigError::new("AGENTOPS_PROTOCOL", other, "expected otlp or v2")),
            };
        }
        if let Some(v) = get("AGENTOPS_ENV_DATA_OPT_OUT") {
            c.env_data_opt_out = parse_bool("AGENTOPS_ENV_DATA_OPT_OUT", &v)?;
        }
        // The OpenTelemetry TLS variables apply to AgentOps' endpoints too.
        let file = |var: &str| get(var).map(|p| (var.to_owned(), std::path::PathBuf::from(p)));
        c.tls = TlsFiles::from_vars(
            file("OTEL_EXPORTER_OTLP_CERTIFICATE"),
            file("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
            file("OTEL_EXPORTER_OTLP_CLIENT_KEY"),
        )?;
        c.validate()?;
        Ok(Some(c))
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if uuid::Uuid::parse_str(self.api_key.expose()).is_err() {
            // The value is never echoed, not even a wrong one: it may be a real secret.
            return Err(ConfigError::new(
                "AGENTOPS_API_KEY",
                "<redacted>",
                "an AgentOps API key is a UUID (find it in the dashboard's project settings)",
            ));
        }
        validate_url("AGENTOPS_API_ENDPOINT", &self.api_endpoint)?;
        validate_url("AGENTOPS_EXPORTER_ENDPOINT", &self.exporter_endpoint)?;
        validate_url("AGENTOPS_APP_URL", &self.app_url)?;
        validate_timeout("AgentOpsConfig::timeout", self.timeout)?;
        validate_proxy("AgentOpsConfig::proxy", &self.proxy)?;
        self.tls.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = "6f1c2b1e-3a4d-4c5e-9f00-112233445566";

    fn lookup(pairs: &[(&str, &str)]) -> Result<Option<AgentOpsConfig>, ConfigError> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AgentOpsConfig::from_lookup(&|k| m.get(k).cloned())
    }

    #[test]
    fn env_and_defaults() {
        assert!(lookup(&[]).unwrap().is_none());
        let c = lookup(&[("AGENTOPS_API_KEY", KEY)]).unwrap().unwrap();
        assert_eq!(c.api_endpoint, DEFAULT_API_ENDPOINT);
        assert_eq!(c.exporter_endpoint, DEFAULT_EXPORTER_ENDPOINT);
        assert_eq!(c.protocol, AgentOpsProtocol::Otlp);
        let c = lookup(&[
            ("AGENTOPS_API_KEY", KEY),
            ("AGENTOPS_API_ENDPOINT", "http://127.0.0.1:9/"),
            ("AGENTOPS_EXPORTER_ENDPOINT", "http://127.0.0.1:8"),
            ("AGENTOPS_APP_URL", "http://app.local/"),
            ("AGENTOPS_PROTOCOL", "v2"),
            ("AGENTOPS_ENV_DATA_OPT_OUT", "true"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.api_endpoint, "http://127.0.0.1:9");
        assert_eq!(c.protocol, AgentOpsProtocol::LegacyV2);
        assert!(c.env_data_opt_out);
        let id = uuid::Uuid::from_u128(0xabc);
        assert_eq!(c.replay_url(&id), format!("http://app.local/drilldown?session_id={id}"));
        let c = c.protocol(AgentOpsProtocol::Otlp);
        assert_eq!(c.replay_url(&id), "http://app.local/sessions?trace_id=00000000000000000000000000000abc");
    }

    #[test]
    fn a_bad_key_is_rejected_without_being_echoed() {
        let secret = "sk-live-very-secret-value";
        let err = lookup(&[("AGENTOPS_API_KEY", secret)]).unwrap_err();
        assert_eq!(err.setting, "AGENTOPS_API_KEY");
        assert!(!err.to_string().contains(secret));
        assert!(!format!("{err:?}").contains(secret));
        let c = AgentOpsConfig::new(KEY);
        assert!(!format!("{c:?}").contains(KEY), "Debug redacts the key");
        assert!(lookup(&[("AGENTOPS_API_KEY", KEY), ("AGENTOPS_PROTOCOL", "v9")]).is_err());
        assert!(lookup(&[("AGENTOPS_API_KEY", KEY), ("AGENTOPS_API_ENDPOINT", "nope")]).is_err());
    }
}
