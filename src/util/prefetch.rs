//! Asking the CPU to start loading memory into its cache before it is read. The
//! export thread reads what callers wrote long before (a burst leaves it in memory,
//! not in cache): asking for all of it early has the cache lines arrive together,
//! instead of one miss after another when they are read.

/// Starts loading the memory of `value` (all of its cache lines).
pub(crate) fn prefetch<T: ?Sized>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = (value as *const T).cast::<u8>();
        for offset in (0..std::mem::size_of_val(value)).step_by(64) {
            // SAFETY: SSE is part of the x86_64 baseline; a prefetch is only a hint
            // and never faults, and each address is inside `value` anyway.
            unsafe {
                std::arch::x86_64::_mm_prefetch(start.wrapping_add(offset).cast::<i8>(), std::arch::x86_64::_MM_HINT_T0)
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
