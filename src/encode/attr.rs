//! The attribute names this crate writes, per the span schema: the GenAI semantic
//! conventions where they define a name, `agentops.*` otherwise. Span filters match on
//! these.

/// The session (= trace) id, as a UUID string, on every span.
pub const SESSION_ID: &str = "session.id";
/// GenAI conversation id: the session id.
pub const CONVERSATION_ID: &str = "gen_ai.conversation.id";
/// `session`, `llm`, `tool`, `action` or `error`.
pub const SPAN_KIND: &str = "agentops.span.kind";
/// The event's UUID.
pub const EVENT_ID: &str = "agentops.event.id";
/// `llms`, `actions`, `tools` or `errors`.
pub const EVENT_TYPE: &str = "agentops.event.type";
/// The agent that produced the event.
pub const AGENT_ID: &str = "agentops.agent.id";

/// Session tags (string array).
pub const SESSION_TAGS: &str = "agentops.session.tags";
/// `Success`, `Fail` or `Indeterminate`.
pub const SESSION_END_STATE: &str = "agentops.session.end_state";
/// Why the session ended so.
pub const SESSION_END_STATE_REASON: &str = "agentops.session.end_state_reason";
/// Prefix of the per-type event counts on the session span (`…llms`, `…tools`, …).
pub const SESSION_EVENT_COUNT_PREFIX: &str = "agentops.session.event_counts.";
/// Total input tokens of the session.
pub const SESSION_INPUT_TOKENS: &str = "agentops.session.input_tokens";
/// Total output tokens of the session.
pub const SESSION_OUTPUT_TOKENS: &str = "agentops.session.output_tokens";
/// Total cost of the session in USD.
pub const SESSION_COST: &str = "agentops.session.cost";

/// GenAI operation (`chat`, `execute_tool`, …).
pub const GEN_AI_OPERATION: &str = "gen_ai.operation.name";
/// GenAI provider.
pub const GEN_AI_PROVIDER: &str = "gen_ai.provider.name";
/// Requested model.
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
/// Answering model.
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
/// Input tokens.
pub const GEN_AI_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// Output tokens.
pub const GEN_AI_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// Prompt messages (JSON, content).
pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
/// Completion messages (JSON, content).
pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
/// Request temperature.
pub const GEN_AI_REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
/// Request max tokens.
pub const GEN_AI_REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
/// Request top_p.
pub const GEN_AI_REQUEST_TOP_P: &str = "gen_ai.request.top_p";
/// Request top_k.
pub const GEN_AI_REQUEST_TOP_K: &str = "gen_ai.request.top_k";
/// Request seed.
pub const GEN_AI_REQUEST_SEED: &str = "gen_ai.request.seed";
/// Choices asked for, when not one (OpenAI's `n`).
pub const GEN_AI_REQUEST_CHOICE_COUNT: &str = "gen_ai.request.choice.count";
/// `true` when the response was streamed.
pub const GEN_AI_REQUEST_STREAM: &str = "gen_ai.request.stream";
/// The host an LLM request went to.
pub const SERVER_ADDRESS: &str = "server.address";
/// Its port.
pub const SERVER_PORT: &str = "server.port";
/// `true` on an LLM span whose stream ended before the provider said it was done.
pub const LLM_INCOMPLETE: &str = "agentops.llm.incomplete";
/// `true` on an LLM span recorded without its messages because a body was over the
/// recorder's size limit.
pub const LLM_CONTENT_OMITTED: &str = "agentops.llm.content_omitted";
/// `true` on a streamed LLM span whose stream reported no usage (an
/// OpenAI-compatible stream reports it only with `stream_options.include_usage`).
pub const LLM_USAGE_MISSING: &str = "agentops.llm.usage_missing";
/// Request stop sequences (string array).
pub const GEN_AI_REQUEST_STOP_SEQUENCES: &str = "gen_ai.request.stop_sequences";
/// Request frequency penalty.
pub const GEN_AI_REQUEST_FREQUENCY_PENALTY: &str = "gen_ai.request.frequency_penalty";
/// Request presence penalty.
pub const GEN_AI_REQUEST_PRESENCE_PENALTY: &str = "gen_ai.request.presence_penalty";
/// The provider's response id.
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
/// Why the model stopped, per choice (string array, provider values).
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
/// From the request to the first streamed chunk, in seconds.
pub const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
/// Input tokens read from the prompt cache (part of the input tokens).
pub const GEN_AI_CACHE_READ_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
/// Input tokens written to the prompt cache (part of the input tokens).
pub const GEN_AI_CACHE_CREATION_TOKENS: &str = "gen_ai.usage.cache_creation.input_tokens";
/// Output tokens spent on reasoning (part of the output tokens).
pub const GEN_AI_REASONING_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
/// Cost of an LLM call in USD.
pub const LLM_COST: &str = "agentops.llm.cost";
/// Thread id of an LLM call.
pub const LLM_THREAD_ID: &str = "agentops.llm.thread_id";
/// All request parameters (JSON, content).
pub const LLM_PARAMS: &str = "agentops.llm.params";

/// Agent name (on an `invoke_agent` span).
pub const GEN_AI_AGENT_NAME: &str = "gen_ai.agent.name";
/// Agent id (on an `invoke_agent` span).
pub const GEN_AI_AGENT_ID: &str = "gen_ai.agent.id";
/// Agent description (on an `invoke_agent` span).
pub const GEN_AI_AGENT_DESCRIPTION: &str = "gen_ai.agent.description";

/// Tool name.
pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
/// Tool call id.
pub const GEN_AI_TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
/// Tool arguments (JSON, content).
pub const GEN_AI_TOOL_ARGUMENTS: &str = "gen_ai.tool.call.arguments";
/// Tool result (JSON, content).
pub const GEN_AI_TOOL_RESULT: &str = "gen_ai.tool.call.result";
/// Tool logs (content).
pub const TOOL_LOGS: &str = "agentops.tool.logs";

/// Action type.
pub const ACTION_TYPE: &str = "agentops.action.type";
/// Action params (JSON, content).
pub const ENTITY_INPUT: &str = "agentops.entity.input";
/// Action returns (JSON, content).
pub const ENTITY_OUTPUT: &str = "agentops.entity.output";
/// Action logs (content).
pub const ACTION_LOGS: &str = "agentops.action.logs";
/// Action screenshot URL.
pub const ACTION_SCREENSHOT: &str = "agentops.action.screenshot";

/// Error type.
pub const ERROR_TYPE: &str = "error.type";
/// Error code.
pub const ERROR_CODE: &str = "agentops.error.code";
/// The triggering event's id.
pub const ERROR_TRIGGER_ID: &str = "agentops.error.trigger_event.id";
/// The triggering event's type.
pub const ERROR_TRIGGER_TYPE: &str = "agentops.error.trigger_event.type";
/// Exception event: type.
pub const EXCEPTION_TYPE: &str = "exception.type";
/// Exception event: message.
pub const EXCEPTION_MESSAGE: &str = "exception.message";
/// Exception event: stack trace / logs.
pub const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";
/// The marker that ends a string value cut at the length limit.
pub const TRUNCATED_SUFFIX: &str = "…[truncated]";
