//! JSON text on the export thread: string literals written fast (prompts are long and
//! rarely need escaping), and nesting depth checked and freed without recursion, so
//! hostile input cannot overflow the thread's stack.

use serde_json::Value as Json;

/// Deepest JSON nesting encoded; deeper values are replaced by a note (and freed
/// without recursion).
pub(crate) const MAX_JSON_DEPTH: usize = 64;

fn needs_escape(c: u8) -> bool {
    (c < 0x20) | (c == b'"') | (c == b'\\')
}

/// Which bytes of a 32-byte chunk need escaping: bit `i` for byte `i`.
#[cfg(target_arch = "x86_64")]
fn escape_mask(chunk: &[u8; 32]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // Sixteen bytes at a time: a quote, a backslash, or below 0x20 (unsigned
    // `min(c, 0x1f) == c`). The compiler's own vectorization of the byte loop took
    // three times the instructions.
    let half = |bytes: &[u8]| -> u32 {
        // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are always
        // available; the unaligned load reads exactly the 16 bytes of `bytes`.
        unsafe {
            let v = _mm_loadu_si128(bytes.as_ptr().cast::<__m128i>());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32 & 0xffff
        }
    };
    half(&chunk[..16]) | (half(&chunk[16..]) << 16)
}

/// Which bytes of a 32-byte chunk need escaping: bit `i` for byte `i`.
#[cfg(not(target_arch = "x86_64"))]
fn escape_mask(chunk: &[u8; 32]) -> u32 {
    let mut mask = 0;
    for (i, &c) in chunk.iter().enumerate() {
        mask |= u32::from(needs_escape(c)) << i;
    }
    mask
}

fn push_escaped(out: &mut String, c: u8) {
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
}

/// Appends `s` as a JSON string literal. Prompts are long and mostly need no
/// escaping, so 32 bytes are checked at a time and copied in one piece.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let b = s.as_bytes();
    let (mut start, mut i) = (0, 0);
    while let Some(chunk) = b.get(i..i + 32).and_then(|c| <&[u8; 32]>::try_from(c).ok()) {
        let mut mask = escape_mask(chunk);
        while mask != 0 {
            let j = i + mask.trailing_zeros() as usize;
            // `j` is at an ASCII byte, so both slices end on character boundaries.
            out.push_str(&s[start..j]);
            push_escaped(out, b[j]);
            start = j + 1;
            mask &= mask - 1;
        }
        i += 32;
    }
    for (j, &c) in b.iter().enumerate().skip(i) {
        if needs_escape(c) {
            out.push_str(&s[start..j]);
            push_escaped(out, c);
            start = j + 1;
        }
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
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_string_is_written_as_serde_json_writes_it(s in "(\\PC|[\"\\\\\\x00-\\x1f]){0,200}", pad in 0usize..40) {
            let s = format!("{}{s}", "a".repeat(pad));
            let mut ours = String::new();
            push_json_str(&mut ours, &s);
            prop_assert_eq!(ours, serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn escape_mask_marks_exactly_the_bytes_to_escape() {
        let mut chunk = [b'a'; 32];
        for (i, c) in [(0, b'"'), (5, b'\\'), (15, 0x1f), (16, 0), (17, 0x20), (30, 0x7f), (31, b'\n')] {
            chunk[i] = c;
        }
        chunk[20] = 0xc3; // a UTF-8 lead byte is not escaped
        assert_eq!(escape_mask(&chunk), 1 | 1 << 5 | 1 << 15 | 1 << 16 | 1 << 31);
        for c in 0..=255u8 {
            assert_eq!(escape_mask(&[c; 32]) != 0, needs_escape(c), "{c:#x}");
        }
    }

    #[test]
    fn json_strings_match_serde_json() {
        let cases = [
            String::new(),
            "plain ascii text that is long enough for words".into(),
            "quote \" backslash \\ newline \n tab \t cr \r bell \u{7} nul \u{0} del \u{7f}".into(),
            "ünïcödé ✓ 🦀 \u{1f} mixed \"\"\"".into(),
            "p".repeat(1031),
            "\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\u{9}".into(),
            format!("{}\"{}\n{}", "a".repeat(31), "b".repeat(32), "ü".repeat(40)),
            "x".repeat(64) + "\\",
        ];
        for c in cases {
            let mut ours = String::new();
            push_json_str(&mut ours, &c);
            assert_eq!(ours, serde_json::to_string(&c).unwrap(), "{c:?}");
        }
    }
}
