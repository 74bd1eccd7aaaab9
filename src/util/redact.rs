//! Secrets out of what is printed or written: the userinfo of a URL
//! (`https://user:password@host` → `https://***@host`). Header values and keys are
//! never echoed at all (see `config/parse.rs`, `config/validate.rs`).

/// `url` with its userinfo, if any, replaced by `***`.
pub(crate) fn url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn userinfo_is_replaced_and_the_rest_kept() {
        assert_eq!(super::url("http://user:PW@127.0.0.1:4318/v1/traces"), "http://***@127.0.0.1:4318/v1/traces");
        assert_eq!(super::url("htp://user:PW@h"), "htp://***@h");
        assert_eq!(super::url("https://tok@h/p?q=a@b"), "https://***@h/p?q=a@b");
        assert_eq!(super::url("https://a:b@c@h/x"), "https://***@h/x", "the last @ ends the userinfo");
        assert_eq!(super::url("https://h/path@x"), "https://h/path@x", "an @ in the path is not userinfo");
        assert_eq!(super::url("no url at all"), "no url at all");
    }
}
