//! Prices: the table, LiteLLM's file format it reads, and the callers' memo of
//! the last price looked up.

pub(crate) mod litellm;
mod memo;
pub(crate) mod price;
pub(crate) mod table;

#[cfg(test)]
mod tests;
