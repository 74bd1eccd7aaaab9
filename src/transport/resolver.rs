//! A DNS cache for ureq. ureq resolves the host on every request, even over a pooled
//! connection, and with a timeout set its default resolver spawns a thread per
//! lookup: a thread per export. This keeps each answer for a while (failures are
//! not kept). Clones share the cache: the plain-HTTP sender (`plain.rs`) resolves
//! through the same one as its client's ureq agent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a resolved address is reused.
const DNS_TTL: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub(crate) struct CachingResolver {
    inner: DefaultResolver,
    cache: Arc<Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>>,
}

impl Clone for CachingResolver {
    fn clone(&self) -> Self {
        CachingResolver { inner: DefaultResolver::default(), cache: self.cache.clone() }
    }
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority().map(|a| a.as_str()).unwrap_or_default()
        );
        if let Some((at, addrs)) = self.cache.lock().get(&key) {
            if at.elapsed() < DNS_TTL {
                return Ok(addrs.clone());
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        self.cache.lock().insert(key, (Instant::now(), addrs.clone()));
        Ok(addrs)
    }
}
