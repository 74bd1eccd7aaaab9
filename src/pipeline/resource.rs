//! The resource every span is exported with: service, SDK, host, OS, process, and
//! the user's own attributes.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

use crate::config::otel::OtelConfig;
use crate::util::host::host_name;

pub(crate) fn build_resource(config: &OtelConfig) -> Resource {
    let mut attrs = vec![
        KeyValue::new("service.name", config.service_name.clone()),
        KeyValue::new("telemetry.sdk.name", "agentops"),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("os.type", os_type(std::env::consts::OS)),
        KeyValue::new("host.arch", host_arch(std::env::consts::ARCH)),
        KeyValue::new("process.pid", i64::from(std::process::id())),
        KeyValue::new("process.runtime.name", "rust"),
    ];
    if let Some(v) = &config.service_version {
        attrs.push(KeyValue::new("service.version", v.clone()));
    }
    if let Some(env) = &config.environment {
        attrs.push(KeyValue::new("deployment.environment.name", env.clone()));
    }
    if let Some(host) = host_name() {
        attrs.push(KeyValue::new("host.name", host));
    }
    if let Some(exe) =
        std::env::current_exe().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
    {
        attrs.push(KeyValue::new("process.executable.name", exe));
    }
    for (k, v) in &config.resource_attributes {
        attrs.push(KeyValue::new(k.clone(), v.clone()));
    }
    Resource::builder_empty().with_attributes(attrs).build()
}

/// The semantic conventions' name of a Rust target architecture (`host.arch`).
fn host_arch(arch: &'static str) -> &'static str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm32",
        "powerpc" => "ppc32",
        "powerpc64" => "ppc64",
        other => other, // x86, s390x: the same name
    }
}

/// The semantic conventions' name of a Rust target OS (`os.type`).
fn os_type(os: &'static str) -> &'static str {
    match os {
        "macos" => "darwin",
        other => other, // linux, windows, freebsd, …: the same name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_and_systems_have_the_conventions_names() {
        assert_eq!(host_arch("x86_64"), "amd64");
        assert_eq!(host_arch("aarch64"), "arm64");
        assert_eq!(host_arch("s390x"), "s390x");
        assert_eq!(os_type("macos"), "darwin");
        assert_eq!(os_type("linux"), "linux");
    }
}
