//! Sessions and scopes: [`Session`] (one agent run, one trace), [`Scope`] (where
//! events are recorded: the session root or an open action), [`ActionScope`], and
//! the [`SessionSummary`] a session ends with, and each thread's current scope.

pub(crate) mod current;
pub(crate) mod handle;
pub(crate) mod record;
pub(crate) mod scope;
pub(crate) mod state;
pub(crate) mod summary;
