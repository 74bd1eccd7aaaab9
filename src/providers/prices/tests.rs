//! The price table: the built-in data, name resolution, the cost formula.
