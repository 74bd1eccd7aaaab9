//! Freeing callers' memory.
//!
//! A recorded event's box and the parts its span does not keep (prompts,
//! completions, JSON values: `Leftovers`) were allocated on the caller's thread.
//! With glibc, freeing them on the export thread takes the caller's malloc arena
//! lock, which a caller recording in a loop holds most of the time: measured on a
//! 100k-event burst, 96% of the export thread's context switches were waits on that
//! lock, and it drained 2% of the burst while the burst lasted. So they are set
//! aside here and freed in bulk when the export thread is about to sleep (it has
//! caught up), when as many as `max_queue_size` events' worth are waiting
//! (sustained overload), and at shutdown.

use crate::encode::leftovers::Leftovers;
use crate::encode::recorded::RecordedEvent;

/// What encoded events leave behind that a caller's thread allocated.
#[derive(Default)]
pub(crate) struct Spent {
    // The boxes themselves are what is kept: each is a caller's allocation.
    #[allow(clippy::vec_box)]
    pub boxes: Vec<Box<Option<RecordedEvent>>>,
    pub leftovers: Leftovers,
}

impl Spent {
    pub fn free(&mut self) {
        self.boxes.clear();
        self.boxes.shrink_to(4096);
        self.leftovers.clear();
    }
}
