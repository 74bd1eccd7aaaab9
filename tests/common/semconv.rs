//! The OpenTelemetry semantic-conventions registry (the copy in `tests/semconv/`, see
//! its `VERSION`), read from its YAML, and the check that what the crate exports
//! follows it: every attribute (span, span event, resource, metric point) and every
//! metric in a namespace the registry defines must be defined there, with its type
//! (and, for enums, one of its values, unless the enum has `_OTHER` for values of
//! one's own), and not deprecated; every other name must be
//! under `agentops.*`; GenAI spans carry what their span definition requires, and
//! `error.type` when they ended in an error; metrics have the registry's instrument
//! and unit, and histograms the conventions' bucket advice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span};
use serde_yaml::Value as Yaml;

/// An attribute's type, as the registry writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    Str,
    Int,
    Double,
    Bool,
    List(Box<Type>),
    Any,
    /// `template[T]`: the key is the attribute's id followed by `.<anything>`.
    Template(Box<Type>),
    /// An enum: its type and its values.
    Enum(Box<Type>, Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub ty: Type,
    pub deprecated: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Level {
    Required,
    Conditional,
    Other,
}

#[derive(Debug, Default)]
struct Group {
    extends: Option<String>,
    levels: Vec<(String, Level)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub instrument: String,
    pub unit: String,
    /// The conventions' `ExplicitBucketBoundaries` advice, for histograms that have one.
    pub buckets: Option<Vec<f64>>,
}

#[derive(Debug, Default)]
pub struct Registry {
    pub attrs: BTreeMap<String, Attr>,
    pub metrics: BTreeMap<String, Metric>,
    groups: BTreeMap<String, Group>,
    /// The first name segments the registry's attributes use (`gen_ai`, `host`, …).
    pub namespaces: BTreeSet<String>,
}

fn type_of(y: &Yaml) -> Type {
    match y {
        Yaml::String(s) => match s.as_str() {
            "string" => Type::Str,
            "int" => Type::Int,
            "double" => Type::Double,
            "boolean" => Type::Bool,
            "any" => Type::Any,
            s if s.ends_with("[]") => Type::List(Box::new(type_of(&Yaml::String(s[..s.len() - 2].into())))),
            s if s.starts_with("template[") => {
                Type::Template(Box::new(type_of(&Yaml::String(s["template[".len()..s.len() - 1].into()))))
            }
            other => panic!("unknown registry type {other}"),
        },
        Yaml::Mapping(m) => {
            let members = m.get("members").and_then(Yaml::as_sequence).expect("an enum's members");
            let values: Vec<&Yaml> = members.iter().filter_map(|m| m.get("value")).collect();
            let ty = if values.iter().all(|v| v.is_i64()) { Type::Int } else { Type::Str };
            let names =
                values.iter().map(|v| v.as_str().map_or_else(|| v.as_i64().unwrap().to_string(), str::to_owned));
            Type::Enum(Box::new(ty), names.collect())
        }
        other => panic!("unknown registry type {other:?}"),
    }
}

fn level_of(y: Option<&Yaml>) -> Level {
    match y {
        Some(Yaml::String(s)) if s == "required" => Level::Required,
        Some(Yaml::Mapping(m)) if m.contains_key("conditionally_required") => Level::Conditional,
        _ => Level::Other,
    }
}

impl Registry {
    /// Reads every YAML file under `model`.
    pub fn load(model: &Path) -> Registry {
        let mut reg = Registry::default();
        let mut files = Vec::new();
        yaml_files(model, &mut files);
        for f in files {
            let doc: Yaml = serde_yaml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            for g in doc.get("groups").and_then(Yaml::as_sequence).into_iter().flatten() {
                reg.add_group(g);
            }
        }
        reg.namespaces = reg.attrs.keys().filter_map(|k| k.split('.').next()).map(str::to_owned).collect();
        reg
    }

    /// Reads the bucket advice of a metrics document: "SHOULD be specified with
    /// [ExplicitBucketBoundaries] of [1, 4, …]" before `<!-- semconv metric.NAME -->`.
    pub fn load_bucket_advice(&mut self, doc: &Path) {
        let text = std::fs::read_to_string(doc).unwrap();
        let mut advice: Option<Vec<f64>> = None;
        for line in text.lines() {
            if let Some(rest) = line.split("[ExplicitBucketBoundaries] of [").nth(1) {
                let list = rest.split(']').next().unwrap_or_default();
                advice = Some(list.split(',').map(|n| n.trim().parse().unwrap()).collect());
            } else if let Some(name) = line.strip_prefix("<!-- semconv metric.").and_then(|l| l.strip_suffix(" -->")) {
                if let (Some(b), Some(m)) = (advice.take(), self.metrics.get_mut(name)) {
                    m.buckets = Some(b);
                }
            }
        }
    }

    fn add_group(&mut self, g: &Yaml) {
        let id = g.get("id").and_then(Yaml::as_str).unwrap().to_owned();
        let mut group =
            Group { extends: g.get("extends").and_then(Yaml::as_str).map(str::to_owned), ..Group::default() };
        for a in g.get("attributes").and_then(Yaml::as_sequence).into_iter().flatten() {
            let level = level_of(a.get("requirement_level"));
            if let Some(name) = a.get("id").and_then(Yaml::as_str) {
                let ty = type_of(a.get("type").unwrap());
                self.attrs.insert(name.to_owned(), Attr { ty, deprecated: a.get("deprecated").is_some() });
                group.levels.push((name.to_owned(), level));
            } else if let Some(name) = a.get("ref").and_then(Yaml::as_str) {
                group.levels.push((name.to_owned(), level));
            }
        }
        if g.get("type").and_then(Yaml::as_str) == Some("metric") {
            let name = g.get("metric_name").and_then(Yaml::as_str).unwrap().to_owned();
            let field = |k: &str| g.get(k).and_then(Yaml::as_str).unwrap_or_default().to_owned();
            self.metrics.insert(name, Metric { instrument: field("instrument"), unit: field("unit"), buckets: None });
        }
        self.groups.insert(id, group);
    }

    /// The requirement level of each attribute of a group, the group's own over
    /// those it extends.
    fn levels(&self, id: &str) -> BTreeMap<String, Level> {
        let mut chain = Vec::new();
        let mut at = Some(id.to_owned());
        while let Some(g) = at.and_then(|id| self.groups.get(&id)) {
            chain.push(g);
            at = g.extends.clone();
        }
        let mut out = BTreeMap::new();
        for g in chain.into_iter().rev() {
            for (name, level) in &g.levels {
                out.insert(name.clone(), level.clone());
            }
        }
        out
    }

    fn lookup(&self, key: &str) -> Option<&Attr> {
        self.attrs.get(key).or_else(|| {
            let mut prefix = key;
            while let Some(dot) = prefix.rfind('.') {
                prefix = &prefix[..dot];
                if let Some(a) = self.attrs.get(prefix).filter(|a| matches!(a.ty, Type::Template(_))) {
                    return Some(a);
                }
            }
            None
        })
    }

    /// What is wrong with one attribute, `at` naming its place.
    fn check_attr(&self, at: &str, kv: &KeyValue, out: &mut Vec<String>) {
        let key = kv.key.as_str();
        let in_registry = key.split('.').next().is_some_and(|ns| self.namespaces.contains(ns));
        if !in_registry {
            if !key.starts_with("agentops.") {
                out.push(format!("{at}: `{key}` is neither in the registry's namespaces nor under agentops.*"));
            }
            return;
        }
        let Some(attr) = self.lookup(key) else {
            out.push(format!("{at}: `{key}` is not defined by the registry"));
            return;
        };
        if attr.deprecated {
            out.push(format!("{at}: `{key}` is deprecated in the registry"));
        }
        let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
        if let Some(why) = mismatch(&attr.ty, value) {
            out.push(format!("{at}: `{key}` {why}"));
        }
    }

    /// Every problem with these spans (each with its resource's attributes).
    pub fn check_spans(&self, spans: &[(Span, Vec<KeyValue>)]) -> Vec<String> {
        let mut out = Vec::new();
        let mut resources_seen = BTreeSet::new();
        for (span, resource) in spans {
            let at = format!("span `{}`", span.name);
            for kv in &span.attributes {
                self.check_attr(&at, kv, &mut out);
            }
            for e in &span.events {
                for kv in &e.attributes {
                    self.check_attr(&format!("{at}, event `{}`", e.name), kv, &mut out);
                }
            }
            if resources_seen.insert(format!("{resource:?}")) {
                for kv in resource {
                    self.check_attr("resource", kv, &mut out);
                }
            }
            self.check_requirements(span, &at, &mut out);
        }
        out.sort();
        out.dedup();
        out
    }

    fn check_requirements(&self, span: &Span, at: &str, out: &mut Vec<String>) {
        let has = |k: &str| span.attributes.iter().any(|kv| kv.key == k);
        let value = |k: &str| {
            span.attributes.iter().find(|kv| kv.key == k).and_then(|kv| kv.value.as_ref()).and_then(|v| v.value.clone())
        };
        let Some(Value::StringValue(op)) = value("gen_ai.operation.name") else { return };
        let client = span.kind == SpanKind::Client as i32;
        let group = match (op.as_str(), client) {
            ("chat" | "text_completion" | "generate_content", true) => "span.gen_ai.inference.client",
            ("execute_tool", _) => "span.gen_ai.execute_tool.internal",
            ("invoke_agent", true) => "span.gen_ai.invoke_agent.client",
            ("invoke_agent", false) => "span.gen_ai.invoke_agent.internal",
            ("embeddings", _) => "span.gen_ai.embeddings.client",
            (other, _) => {
                out.push(format!("{at}: no span definition for operation `{other}` (client: {client})"));
                return;
            }
        };
        assert!(self.groups.contains_key(group), "the registry defines {group}");
        for (name, level) in self.levels(group) {
            if level == Level::Required && !has(&name) {
                out.push(format!("{at}: lacks `{name}`, required by {group}"));
            }
        }
        let errored = span.status.as_ref().is_some_and(|s| s.code == StatusCode::Error as i32);
        if errored && !has("error.type") {
            out.push(format!("{at}: ended in an error without `error.type` (conditionally required)"));
        }
        if has("server.address") && !has("server.port") {
            out.push(format!("{at}: `server.address` without `server.port` (conditionally required)"));
        }
        if has("gen_ai.response.time_to_first_chunk") && value("gen_ai.request.stream") != Some(Value::BoolValue(true))
        {
            out.push(format!("{at}: streamed (time to first chunk) without `gen_ai.request.stream = true`"));
        }
    }

    /// Every problem with these metrics.
    pub fn check_metrics(&self, requests: &[ExportMetricsServiceRequest]) -> Vec<String> {
        let mut out = Vec::new();
        for rm in requests.iter().flat_map(|r| &r.resource_metrics) {
            for m in rm.scope_metrics.iter().flat_map(|s| &s.metrics) {
                let at = format!("metric `{}`", m.name);
                let ns = m.name.split('.').next().unwrap_or_default();
                if self.namespaces.contains(ns) {
                    match self.metrics.get(&m.name) {
                        None => out.push(format!("{at}: not defined by the registry")),
                        Some(def) => {
                            let instrument = match &m.data {
                                Some(Data::Histogram(_) | Data::ExponentialHistogram(_)) => "histogram",
                                Some(Data::Sum(s)) if s.is_monotonic => "counter",
                                Some(Data::Sum(_)) => "updowncounter",
                                Some(Data::Gauge(_)) => "gauge",
                                _ => "none",
                            };
                            if instrument != def.instrument {
                                out.push(format!("{at}: a {instrument}, the registry's is a {}", def.instrument));
                            }
                            if m.unit != def.unit {
                                out.push(format!("{at}: unit `{}`, the registry's is `{}`", m.unit, def.unit));
                            }
                            if let (Some(want), Some(Data::Histogram(h))) = (&def.buckets, &m.data) {
                                if let Some(p) = h.data_points.iter().find(|p| &p.explicit_bounds != want) {
                                    out.push(format!("{at}: buckets {:?}, the advice is {want:?}", p.explicit_bounds));
                                }
                            }
                        }
                    }
                } else if !m.name.starts_with("agentops.") {
                    out.push(format!("{at}: neither in the registry's namespaces nor under agentops.*"));
                }
                for kv in point_attributes(m) {
                    self.check_attr(&at, kv, &mut out);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

fn point_attributes(m: &opentelemetry_proto::tonic::metrics::v1::Metric) -> Vec<&KeyValue> {
    match &m.data {
        Some(Data::Histogram(h)) => h.data_points.iter().flat_map(|p| &p.attributes).collect(),
        Some(Data::Sum(s)) => s.data_points.iter().flat_map(|p| &p.attributes).collect(),
        Some(Data::Gauge(g)) => g.data_points.iter().flat_map(|p| &p.attributes).collect(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.iter().flat_map(|p| &p.attributes).collect(),
        _ => Vec::new(),
    }
}

/// Why `value` is not of type `ty`, if it is not.
fn mismatch(ty: &Type, value: Option<&Value>) -> Option<String> {
    let got = match value {
        None => "empty",
        Some(Value::StringValue(_)) => "string",
        Some(Value::IntValue(_)) => "int",
        Some(Value::DoubleValue(_)) => "double",
        Some(Value::BoolValue(_)) => "boolean",
        Some(Value::ArrayValue(_)) => "an array",
        Some(Value::KvlistValue(_)) => "a map",
        Some(Value::BytesValue(_)) => "bytes",
        Some(Value::StringValueStrindex(_)) => "a string table index",
    };
    let fits = |ty: &Type, v: Option<&Value>| {
        matches!(
            (ty, v),
            (Type::Any, Some(_))
                | (Type::Str, Some(Value::StringValue(_)))
                | (Type::Int, Some(Value::IntValue(_)))
                | (Type::Double, Some(Value::DoubleValue(_)))
                | (Type::Bool, Some(Value::BoolValue(_)))
        )
    };
    match ty {
        Type::Template(inner) => mismatch(inner, value),
        Type::Enum(inner, values) => {
            if !fits(inner, value) {
                return Some(format!("is {got}, the registry's is an enum of {inner:?}"));
            }
            let v = match value {
                Some(Value::StringValue(s)) => s.clone(),
                Some(Value::IntValue(i)) => i.to_string(),
                _ => unreachable!(),
            };
            // An enum with `_OTHER` (`error.type`) takes values of the instrumentation's own.
            let open = values.iter().any(|v| v == "_OTHER");
            (!open && !values.contains(&v)).then(|| format!("is {v:?}, not one of the registry's values {values:?}"))
        }
        Type::List(inner) => match value {
            Some(Value::ArrayValue(a)) => {
                let bad = a.values.iter().find(|x| !fits(inner, x.value.as_ref()));
                bad.map(|_| format!("is an array with an element that is not {inner:?}"))
            }
            _ => Some(format!("is {got}, the registry's is an array of {inner:?}")),
        },
        ty => (!fits(ty, value)).then(|| format!("is {got}, the registry's is {ty:?}")),
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// The registry copy this crate is checked against, with the GenAI metrics'
/// bucket advice.
pub fn registry() -> Registry {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/semconv");
    let mut reg = Registry::load(&root.join("model"));
    reg.load_bucket_advice(&root.join("docs/gen-ai/gen-ai-metrics.md"));
    assert!(reg.metrics["gen_ai.client.token.usage"].buckets.is_some(), "the advice was read");
    reg
}
