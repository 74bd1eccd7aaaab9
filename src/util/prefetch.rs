//! Asking the CPU to start moving memory into its cache before it is used. The
//! export thread reads what callers wrote long before (a burst leaves it in memory,
//! not in cache): asking for all of it early has the cache lines arrive together,
//! instead of one miss after another when they are read. Callers, in turn, write
//! again into memory the export thread read last (see `pipeline/reclaim.rs`).

/// Starts loading the memory of `value` (all of its cache lines) for reading.
pub(crate) fn prefetch<T: ?Sized>(value: &T) {
    each_line((value as *const T).cast::<u8>(), std::mem::size_of_val(value), |line| {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: SSE is part of the x86_64 baseline; a prefetch is only a hint and
        // never faults.
        unsafe {
            std::arch::x86_64::_mm_prefetch(line.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = line;
    });
}

/// Starts taking the `len` bytes at `start` for writing (x86's `prefetchw`): memory
/// this thread is about to free, whose next allocations will reuse it. Another core
/// read it last, or long ago, so writing it again waits for each line to come back;
/// asked for here, the lines arrive while the thread goes on, instead of during the
/// next call that reuses them. Only the addresses are used, so the bytes need not
/// be initialized (a `String`'s spare capacity, a struct's padding).
pub(crate) fn prefetch_for_write(start: *const u8, len: usize) {
    each_line(start, len, |line| {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is only a hint and never faults. CPUs without PREFETCHW
        // decode it as a no-op (0F 0D is a NOP there).
        unsafe {
            std::arch::asm!("prefetchw [{0}]", in(reg) line, options(nostack, readonly, preserves_flags))
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = line;
    });
}

/// Calls `hint` with an address in each 64-byte line of the `len` bytes at `start`.
fn each_line(start: *const u8, len: usize, hint: impl Fn(*const u8)) {
    for offset in (0..len).step_by(64) {
        hint(start.wrapping_add(offset));
    }
}
