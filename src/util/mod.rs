//! Small helpers with no knowledge of the pipeline: ids, dates, the host name,
//! bounded lines, prefetching.

pub(crate) mod host;
pub(crate) mod ids;
pub(crate) mod lines;
pub(crate) mod prefetch;
pub(crate) mod time;
