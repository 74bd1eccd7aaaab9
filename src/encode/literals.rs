//! Attributes whose key and value are both literals (`agentops.span.kind = "llm"`,
//! `gen_ai.operation.name = "chat"`): the same bytes on every span, so each direct
//! writer writes them once and copies them after.

/// How many literal attributes are kept (more evict each other; a span has a few).
const SLOTS: usize = 64;

/// How many slots a pair may take, from its own on.
const PROBES: usize = 8;

/// A key and a value literal, by address and length: a `&'static str` never moves
/// or changes, so they stand for its text.
type LiteralPair = (usize, usize, usize, usize);

/// Written literal attributes.
#[derive(Debug)]
pub(crate) struct Literals<B> {
    slots: Vec<Option<(LiteralPair, B)>>,
}

impl<B> Literals<B> {
    pub fn new() -> Self {
        Literals { slots: (0..SLOTS).map(|_| None).collect() }
    }

    /// What `write` gives for `key` and `value`, written by it once (while fewer
    /// than `PROBES` other pairs share its slots, which a span's few never do).
    pub fn get(&mut self, key: &'static str, value: &'static str, write: impl FnOnce() -> B) -> &B {
        let id = (key.as_ptr() as usize, key.len(), value.as_ptr() as usize, value.len());
        // Multiplied, so nearby addresses (literals sit side by side) spread out.
        let mix = (id.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (id.2 as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        let home = (mix >> 58) as usize % SLOTS;
        // Linear probing: the pair's slot, or the first free one after it; when all
        // are taken by other pairs, the home slot is rewritten.
        let mut probe = (0..PROBES).map(|i| (home + i) % SLOTS);
        let slot = probe.find(|&i| self.slots[i].as_ref().is_none_or(|(held, _)| *held == id)).unwrap_or(home);
        let entry = &mut self.slots[slot];
        if entry.as_ref().is_some_and(|(held, _)| *held != id) {
            *entry = None;
        }
        &entry.get_or_insert_with(|| (id, write())).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_literal_pair_is_written_once_and_told_apart() {
        let mut l = Literals::new();
        let mut writes = 0;
        for _ in 0..3 {
            for (k, v) in [("a", "x"), ("a", "y"), ("b", "x")] {
                let got = l.get(k, v, || {
                    writes += 1;
                    format!("{k}={v}")
                });
                assert_eq!(*got, format!("{k}={v}"));
            }
        }
        assert_eq!(writes, 3);
    }
}
