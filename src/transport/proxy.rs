//! Which proxy requests to an endpoint go through, decided as curl does: the
//! target's scheme picks the variable (`https_proxy` / `HTTPS_PROXY` for https,
//! `http_proxy` / `HTTP_PROXY` for http), `ALL_PROXY` / `all_proxy` is the
//! fallback, and `NO_PROXY` / `no_proxy` (a comma list of hosts, domains, IPs, `*`,
//! each optionally with `:port`) sends matching targets direct. A proxy set in code
//! replaces the variables, and `NO_PROXY` still applies to it.

use crate::config::proxy::ProxySetting;
use crate::util::url::target;

/// Whether a `NO_PROXY` list names `host` (and `port`).
pub(crate) fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    list.split(',').map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        // `host:port` (an IPv6 address only in brackets, as `[::1]:4318`).
        let (name, entry_port) = match entry.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.ends_with(']') => match p.parse::<u16>() {
                Ok(p) => (h, Some(p)),
                Err(_) => (entry, None),
            },
            _ => (entry, None),
        };
        if entry_port.is_some_and(|p| p != port) {
            return false;
        }
        let name = name.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let domain = name.trim_start_matches("*.").trim_start_matches('.');
        host == domain || host.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.'))
    })
}

/// The proxy URL requests to `url` go through, per `setting` and the variables
/// `get` reads; `None` for a direct connection.
pub(crate) fn proxy_for(url: &str, setting: &ProxySetting, get: impl Fn(&str) -> Option<String>) -> Option<String> {
    let (scheme, host, port) = target(url)?;
    let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    let chosen = match setting {
        ProxySetting::Direct => return None,
        ProxySetting::Url(u) => u.clone(),
        ProxySetting::FromEnv => {
            let own: [&str; 2] =
                if scheme == "https" { ["https_proxy", "HTTPS_PROXY"] } else { ["http_proxy", "HTTP_PROXY"] };
            own.into_iter().chain(["all_proxy", "ALL_PROXY"]).find_map(get)?
        }
    };
    match ["no_proxy", "NO_PROXY"].into_iter().find_map(get) {
        Some(list) if no_proxy_matches(&list, &host, port) => None,
        _ => Some(chosen),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_scheme_picks_the_variable_and_all_proxy_is_the_fallback() {
        let vars =
            [("HTTPS_PROXY", "http://secure:3128"), ("http_proxy", "http://plain:3128"), ("ALL_PROXY", "http://all:1")];
        let e = env(&vars);
        assert_eq!(
            proxy_for("https://otlp.example/v1/traces", &ProxySetting::FromEnv, &e).as_deref(),
            Some("http://secure:3128")
        );
        assert_eq!(
            proxy_for("http://c:4318/v1/traces", &ProxySetting::FromEnv, &e).as_deref(),
            Some("http://plain:3128")
        );
        let only_all = [("all_proxy", "socks5://s:1080")];
        assert_eq!(
            proxy_for("http://c/v1/traces", &ProxySetting::FromEnv, env(&only_all)).as_deref(),
            Some("socks5://s:1080")
        );
        assert_eq!(proxy_for("http://c/v1/traces", &ProxySetting::FromEnv, env(&[])), None);
        assert_eq!(proxy_for("http://c/v1/traces", &ProxySetting::Direct, &e), None);
        let set = ProxySetting::Url("http://code:8080".into());
        assert_eq!(proxy_for("https://c/v1/traces", &set, env(&[])).as_deref(), Some("http://code:8080"));
    }

    #[test]
    fn no_proxy_matches_hosts_domains_ips_and_ports() {
        let list = "localhost, .internal.example, corp.example, 10.1.2.3, [::1], collector:4318, *.wild.example";
        for (host, port) in [
            ("localhost", 80),
            ("a.internal.example", 443),
            ("corp.example", 443),
            ("deep.sub.corp.example", 443),
            ("10.1.2.3", 4318),
            ("::1", 4318),
            ("collector", 4318),
            ("x.wild.example", 80),
        ] {
            assert!(no_proxy_matches(list, host, port), "{host}:{port}");
        }
        for (host, port) in [("notcorp.example", 443), ("10.1.2.30", 80), ("collector", 4317), ("example", 443)] {
            assert!(!no_proxy_matches(list, host, port), "{host}:{port}");
        }
        assert!(no_proxy_matches("*", "anything", 1));
        let vars = [("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "otlp.example")];
        assert_eq!(proxy_for("https://otlp.example/v1/traces", &ProxySetting::FromEnv, env(&vars)), None);
        let set = ProxySetting::Url("http://code:8080".into());
        assert_eq!(
            proxy_for("https://otlp.example/v1/traces", &set, env(&vars)),
            None,
            "NO_PROXY applies to code's proxy"
        );
    }
}
