//! Cheap random ids for events and spans.
//!
//! `uuid`'s own v4 generator asks the OS for randomness on every call (a syscall per
//! event); a thread-local wyrand generator seeded once from the OS-seeded
//! `RandomState` costs a few nanoseconds instead. These ids need uniqueness, not
//! cryptographic strength.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};

use opentelemetry::trace::SpanId;
use uuid::Uuid;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    // RandomState is seeded from the OS once per thread; mix in the thread id so two
    // threads never share a sequence even if their keys collided.
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x9E37_79B9_7F4A_7C15);
    std::thread::current().id().hash(&mut h);
    h.finish()
}

/// wyrand: one multiply per 64 bits, passes BigCrush.
fn next_u64() -> u64 {
    STATE.with(|s| {
        let x = s.get().wrapping_add(0xa076_1d64_78bd_642f);
        s.set(x);
        let t = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    })
}

/// A uniformly random number in `[0, 1)`, for backoff jitter.
pub(crate) fn random_unit() -> f64 {
    (next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A random (version 4) UUID.
pub(crate) fn new_uuid() -> Uuid {
    let hi = u128::from(next_u64()) << 64;
    let bytes = (hi | u128::from(next_u64())).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A span id that is never the invalid all-zero id.
pub(crate) fn new_span_id() -> SpanId {
    loop {
        let v = next_u64();
        if v != 0 {
            return SpanId::from_bytes(v.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_valid() {
        let mut seen = HashSet::new();
        for _ in 0..100_000 {
            let u = new_uuid();
            assert_eq!(u.get_version_num(), 4);
            assert!(seen.insert(u));
            assert_ne!(new_span_id(), SpanId::INVALID);
        }
    }

    #[test]
    fn threads_get_different_sequences() {
        let a = std::thread::spawn(new_uuid).join().unwrap();
        let b = std::thread::spawn(new_uuid).join().unwrap();
        assert_ne!(a, b);
    }
}
