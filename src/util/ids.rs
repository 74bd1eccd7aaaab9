//! Cheap random ids for events and spans.
//!
//! `uuid`'s own v4 generator asks the OS for randomness on every call (a syscall per
//! event); a thread-local wyrand generator seeded once from the OS-seeded
//! `RandomState` costs a few nanoseconds instead. These ids need uniqueness, not
//! cryptographic strength.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::IdGenerator;
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

thread_local! {
    /// The trace id the next root span started on this thread must have (a resumed
    /// session), taken once.
    static NEXT_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
}

/// The SDK's id generator, with one addition: a root span may be given its trace
/// id ([`with_trace_id`]), which the SDK's span builder no longer allows. Ids are
/// random otherwise (the generator above).
#[derive(Debug, Default)]
pub(crate) struct SessionIds;

impl IdGenerator for SessionIds {
    fn new_trace_id(&self) -> TraceId {
        NEXT_TRACE_ID.with(Cell::take).unwrap_or_else(|| TraceId::from_bytes(*new_uuid().as_bytes()))
    }

    fn new_span_id(&self) -> SpanId {
        new_span_id()
    }
}

/// Runs `f` (which starts one root span) with the trace id it gets set to `id`.
pub(crate) fn with_trace_id<T>(id: TraceId, f: impl FnOnce() -> T) -> T {
    NEXT_TRACE_ID.with(|n| n.set(Some(id)));
    let out = f();
    NEXT_TRACE_ID.with(|n| n.set(None)); // unused if the span was not a root
    out
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
    fn a_root_span_can_be_given_its_trace_id() {
        let id = TraceId::from_bytes([7; 16]);
        assert_eq!(with_trace_id(id, || SessionIds.new_trace_id()), id);
        assert_ne!(SessionIds.new_trace_id(), id, "taken once");
        assert_eq!(with_trace_id(id, || ()), ());
        assert_ne!(SessionIds.new_trace_id(), id, "cleared when unused");
    }

    #[test]
    fn threads_get_different_sequences() {
        let a = std::thread::spawn(new_uuid).join().unwrap();
        let b = std::thread::spawn(new_uuid).join().unwrap();
        assert_ne!(a, b);
    }
}
