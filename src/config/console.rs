//! `ConsoleMode`: how much the console exporter prints.

/// How much the console exporter prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsoleMode {
    /// One line per finished session.
    Summary,
    /// Every session as a tree of its spans.
    Tree,
}
