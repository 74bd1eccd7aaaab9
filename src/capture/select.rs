//! [`Selection`]: part of a capture, by session and by time (`--session`,
//! `--since`), applied to each request as it is read.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::error::config::ConfigError;
use crate::util::time::days_from_civil;

/// Which spans of a capture to take: all by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Selection {
    /// Only these sessions' spans (by session id, which is the trace id).
    pub sessions: Vec<[u8; 16]>,
    /// Only spans that started at or after this time, in nanoseconds since the Unix
    /// epoch.
    pub since_unix_nanos: Option<u64>,
}

fn bad(setting: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::new(setting, value, reason)
}

/// A session id: a UUID (`session.id`) or the 32 hex digits of its trace id.
///
/// # Errors
/// [`ConfigError`] when it is neither.
pub fn parse_session_id(s: &str) -> Result<[u8; 16], ConfigError> {
    let t = s.trim();
    if let Ok(u) = uuid::Uuid::parse_str(t) {
        return Ok(*u.as_bytes());
    }
    Err(bad("--session", s, "expected a session id (a UUID, or a trace id of 32 hex digits)"))
}

/// A point in time: an RFC 3339 timestamp (`2026-12-01T10:00:00Z`,
/// `2026-12-01T10:00:00.5+01:00`, or a date alone, `2026-12-01`, midnight UTC),
/// or a time before `now` (`90s`, `30m`, `2h`, `7d`).
///
/// # Errors
/// [`ConfigError`] for anything else.
pub fn parse_since(s: &str, now: SystemTime) -> Result<u64, ConfigError> {
    let t = s.trim();
    let err = || bad("--since", s, "expected an RFC 3339 time (2026-12-01T10:00:00Z), a date, or an age (30m, 2h, 7d)");
    let now_nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    if let Some(age) = parse_age(t) {
        return Ok(now_nanos.saturating_sub(age.as_nanos().min(u128::from(u64::MAX)) as u64));
    }
    parse_rfc3339(t).ok_or_else(err)
}

fn parse_age(t: &str) -> Option<Duration> {
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(secs)?))
}

fn digits(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

fn parse_rfc3339(t: &str) -> Option<u64> {
    let (date, rest) = t.split_once(['T', 't', ' ']).unwrap_or((t, ""));
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (digits(d.next()?)?, digits(d.next()?)?, digits(d.next()?)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || y < 1970 {
        return None;
    }
    let (mut secs, mut nanos) = (days_from_civil(y, m, day) * 86_400, 0i64);
    if !rest.is_empty() {
        let zone_at = rest.find(['Z', 'z', '+', '-'])?;
        let (clock, zone) = rest.split_at(zone_at);
        let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
        let mut c = hms.splitn(3, ':');
        let (h, min, s) = (digits(c.next()?)?, digits(c.next()?)?, digits(c.next()?)?);
        if h > 23 || min > 59 || s > 60 {
            return None;
        }
        secs += h * 3600 + min * 60 + s;
        if !frac.is_empty() {
            let f = format!("{:0<9}", frac.get(..frac.len().min(9))?);
            nanos = digits(&f)?;
        }
        secs -= match zone {
            "Z" | "z" => 0,
            _ => {
                let sign = if zone.starts_with('-') { -1 } else { 1 };
                let (zh, zm) = zone.get(1..)?.split_once(':')?;
                let (zh, zm) = (digits(zh)?, digits(zm)?);
                if zh > 23 || zm > 59 {
                    return None;
                }
                sign * (zh * 3600 + zm * 60)
            }
        };
    }
    u64::try_from(secs).ok()?.checked_mul(1_000_000_000)?.checked_add(nanos as u64)
}

impl Selection {
    /// Whether everything is taken.
    pub fn is_all(&self) -> bool {
        self.sessions.is_empty() && self.since_unix_nanos.is_none()
    }

    /// Keeps only the selected spans of `request` (and drops what is left empty);
    /// the spans kept.
    pub fn apply(&self, request: &mut ExportTraceServiceRequest) -> usize {
        let keep = |s: &opentelemetry_proto::tonic::trace::v1::Span| {
            (self.sessions.is_empty() || self.sessions.iter().any(|id| s.trace_id == id[..]))
                && self.since_unix_nanos.is_none_or(|t| s.start_time_unix_nano >= t)
        };
        let mut kept = 0;
        for rs in &mut request.resource_spans {
            for ss in &mut rs.scope_spans {
                ss.spans.retain(keep);
                kept += ss.spans.len();
            }
            rs.scope_spans.retain(|ss| !ss.spans.is_empty());
        }
        request.resource_spans.retain(|rs| !rs.scope_spans.is_empty());
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_rfc_3339_dates_and_ages() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_since("1970-01-02T00:00:00Z", now).unwrap(), 86_400 * 1_000_000_000);
        assert_eq!(parse_since("1970-01-02", now).unwrap(), 86_400 * 1_000_000_000);
        assert_eq!(parse_since("1970-01-02T01:00:00.5+01:00", now).unwrap(), 86_400 * 1_000_000_000 + 500_000_000);
        assert_eq!(parse_since("1970-01-01T23:00:00-01:00", now).unwrap(), 86_400 * 1_000_000_000);
        assert_eq!(parse_since("2026-12-01T10:00:00Z", now).unwrap(), 1_796_119_200 * 1_000_000_000);
        assert_eq!(parse_since("30m", now).unwrap(), (1_000_000 - 1800) * 1_000_000_000);
        assert_eq!(parse_since("2d", now).unwrap(), (1_000_000 - 172_800) * 1_000_000_000);
        assert_eq!(parse_since("99999999999d", now).unwrap(), 0, "an age past the epoch is the epoch");
        for bad in ["", "yesterday", "2026-13-01", "2026-12-01T25:00:00Z", "2026-12-01T10:00:00", "5w", "-3h"] {
            assert!(parse_since(bad, now).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn session_ids_are_uuids_or_trace_ids() {
        let id = [0xab; 16];
        assert_eq!(parse_session_id("abababab-abab-abab-abab-abababababab").unwrap(), id);
        assert_eq!(parse_session_id("abababababababababababababababab").unwrap(), id);
        assert!(parse_session_id("abc").is_err());
    }
}
