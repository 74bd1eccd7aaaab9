//! What a URL points at: its scheme, host and port, as ureq (the `http` crate)
//! parses it. Userinfo, path and query are never part of the answer.

/// The scheme (lower case), host (lower case, an IPv6 literal without brackets) and
/// port (the scheme's default when none) of an absolute URL; `None` for anything else.
pub(crate) fn target(url: &str) -> Option<(String, String, u16)> {
    let uri: ureq::http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let raw_host = uri.host()?;
    // What follows the host in the authority: nothing, or `:port`. (The `http`
    // crate takes `host:notaport` as the host alone; such a URL names nothing.)
    let authority = uri.authority()?.as_str();
    let after_host = authority.rsplit('@').next()?.strip_prefix(raw_host)?;
    let port = match after_host.strip_prefix(':') {
        Some(p) => p.parse().ok()?,
        None if !after_host.is_empty() => return None,
        None if scheme == "https" => 443,
        None => 80,
    };
    let host = raw_host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    (!host.is_empty()).then_some((scheme, host, port))
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn a_url_gives_its_scheme_host_and_port_and_nothing_else() {
        let h = |u: &str| target(u).map(|(_, h, p)| (h, p));
        assert_eq!(h("https://api.openai.com/v1/chat/completions"), Some(("api.openai.com".into(), 443)));
        assert_eq!(h("http://localhost:11434/v1"), Some(("localhost".into(), 11434)));
        assert_eq!(h("https://user:secret@Proxy.Example:8443/x?key=k"), Some(("proxy.example".into(), 8443)));
        assert_eq!(h("http://[::1]:4000/v1"), Some(("::1".into(), 4000)));
        assert_eq!(
            h("https://gen.googleapis.com/v1beta/models/m:generateContent?key=abc"),
            Some(("gen.googleapis.com".into(), 443))
        );
        assert_eq!(target("HTTPS://h/").map(|t| t.0), Some("https".into()));
        assert_eq!(h("not a url"), None);
        assert_eq!(h("http://host:notaport/"), None);
        assert_eq!(h("/relative/path"), None);
    }
}
