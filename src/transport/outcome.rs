//! What one HTTP attempt came to: success, worth retrying, or permanent, as the
//! OTLP specification classifies statuses.

use std::time::{Duration, SystemTime};

use super::retry_after::parse_retry_after;
use super::rpc_status::{describe_body, not_found_hint};

/// A successful (2xx) response.
#[derive(Debug)]
pub(crate) struct Response {
    pub body: Vec<u8>,
}

/// What one HTTP attempt came to.
#[derive(Debug)]
pub(crate) enum Outcome {
    Success(Response),
    /// Worth another try: 429, 502, 503, 504, connection failure, timeout, a connection
    /// dropped before the response.
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
        timed_out: bool,
    },
    /// Retrying would not help: any other status, a bad URL, a TLS failure.
    Permanent {
        status: Option<u16>,
        reason: String,
    },
}

impl Outcome {
    /// A connection that failed or broke before a whole answer came: retried.
    pub(crate) fn connection_failed(why: impl std::fmt::Display) -> Outcome {
        Outcome::Retryable { reason: format!("connection failed: {why}"), retry_after: None, timed_out: false }
    }

    /// A deadline passed (`what` was under way): retried.
    pub(crate) fn timed_out(what: impl std::fmt::Display) -> Outcome {
        Outcome::Retryable { reason: format!("timed out ({what})"), retry_after: None, timed_out: true }
    }
}

/// Largest response body read; OTLP answers are tiny and a misbehaving server must
/// not make us buffer megabytes.
pub(crate) const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// What requests say they come from.
pub(crate) const USER_AGENT: &str = concat!("agentops-rust/", env!("CARGO_PKG_VERSION"));

/// The headers of an answer that its classification reads.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Answer<'a> {
    pub content_type: Option<&'a str>,
    pub retry_after: Option<&'a str>,
    pub location: Option<&'a str>,
}

/// A response's status as the OTLP specification classifies it.
pub(crate) fn classify_status(status: u16, body: Vec<u8>, answer: Answer<'_>, url: &str) -> Outcome {
    if (200..=299).contains(&status) {
        return Outcome::Success(Response { body });
    }
    let retry_after = answer.retry_after.and_then(|v| parse_retry_after(v, SystemTime::now()));
    let url = &crate::util::redact::url(url);
    let mut reason = format!("HTTP {status} from {url}{}", describe_body(&body, answer.content_type));
    match status {
        429 | 502 | 503 | 504 => Outcome::Retryable { reason, retry_after, timed_out: false },
        _ => {
            if status == 404 {
                reason.push_str(&not_found_hint(url).unwrap_or_default());
            }
            if (300..400).contains(&status) {
                let to =
                    answer.location.map_or_else(|| "nowhere (no Location header)".into(), crate::util::redact::url);
                reason.push_str(&format!(
                    "; it redirects to {to}, and redirects are not followed (a POST's body would be lost or sent to \
                     another host): set the endpoint to where it redirects"
                ));
            }
            Outcome::Permanent { status: Some(status), reason }
        }
    }
}

/// `host:port` of a URL, for messages about connections.
fn host_port(url: &str) -> String {
    let Ok(uri) = url.parse::<ureq::http::Uri>() else { return crate::util::redact::url(url) };
    let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    format!("{}:{port}", uri.host().unwrap_or_default())
}

/// `text` with `url`, wherever it appears, redacted.
fn redact_in(text: &str, url: &str) -> String {
    text.replace(url, &crate::util::redact::url(url))
}

/// What to do about a TLS failure, when its cause is a common one.
fn tls_hint(e: &rustls::Error) -> &'static str {
    use rustls::{AlertDescription as A, CertificateError as C, Error as R};
    match e {
        R::InvalidCertificate(C::UnknownIssuer) => {
            "; the server's certificate is not signed by a CA this client trusts (the public web roots \
             by default): for a private CA, name its PEM in OTEL_EXPORTER_OTLP_CERTIFICATE (or \
             OtlpExporterConfig::ca_certificate / AgentOpsConfig::ca_certificate)"
        }
        R::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "; the server's certificate does not name the host of the URL: its subjectAltName must \
             (an IP address needs an IP entry, e.g. `subjectAltName=IP:127.0.0.1`)"
        }
        R::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => "; the server's certificate has expired",
        R::InvalidCertificate(C::Other(other)) if other.to_string().contains("CaUsedAsEndEntity") => {
            "; the server presents a CA certificate (basicConstraints CA:TRUE, as `openssl req -x509` \
             makes by default) as its own, which rustls refuses (curl accepts it): make the server a \
             certificate signed by that CA, with `-extfile` giving basicConstraints=CA:FALSE and its \
             subjectAltName, and trust the CA (OTEL_EXPORTER_OTLP_CERTIFICATE)"
        }
        R::AlertReceived(A::CertificateRequired | A::BadCertificate | A::UnknownCA | A::CertificateUnknown) => {
            "; the server refused this client's certificate (or wanted one): check \
             OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY"
        }
        _ => "",
    }
}

/// A ureq error from a request to `url`.
pub(crate) fn classify_error(e: ureq::Error, url: &str) -> Outcome {
    use ureq::Error as E;
    match e {
        E::Timeout(t) => Outcome::timed_out(format!("{t}, {}", host_port(url))),
        E::HostNotFound => Outcome::connection_failed(format!("host not found: {}", host_port(url))),
        // rustls reports a failed handshake (a certificate that does not verify, a
        // client certificate refused) as invalid data: retrying cannot help.
        E::Io(ref io) if io.kind() == std::io::ErrorKind::InvalidData => {
            let hint = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()).map(tls_hint).unwrap_or_default();
            let reason = format!("TLS handshake with {} failed: {io}{hint}", host_port(url));
            Outcome::Permanent { status: None, reason }
        }
        E::Io(_) | E::ConnectionFailed | E::Protocol(_) => {
            Outcome::connection_failed(format!("{e} ({})", host_port(url)))
        }
        // ureq's own words may quote the URL.
        other => Outcome::Permanent { status: None, reason: redact_in(&other.to_string(), url) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16) -> Outcome {
        classify_status(status, vec![], Answer::default(), "http://h/v1/traces")
    }

    #[test]
    fn statuses_are_classified_per_the_otlp_spec() {
        for s in [200, 202, 204] {
            assert!(matches!(classify(s), Outcome::Success(_)));
        }
        for s in [429, 502, 503, 504] {
            assert!(matches!(classify(s), Outcome::Retryable { timed_out: false, .. }), "{s}");
        }
        for s in [400, 401, 403, 404, 413, 500, 501, 301] {
            assert!(matches!(classify(s), Outcome::Permanent { status: Some(x), .. } if x == s), "{s}");
        }
    }

    #[test]
    fn a_doubled_traces_path_is_explained() {
        let url = "http://h/v1/traces/v1/traces";
        let out = classify_status(404, b"404 page not found".to_vec(), Answer::default(), url);
        let Outcome::Permanent { reason, .. } = out else { panic!("{out:?}") };
        assert!(reason.contains("404 page not found"), "{reason}");
        assert!(reason.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), "{reason}");
    }

    #[test]
    fn a_redirect_names_where_it_points() {
        let answer = Answer { location: Some("https://elsewhere/v1/traces"), ..Answer::default() };
        let out = classify_status(307, vec![], answer, "http://h/v1/traces");
        let Outcome::Permanent { status: Some(307), reason } = out else { panic!("{out:?}") };
        assert!(reason.contains("redirects to https://elsewhere/v1/traces"), "{reason}");
    }

    #[test]
    fn connection_failures_name_the_host_and_port() {
        let out = classify_error(ureq::Error::HostNotFound, "https://collector.invalid/v1/traces");
        let Outcome::Retryable { reason, .. } = out else { panic!("{out:?}") };
        assert!(reason.contains("collector.invalid:443"), "{reason}");
    }
}
