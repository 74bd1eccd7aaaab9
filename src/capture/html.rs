//! The HTML report (`agentops html`): one self-contained page, a waterfall per
//! session (time axis, nesting, a colour per kind of span, errors marked, tokens and
//! cost on LLM spans, details on click or from a `#span=<id>` link). Its style and
//! script are inline (`report.css`, `report.js`) and its Content-Security-Policy
//! forbids every request, so it reads the same offline and cannot reach the network.

use serde_json::{json, Value as Json};

use super::spans::CapturedSession;
use super::totals::Totals;
use crate::encode::attr;
use crate::exporters::text::{tree_order, SpanView};
use crate::util::time::{iso8601_nanos, usd};

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A session as the page's script reads it: spans in tree order with their depth,
/// times in microseconds from the session's start.
fn session_json(s: &CapturedSession) -> Json {
    let start = s.start_unix_nanos();
    let micros = |nanos: u64| nanos as f64 / 1000.0;
    let spans: Vec<Json> = tree_order(&s.spans)
        .into_iter()
        .map(|(i, depth, _)| {
            let span = &s.spans[i];
            let tokens = match (span.attr_text(attr::GEN_AI_INPUT_TOKENS), span.attr_text(attr::GEN_AI_OUTPUT_TOKENS)) {
                (Some(i), Some(o)) => format!("tokens {i}→{o}"),
                _ => String::new(),
            };
            let cost = span.number(attr::LLM_COST).map(usd).unwrap_or_default();
            let parent = span.parent_span_id.iter().any(|&b| b != 0).then(|| hex(&span.parent_span_id));
            json!({
                "id": hex(&span.span_id),
                "parent": parent,
                "name": span.name,
                "kind": span.event_kind(),
                "otlp_kind": span.kind,
                "depth": depth,
                "start": micros(span.start_unix_nanos.saturating_sub(start)),
                "dur": micros(span.end_unix_nanos.saturating_sub(span.start_unix_nanos)),
                "at": iso8601_nanos(span.start_unix_nanos),
                "tokens": tokens,
                "cost": cost,
                "error": span.error,
                "attrs": span.attributes.iter().map(|(k, v)| json!([k, v.to_string()])).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "id": s.session_id(),
        "line": s.summary_line().trim_end(),
        "at": iso8601_nanos(start),
        "dur": micros(s.end_unix_nanos().saturating_sub(start)),
        "spans": spans,
    })
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The report of `sessions` (in the order given) and their `totals`, as one HTML
/// page with everything inline.
pub fn html_report(sessions: &[CapturedSession], totals: &Totals) -> String {
    let data = json!({ "sessions": sessions.iter().map(session_json).collect::<Vec<_>>() });
    // Inside <script>: no `<` at all (it is only ever inside JSON strings there, so
    // its \u escape is the same JSON), so no text can close the element.
    let data = data.to_string().replace('<', "\\u003c");
    let legend: String = ["session", "llm", "tool", "action", "agent", "error", "span"]
        .iter()
        .map(|k| format!("<span><i class=\"k-{k}\"></i>{k}</span>"))
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>agentops report: {n} sessions</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>agentops report</h1>\n<pre class=\"totals\">{totals}</pre>\n<div class=\"legend\">{legend}</div>\n</header>\n\
         <main id=\"sessions\"><noscript>This report draws its waterfalls with JavaScript.</noscript></main>\n\
         <aside id=\"details\" hidden></aside>\n\
         <script id=\"data\" type=\"application/json\">{data}</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        n = sessions.len(),
        totals = escape_html(&totals.to_string()),
    )
}
