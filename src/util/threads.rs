//! Starting the background threads: named, and at the configured priority (see
//! [`BatchConfig::export_thread_nice`](crate::BatchConfig::export_thread_nice)).

use std::thread::JoinHandle;

/// Starts a thread named `name` at nice `nice` running `f`.
pub(crate) fn spawn(name: String, nice: u8, f: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    let run = move || {
        set_thread_nice(nice);
        f()
    };
    std::thread::Builder::new().name(name).spawn(run)
}

/// Lowers the calling thread's scheduling priority to `nice`; a thread that is
/// already nicer (it inherits the creating thread's value) stays as it is. On
/// Linux, nice is per thread, and raising it needs no privilege. A failure only
/// leaves the inherited priority, so it is ignored.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // the crate's one unsafe site: std has no thread-priority API
fn set_thread_nice(nice: u8) {
    let nice = libc::c_int::from(nice);
    // SAFETY: plain syscalls; `who = 0` is the calling thread on Linux. -1 is also
    // a valid priority, so errno is not consulted: at worst nothing changes.
    unsafe {
        if libc::getpriority(libc::PRIO_PROCESS, 0) < nice {
            libc::setpriority(libc::PRIO_PROCESS, 0, nice);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn set_thread_nice(_nice: u8) {
    // Elsewhere `setpriority(PRIO_PROCESS, 0, …)` would renice the whole process.
}
