//! How bytes leave the process: one ureq client per destination (keep-alive, TLS,
//! proxies with curl's rules), the classification of every outcome, the retry loop,
//! gzip, and readable error bodies.

pub(crate) mod gzip;
pub(crate) mod http;
pub(crate) mod outcome;
pub(crate) mod proxy;
pub(crate) mod retry;
pub(crate) mod retry_after;
pub(crate) mod rpc_status;
