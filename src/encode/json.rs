//! JSON text on the export thread: string literals written fast (prompts are long and
//! rarely need escaping), and nesting depth checked and freed without recursion, so
//! hostile input cannot overflow the thread's stack.

use serde_json::Value as Json;

/// Deepest JSON nesting encoded; deeper values are replaced by a note (and freed
/// without recursion).
pub(crate) const MAX_JSON_DEPTH: usize = 64;

/// Whether any of the 8 bytes in `w` is `"`, `\\` or a control character (may say
/// yes for a word that needs nothing; never says no for one that does).
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    zero_byte(w ^ (ONES * u64::from(b'"')))
        || zero_byte(w ^ (ONES * u64::from(b'\\')))
        || w.wrapping_sub(ONES * 0x20) & !w & HIGHS != 0
}

/// Appends `s` as a JSON string literal. Prompts are long and mostly need no
/// escaping, so eight bytes are checked at a time.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let b = s.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        if let Some(word) = b.get(i..i + 8) {
            if !word_needs_escape(u64::from_le_bytes(word.try_into().unwrap_or([0; 8]))) {
                i += 8;
                continue;
            }
        }
        let c = b[i];
        if c < 0x20 || c == b'"' || c == b'\\' {
            // `i` is at an ASCII byte, so both slices end on character boundaries.
            out.push_str(&s[start..i]);
            match c {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x08 => out.push_str("\\b"),
                0x0c => out.push_str("\\f"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push_str("\\u00");
                    out.push(HEX[usize::from(c >> 4)] as char);
                    out.push(HEX[usize::from(c & 0xf)] as char);
                }
            }
            start = i + 1;
        }
        i += 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// How deeply `v` nests (counting stops a level past the limit).
pub(crate) fn json_depth(v: &Json) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        if d > MAX_JSON_DEPTH {
            break;
        }
        match v {
            Json::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Json::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}

/// Frees a JSON value without recursion (serde_json's own drop recurses).
pub(crate) fn drop_iteratively(v: Json) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Json::Array(a) => stack.extend(a),
            Json::Object(o) => stack.extend(o.into_iter().map(|(_, x)| x)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_match_serde_json() {
        let cases = [
            String::new(),
            "plain ascii text that is long enough for words".into(),
            "quote \" backslash \\ newline \n tab \t cr \r bell \u{7} nul \u{0} del \u{7f}".into(),
            "ünïcödé ✓ 🦀 \u{1f} mixed \"\"\"".into(),
            "p".repeat(1031),
            "\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\u{9}".into(),
        ];
        for c in cases {
            let mut ours = String::new();
            push_json_str(&mut ours, &c);
            assert_eq!(ours, serde_json::to_string(&c).unwrap(), "{c:?}");
        }
    }
}
