//! Small helpers with no knowledge of the pipeline: ids,
//! dates, the host name, bounded lines, messages for a person, secrets out of them,
//! memory read ahead.

pub(crate) mod host;
pub(crate) mod ids;
pub(crate) mod lines;
pub(crate) mod propagation;
pub(crate) mod redact;
pub(crate) mod say;
pub(crate) mod threads;
pub(crate) mod time;
pub(crate) mod touch;
pub(crate) mod url;
