//! Sessions as text: a span's line (name, kind, duration, tokens, cost, error), a
//! session's tree of them, and its summary line. The console exporter prints these
//! for the spans it is given; `agentops tree` and `agentops stats` for the spans of a
//! capture. Both go through [`SpanView`], so the two print the same.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

use crate::encode::attr;
use crate::util::time::{human_duration, usd};

/// What the text needs of a span, in whichever form it is held.
pub(crate) trait SpanView {
    fn span_id(&self) -> [u8; 8];
    /// All zeros for a root.
    fn parent_span_id(&self) -> [u8; 8];
    fn name(&self) -> &str;
    fn start_unix_nanos(&self) -> u64;
    fn end_unix_nanos(&self) -> u64;
    /// An attribute as text (numbers as Rust prints them).
    fn attr_text(&self, key: &str) -> Option<String>;
    /// A number attribute.
    fn attr_f64(&self, key: &str) -> Option<f64>;
    /// The error status's description, when the span failed.
    fn error(&self) -> Option<&str>;
}

fn duration_of(s: &impl SpanView) -> Duration {
    Duration::from_nanos(s.end_unix_nanos().saturating_sub(s.start_unix_nanos()))
}

/// A cost attribute, rounded for people.
fn cost_of(s: &impl SpanView, key: &str) -> Option<String> {
    match s.attr_f64(key) {
        Some(c) => Some(usd(c)),
        None => s.attr_text(key),
    }
}

/// Whether `s` is a session's root span.
pub(crate) fn is_session_root(s: &impl SpanView) -> bool {
    s.attr_text(attr::SPAN_KIND).is_some_and(|k| k == "session")
}

/// The session summary line of a session's root span.
pub(crate) fn summary_line(root: &impl SpanView) -> String {
    let get = |k: &str| root.attr_text(k);
    let count = |t: &str| get(&format!("{}{t}", attr::SESSION_EVENT_COUNT_PREFIX)).unwrap_or_else(|| "0".into());
    format!(
        "agentops session {} {} ({}) | {} | LLMs: {} | Tools: {} | Actions: {} | Errors: {} | tokens in/out: {}/{} | cost: {}\n",
        get(attr::SESSION_ID).unwrap_or_default(),
        get(attr::SESSION_END_STATE).unwrap_or_else(|| "?".into()),
        get(attr::SESSION_END_STATE_REASON).unwrap_or_default(),
        human_duration(duration_of(root)),
        count("llms"),
        count("tools"),
        count("actions"),
        count("errors"),
        get(attr::SESSION_INPUT_TOKENS).unwrap_or_else(|| "0".into()),
        get(attr::SESSION_OUTPUT_TOKENS).unwrap_or_else(|| "0".into()),
        cost_of(root, attr::SESSION_COST).unwrap_or_else(|| usd(0.0)),
    )
}

/// One span's line: name, kind, duration, tokens, cost, error.
pub(crate) fn describe(s: &impl SpanView) -> String {
    let get = |k: &str| s.attr_text(k);
    let mut line = format!(
        "{} [{}] {}",
        s.name(),
        get(attr::SPAN_KIND).unwrap_or_else(|| "span".into()),
        human_duration(duration_of(s))
    );
    if let (Some(i), Some(o)) = (get(attr::GEN_AI_INPUT_TOKENS), get(attr::GEN_AI_OUTPUT_TOKENS)) {
        let _ = write!(line, " tokens {i}→{o}");
    }
    if let Some(c) = cost_of(s, attr::LLM_COST) {
        let _ = write!(line, " {c}");
    }
    if let Some(description) = s.error() {
        let _ = write!(line, " ✗ {description}");
    }
    line
}

/// The spans in tree order (depth first, children after their parent, each level in
/// start order; spans whose parent is not among them are roots): `(index, depth,
/// is the last of its siblings)`. Every span appears once, even in a capture whose
/// parent links loop.
pub(crate) fn tree_order<S: SpanView>(spans: &[S]) -> Vec<(usize, usize, bool)> {
    let ids: HashSet<[u8; 8]> = spans.iter().map(SpanView::span_id).collect();
    let mut children: HashMap<[u8; 8], Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        let parent = s.parent_span_id();
        if ids.contains(&parent) && parent != s.span_id() {
            children.entry(parent).or_default().push(i);
        } else {
            roots.push(i);
        }
    }
    for v in children.values_mut() {
        v.sort_by_key(|&i| spans[i].start_unix_nanos());
    }
    roots.sort_by_key(|&i| spans[i].start_unix_nanos());
    let mut order = Vec::with_capacity(spans.len());
    let mut seen = vec![false; spans.len()];
    // Roots first, then whatever a loop left unreached; an iterative walk.
    let starts: Vec<usize> = roots.into_iter().chain(0..spans.len()).collect();
    for start in starts {
        let mut stack = vec![(start, 0usize, true)];
        while let Some((i, depth, last)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            order.push((i, depth, last));
            if let Some(kids) = children.get(&spans[i].span_id()) {
                for (n, &k) in kids.iter().enumerate().rev() {
                    stack.push((k, depth + 1, n + 1 == kids.len()));
                }
            }
        }
    }
    order
}

/// The spans as a tree ([`tree_order`]), one [`describe`] line each.
pub(crate) fn tree<S: SpanView>(spans: &[S]) -> String {
    let mut out = String::new();
    // Whether the ancestor at each depth has siblings still to come (draws `│`).
    let mut open: Vec<bool> = Vec::new();
    for (i, depth, last) in tree_order(spans) {
        open.truncate(depth);
        if depth == 0 {
            let _ = writeln!(out, "{}", describe(&spans[i]));
        } else {
            let prefix: String = open.iter().skip(1).map(|&o| if o { "│  " } else { "   " }).collect();
            let _ = writeln!(out, "{prefix}{}{}", if last { "└─ " } else { "├─ " }, describe(&spans[i]));
        }
        open.push(!last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct S(u8, u8, u64, &'static str);

    impl SpanView for S {
        fn span_id(&self) -> [u8; 8] {
            [self.0; 8]
        }
        fn parent_span_id(&self) -> [u8; 8] {
            [self.1; 8]
        }
        fn name(&self) -> &str {
            self.3
        }
        fn start_unix_nanos(&self) -> u64 {
            self.2
        }
        fn end_unix_nanos(&self) -> u64 {
            self.2 + 1000
        }
        fn attr_text(&self, _: &str) -> Option<String> {
            None
        }
        fn attr_f64(&self, _: &str) -> Option<f64> {
            None
        }
        fn error(&self) -> Option<&str> {
            None
        }
    }

    #[test]
    fn children_nest_in_start_order_and_bad_links_still_print_once() {
        let spans = [
            S(1, 0, 0, "root"),
            S(3, 1, 20, "second"),
            S(2, 1, 10, "first"),
            S(4, 2, 15, "grandchild"),
            S(5, 9, 5, "orphan"),
            // A loop: each names the other as parent; neither is a root.
            S(6, 7, 30, "loop-a"),
            S(7, 6, 31, "loop-b"),
            S(8, 8, 40, "own-parent"),
        ];
        let text = tree(&spans);
        let expected = "\
root [span] 1µs
├─ first [span] 1µs
│  └─ grandchild [span] 1µs
└─ second [span] 1µs
orphan [span] 1µs
own-parent [span] 1µs
loop-a [span] 1µs
└─ loop-b [span] 1µs
";
        assert_eq!(text, expected);
    }
}
