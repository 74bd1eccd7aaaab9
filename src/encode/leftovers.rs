//! `Leftovers`: what encoded events leave behind that their spans do not keep.

use serde_json::Value as Json;

use crate::event::content::Content;

/// What events brought, allocated on the callers' threads, that their spans do not
/// keep: prompts and completions (the span holds their messages JSON) and JSON
/// values (the span holds their text). The encoder does not free them: the export
/// thread frees them in bulk, so as not to contend with callers' allocations (see
/// "Freeing callers' memory" in `pipeline/reclaim.rs`).
#[derive(Default)]
pub(crate) struct Leftovers {
    pub(crate) contents: Vec<Content>,
    /// Nested at most `MAX_JSON_DEPTH`, so their recursive drop is safe.
    pub(crate) values: Vec<Json>,
}

impl Leftovers {
    pub fn clear(&mut self) {
        self.contents.clear();
        self.values.clear();
        // After a burst, give back the lists' own memory too.
        self.contents.shrink_to(4096);
        self.values.shrink_to(4096);
    }
}
