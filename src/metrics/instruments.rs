//! The instruments recorded from events: their names, units and bucket
//! boundaries, per the GenAI semantic conventions where they define one, and
//! `agentops.*` otherwise. Created once, from the client's meter.

use opentelemetry::metrics::{Counter, Histogram, Meter};

/// `gen_ai.client.token.usage` bucket boundaries, from the conventions.
pub(crate) const TOKEN_BOUNDARIES: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
    67108864.0,
];

/// Duration bucket boundaries in seconds, from the conventions
/// (`gen_ai.client.operation.duration`); used for every duration here.
pub(crate) const DURATION_BOUNDARIES: [f64; 14] =
    [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/// Metric names, as exported.
pub(crate) mod name {
    pub const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
    pub const OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
    pub const TIME_TO_FIRST_CHUNK: &str = "gen_ai.client.operation.time_to_first_chunk";
    // The registry defines no duration of tool calls or agents: these are our own.
    pub const TOOL_DURATION: &str = "agentops.tool.duration";
    pub const AGENT_DURATION: &str = "agentops.agent.duration";
    pub const LLM_COST: &str = "agentops.llm.cost";
    pub const SESSIONS_ENDED: &str = "agentops.sessions.ended";
    pub const SESSION_DURATION: &str = "agentops.session.duration";
    pub const ERRORS: &str = "agentops.errors";
    pub const SPANS_RECORDED: &str = "agentops.pipeline.spans.recorded";
    pub const SPANS_QUEUED: &str = "agentops.pipeline.spans.queued";
    pub const SPANS_EXPORTED: &str = "agentops.pipeline.spans.exported";
    pub const SPANS_DROPPED: &str = "agentops.pipeline.spans.dropped";
    pub const SPANS_FILTERED: &str = "agentops.pipeline.spans.filtered";
    pub const QUEUE_CAPACITY: &str = "agentops.pipeline.queue.capacity";
    pub const EXPORT_REQUESTS: &str = "agentops.pipeline.export.requests";
    pub const EXPORT_RETRIES: &str = "agentops.pipeline.export.retries";
    pub const EXPORT_BYTES: &str = "agentops.pipeline.export.bytes";
}

/// Attribute names the metrics use beyond the spans' ones.
pub(crate) mod key {
    /// `input` or `output`, on token usage.
    pub const TOKEN_TYPE: &str = "gen_ai.token.type";
    /// Why spans were dropped (`queue_full`, `export_failed`, `rejected`,
    /// `after_shutdown`, `panicked`).
    pub const DROP_REASON: &str = "agentops.drop.reason";
    /// The exporter a request count belongs to.
    pub const EXPORTER: &str = "agentops.exporter";
}

/// The synchronous instruments, recorded on the export thread.
#[derive(Debug, Clone)]
pub(crate) struct Instruments {
    pub token_usage: Histogram<u64>,
    pub operation_duration: Histogram<f64>,
    pub time_to_first_chunk: Histogram<f64>,
    pub tool_duration: Histogram<f64>,
    pub agent_duration: Histogram<f64>,
    pub llm_cost: Counter<f64>,
    pub sessions_ended: Counter<u64>,
    pub session_duration: Histogram<f64>,
    pub errors: Counter<u64>,
}

impl Instruments {
    pub fn new(meter: &Meter) -> Self {
        let seconds = |name: &'static str, what: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(what)
                .with_boundaries(DURATION_BOUNDARIES.to_vec())
                .build()
        };
        Instruments {
            token_usage: meter
                .u64_histogram(name::TOKEN_USAGE)
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(TOKEN_BOUNDARIES.to_vec())
                .build(),
            operation_duration: seconds(name::OPERATION_DURATION, "GenAI operation duration"),
            time_to_first_chunk: seconds(name::TIME_TO_FIRST_CHUNK, "Time to receive the first chunk of a stream"),
            tool_duration: seconds(name::TOOL_DURATION, "Tool call duration"),
            agent_duration: seconds(name::AGENT_DURATION, "Agent invocation duration"),
            llm_cost: meter
                .f64_counter(name::LLM_COST)
                .with_unit("USD")
                .with_description("Cost of LLM calls in US dollars")
                .build(),
            sessions_ended: meter
                .u64_counter(name::SESSIONS_ENDED)
                .with_unit("{session}")
                .with_description("Sessions ended, by end state")
                .build(),
            session_duration: seconds(name::SESSION_DURATION, "Session duration"),
            errors: meter
                .u64_counter(name::ERRORS)
                .with_unit("{error}")
                .with_description("Errors recorded, by type")
                .build(),
        }
    }
}
