//! `tracing` fields as OpenTelemetry attributes, keeping their types: integers,
//! floats, booleans and strings as such; anything else as its `Debug` text. The
//! `message` field of an event is kept apart (it names the span event).

use std::fmt;

use opentelemetry::{KeyValue, Value};
use tracing::field::{Field, Visit};

/// Collects fields into `attrs`, a field recorded again replacing its value.
pub(crate) struct Fields<'a> {
    pub attrs: &'a mut Vec<KeyValue>,
    pub message: Option<String>,
}

impl<'a> Fields<'a> {
    pub fn new(attrs: &'a mut Vec<KeyValue>) -> Self {
        Fields { attrs, message: None }
    }

    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        match self.attrs.iter_mut().find(|kv| kv.key.as_str() == name) {
            Some(kv) => kv.value = value,
            None => self.attrs.push(KeyValue::new(name, value)),
        }
    }
}

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        // OpenTelemetry integers are signed: beyond i64 the value is kept as text.
        match i64::try_from(value) {
            Ok(v) => self.put(field, Value::I64(v)),
            Err(_) => self.put(field, Value::from(value.to_string())),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.put(field, Value::from(value.to_owned()));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.put(field, Value::from(text));
        }
    }
}
