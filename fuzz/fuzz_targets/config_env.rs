//! Configuration from the environment: any set of variables (one `NAME=value` a
//! line) gives a configuration or a `ConfigError`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let vars: Vec<(String, String)> =
        text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_owned(), v.to_owned())).collect();
    let lookup = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if let Ok(b) = agentops::OtelConfigBuilder::from_lookup(lookup) {
        let _ = b.build();
    }
});
