//! `ProxySetting`: whether an exporter's requests go through a proxy, as set in
//! code or left to the environment (`transport/proxy.rs` decides which).

/// How an exporter reaches its endpoint.
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) enum ProxySetting {
    /// As the environment says (the default).
    #[default]
    FromEnv,
    /// Through this proxy (`http://host:port`, credentials allowed), unless
    /// `NO_PROXY` names the target.
    Url(String),
    /// Never through a proxy.
    Direct,
}

/// A proxy URL's credentials are not shown.
impl std::fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProxySetting::FromEnv => f.write_str("FromEnv"),
            ProxySetting::Url(u) => f.debug_tuple("Url").field(&crate::util::redact::url(u)).finish(),
            ProxySetting::Direct => f.write_str("Direct"),
        }
    }
}
