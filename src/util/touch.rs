//! Reading memory ahead of its use, in safe code: one load from each 64-byte line
//! (callers read the texts they are about to free and reuse: `pipeline/reclaim.rs`).
//! The loads are independent, so the CPU has all the lines on their way at once
//! (memory-level parallelism) instead of taking one miss after another when the
//! bytes are read in order. A prefetch instruction would not wait for them; it
//! needs `unsafe`, which the crate keeps to one FFI call (`benches/RESULTS.md` has
//! what each costs).

/// Loads one byte of each cache line of `bytes`.
pub(crate) fn touch(bytes: &[u8]) {
    for b in bytes.iter().step_by(64) {
        std::hint::black_box(*b);
    }
}
