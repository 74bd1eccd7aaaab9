//! The machine's host name, for the resource (`host.name`) and the legacy AgentOps
//! `create_session` (`host_env`). One lookup for both.

/// `$HOSTNAME`, else the kernel's or `/etc/hostname`; `None` when none is set.
pub(crate) fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}
