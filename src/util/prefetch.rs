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

/// Starts taking the memory of `bytes` for writing (x86's `prefetchw`): memory this
/// thread is about to free, whose next allocations will reuse it. The export thread
/// read it last, from another core or long ago, so writing it again waits for each
/// line to come back; asked for here, the lines arrive while the thread goes on,
/// instead of during the next call that reuses them.
pub(crate) fn prefetch_for_write(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for offset in (0..bytes.len()).step_by(64) {
        // SAFETY: a prefetch is only a hint and never faults; the address is inside
        // `bytes`. CPUs without PREFETCHW decode it as a no-op (0F 0D is a NOP there).
        unsafe {
            std::arch::asm!(
                "prefetchw [{0}]",
                in(reg) bytes.as_ptr().wrapping_add(offset),
                options(nostack, readonly, preserves_flags)
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}
