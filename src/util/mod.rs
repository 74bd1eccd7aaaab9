//! Small helpers with no knowledge of the pipeline: ids, dates, the host name.

pub(crate) mod host;
pub(crate) mod ids;
pub(crate) mod time;
