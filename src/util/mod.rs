//! Small helpers with no knowledge of the pipeline: ids, the clock of spans,
//! dates, the host name, bounded lines, prefetching, messages for a person, secrets out of them.

pub(crate) mod clock;
pub(crate) mod host;
pub(crate) mod ids;
pub(crate) mod lines;
pub(crate) mod prefetch;
pub(crate) mod redact;
pub(crate) mod say;
pub(crate) mod time;
