//! JSON text on the export thread: string literals written fast (prompts are long and
//! rarely need escaping), and nesting depth checked and freed without recursion, so
//! hostile input cannot overflow the thread's stack.

use serde_json::Value as Json;

/// Deepest JSON nesting encoded; deeper values are replaced by a note (and freed
/// without recursion).
pub(crate) const MAX_JSON_DEPTH: usize = 64;

#[cfg(test)]
fn needs_escape(c: u8) -> bool {
    (c < 0x20) | (c == b'"') | (c == b'\\')
}

/// Which bytes of a 32-byte chunk need escaping: bit `i` for byte `i`. Eight bytes
/// at a time in a `u64` (SWAR, exact per byte: no carry crosses a byte), without
/// `unsafe`.
fn escape_mask(chunk: &[u8; 32]) -> u32 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The high bit of each byte of `x` that is zero.
    let zero = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let mut mask = 0;
    for (k, word) in chunk.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(word.try_into().unwrap_or_default());
        // Below 0x20: neither the high bit nor (low seven bits + 0x60) reaches 0x80.
        let control = !(x | ((x & LOW7) + 0x60 * ONES)) & HIGH;
        let marks = control | zero(x ^ (u64::from(b'"') * ONES)) | zero(x ^ (u64::from(b'\\') * ONES));
        // Bit 7 of each byte, gathered into the byte's index (a movemask).
        let bits = ((marks >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32;
        mask |= bits << (8 * k);
    }
    mask
}

/// Where escaped text goes: the JSON writer's `String` or the protobuf writer's
/// bytes. Only whole `&str` pieces are appended, so a `String` stays valid UTF-8.
pub(crate) trait Text {
    fn put(&mut self, s: &str);
    fn reserve_more(&mut self, n: usize);
}

impl Text for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
    fn reserve_more(&mut self, n: usize) {
        self.reserve(n);
    }
}

impl Text for Vec<u8> {
    fn put(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
    fn reserve_more(&mut self, n: usize) {
        self.reserve(n);
    }
}

/// The escape sequence of a byte that needs one.
fn escape_sequence(c: u8) -> &'static str {
    const CONTROL: [&str; 32] = [
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007", "\\b", "\\t", "\\n",
        "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014",
        "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e",
        "\\u001f",
    ];
    match c {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        c => CONTROL.get(usize::from(c)).copied().unwrap_or(""),
    }
}

/// How many times a text is escaped: once for a JSON string, twice for JSON text
/// that is itself the value of a JSON string (messages JSON in OTLP/JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Escape {
    Once,
    Twice,
}

fn push_escape_of<T: Text>(out: &mut T, c: u8, times: Escape) {
    let seq = escape_sequence(c);
    match times {
        Escape::Once => out.put(seq),
        // The sequence escaped again: only its backslash and quote need it.
        Escape::Twice => {
            for (i, b) in seq.bytes().enumerate() {
                match b {
                    b'\\' => out.put("\\\\"),
                    b'"' => out.put("\\\""),
                    _ => out.put(&seq[i..=i]),
                }
            }
        }
    }
}

/// Whether any byte of a chunk needs escaping. Written as one fold over the chunk
/// so the compiler vectorizes it (SSE2 on any x86_64): text with nothing to escape,
/// as prompts mostly are, is passed over without building [`escape_mask`]'s bit
/// mask (`benches/RESULTS.md` has what it saves).
fn any_escape(chunk: &[u8; 32]) -> bool {
    chunk.iter().fold(false, |any, &c| any | (c < 0x20) | (c == b'"') | (c == b'\\'))
}

/// Calls `f` with the index of every byte of `b` that needs escaping, in order:
/// 32 bytes at a time, the last few padded with spaces (which need none), so short
/// strings (keys, names) take one check too. Only a chunk with something to escape
/// pays for [`escape_mask`].
fn each_escape(b: &[u8], mut f: impl FnMut(usize)) {
    let mut i = 0;
    let mut each_in = |at: usize, mut mask: u32| {
        while mask != 0 {
            f(at + mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
    };
    while let Some(chunk) = b.get(i..i + 32).and_then(|c| <&[u8; 32]>::try_from(c).ok()) {
        if any_escape(chunk) {
            each_in(i, escape_mask(chunk));
        }
        i += 32;
    }
    if i < b.len() {
        let mut padded = [b' '; 32];
        padded[..b.len() - i].copy_from_slice(&b[i..]);
        if any_escape(&padded) {
            each_in(i, escape_mask(&padded));
        }
    }
}

/// Appends the body of `s` as a JSON string (no quotes), escaped `times`. Prompts
/// are long and mostly need no escaping, so the text between escapes is copied in
/// one piece.
pub(crate) fn push_escaped_str<T: Text>(out: &mut T, s: &str, times: Escape) {
    out.reserve_more(s.len());
    let b = s.as_bytes();
    let mut start = 0;
    each_escape(b, |j| {
        // `j` is at an ASCII byte, so both slices end on character boundaries.
        out.put(&s[start..j]);
        push_escape_of(out, b[j], times);
        start = j + 1;
    });
    out.put(&s[start..]);
}

/// The length of [`push_escaped_str`]`(s, Escape::Once)`.
pub(crate) fn escaped_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut n = b.len();
    each_escape(b, |j| n += escape_sequence(b[j]).len() - 1);
    n
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    push_escaped_str(out, s, Escape::Once);
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

    proptest! {
        #[test]
        fn escaping_twice_is_escaping_the_escaped_text(s in "(\\PC|[\"\\\\\\x00-\\x1f]){0,120}", pad in 0usize..40) {
            let s = format!("{}{s}", "a".repeat(pad));
            let once = serde_json::to_string(&s).unwrap();
            let mut body = String::new();
            push_escaped_str(&mut body, &s, Escape::Once);
            prop_assert_eq!(&body, &once[1..once.len() - 1]);
            prop_assert_eq!(escaped_len(&s), body.len());
            let twice = serde_json::to_string(&body).unwrap();
            let mut bytes = Vec::new();
            push_escaped_str(&mut bytes, &s, Escape::Twice);
            prop_assert_eq!(String::from_utf8(bytes).unwrap(), &twice[1..twice.len() - 1]);
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
            for at in [0, 13, 31] {
                let mut one = [b'a'; 32];
                one[at] = c;
                assert_eq!(any_escape(&one), needs_escape(c), "{c:#x} at {at}");
            }
        }
    }

    #[test]
    fn every_escape_is_found_at_every_place_of_a_long_string() {
        for at in 0..200 {
            for c in [b'"', b'\\', 0, 0x1f] {
                let mut b = vec![b'a'; 200];
                b[at] = c;
                b[(at * 7 + 3) % 200] = b'\n';
                let mut found = Vec::new();
                each_escape(&b, |j| found.push(j));
                let expected: Vec<usize> = (0..200).filter(|&j| needs_escape(b[j])).collect();
                assert_eq!(found, expected, "{at} {c:#x}");
            }
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
