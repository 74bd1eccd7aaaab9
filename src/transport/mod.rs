//! How bytes leave the process: one blocking HTTP client per exporter (plain
//! `http://` over our own keep-alive connections, one write per request; TLS and
//! proxies through ureq, with a caching resolver and curl's proxy rules), the
//! classification of every outcome, the retry loop, gzip, and readable error bodies.

pub(crate) mod gzip;
pub(crate) mod http;
pub(crate) mod outcome;
mod plain;
pub(crate) mod proxy;
mod resolver;
mod response;
pub(crate) mod retry;
pub(crate) mod retry_after;
pub(crate) mod rpc_status;
