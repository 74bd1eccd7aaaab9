//! Prices: the table and LiteLLM's file format it reads.

pub(crate) mod litellm;
pub(crate) mod price;
pub(crate) mod table;

#[cfg(test)]
mod tests;
