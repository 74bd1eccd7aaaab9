//! Freeing callers' memory where it was allocated.
//!
//! A recorded event (its box, prompt, completion, JSON values) was allocated on
//! the caller's thread. Freed on the export thread, it goes back to the caller's
//! malloc arena (glibc) under that arena's lock, which a caller recording in a
//! loop holds most of the time, so the two threads wait for each other on futexes.
//! And a caller that never gets its memory back grows its arena page by page (an
//! `mprotect` per 4 KiB in a thread's arena, and a page fault each): most of a
//! caller's time in a burst went to the kernel (`benches/RESULTS.md`).
//!
//! So an event whose span is written goes home: the export thread puts it in
//! [`ReturnQueue`], and callers free a few returned events every few events they
//! record (`Pipeline::submit`), on their own thread, where their next allocations
//! reuse the memory at once. What the return queue cannot take waits in [`FreeBacklog`],
//! freed in bulk when the export thread has caught up (or holds a queue's worth);
//! returned events no caller picked up are freed by the export thread once callers
//! have been idle for a scheduled delay.

use std::cell::Cell;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::encode::json::{drop_iteratively, json_depth, MAX_JSON_DEPTH};
use crate::event::recorded::RecordedEvent;
use crate::event::Event;
use crate::util::touch::touch;

/// Callers free returned events this many at a time, once every this many events
/// they record: most calls free nothing (the median call stays as cheap as
/// before), and the return queue drains as fast as it fills.
const FREE_EVERY: u32 = 8;

/// The most events waiting to go home: a few batches' worth.
const RETURNS_MAX: usize = 4096;

/// A written event's box, with everything the caller allocated still in it.
pub(crate) type Written = Box<RecordedEvent>;

/// The queue of events going home.
#[derive(Debug, Clone)]
pub(crate) struct ReturnQueue {
    tx: Sender<Written>,
    rx: Receiver<Written>,
}

thread_local! {
    /// Events this thread recorded since it last freed returned ones.
    static SINCE_FREE: Cell<u32> = const { Cell::new(0) };
}

impl ReturnQueue {
    /// A queue for a pipeline whose export queue holds `queue_size` events.
    pub fn new(queue_size: usize) -> Self {
        let (tx, rx) = bounded(queue_size.clamp(1, RETURNS_MAX));
        ReturnQueue { tx, rx }
    }

    /// On a caller's thread, as it records: every `FREE_EVERY`th event, frees up to
    /// `FREE_EVERY` returned events.
    pub fn free_some(&self) {
        let since = SINCE_FREE.with(|n| {
            n.set((n.get() + 1) % FREE_EVERY);
            n.get()
        });
        if since == 0 {
            for event in self.rx.try_iter().take(FREE_EVERY as usize) {
                touch_texts(&event);
                drop(event);
            }
        }
    }

    /// On the export thread: sends `event` home, or gives it back when the queue is
    /// full.
    fn send(&self, event: Written) -> Result<(), Written> {
        self.tx.try_send(event).map_err(|e| e.into_inner())
    }

    /// Frees what no caller picked up (on the export thread, callers being idle).
    fn free_all(&self) {
        for event in self.rx.try_iter() {
            drop(event);
        }
    }
}

/// The export thread's side: written events go home, or wait here.
#[derive(Debug)]
pub(crate) struct FreeBacklog {
    returns: ReturnQueue,
    /// Written events the return queue could not take, freed in bulk.
    held: Vec<Written>,
    /// How many may be held before they are freed anyway (the export queue's size).
    limit: usize,
    /// The events received when callers were last checked for being idle.
    received_at_check: u64,
}

impl FreeBacklog {
    pub fn new(returns: ReturnQueue, limit: usize) -> Self {
        FreeBacklog { returns, held: Vec::new(), limit, received_at_check: 0 }
    }

    /// An event whose span is written.
    pub fn push(&mut self, mut event: Written) {
        free_deep_json(&mut event.event);
        if let Err(event) = self.returns.send(event) {
            self.held.push(event);
            if self.held.len() >= self.limit {
                self.free();
            }
        }
    }

    /// Frees the events held here (the export thread has caught up, or shuts down).
    pub fn free(&mut self) {
        self.held.clear();
        self.held.shrink_to(4096);
    }

    /// At each scheduled export: when no event arrived since the last one, callers
    /// are idle and will not free what was returned to them, so it is freed here.
    pub fn check_idle(&mut self, received: u64) {
        if received == self.received_at_check {
            self.returns.free_all();
            self.free();
        }
        self.received_at_check = received;
    }

    /// At shutdown: everything.
    pub fn free_everything(&mut self) {
        self.returns.free_all();
        self.free();
    }
}

/// Reads ahead the texts that freeing `event` gives back to this thread's
/// allocator, which its next events reuse: the export thread read them last.
fn touch_texts(event: &Written) {
    if let Event::Llm(e) = &event.event {
        for c in [&e.prompt, &e.completion].into_iter().flatten() {
            if let crate::event::Content::Text(t) = c {
                touch(t.as_bytes());
            }
        }
    }
}

/// Takes JSON nested deeper than the encoder reads out of `event` and frees it here,
/// without recursion: serde_json's own drop recurses, so hostile nesting freed on a
/// caller's thread could overflow its stack.
fn free_deep_json(event: &mut Event) {
    fn free_if_deep(v: &mut Option<serde_json::Value>) {
        if v.as_ref().is_some_and(|v| json_depth(v) > MAX_JSON_DEPTH) {
            drop_iteratively(v.take().unwrap_or_default());
        }
    }
    match event {
        Event::Llm(e) => free_if_deep(&mut e.params),
        Event::Tool(e) => {
            free_if_deep(&mut e.params);
            free_if_deep(&mut e.returns);
        }
        Event::Action(e) => {
            free_if_deep(&mut e.params);
            free_if_deep(&mut e.returns);
        }
        Event::Agent(_) | Event::Error(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceId};
    use serde_json::Value as Json;

    use super::*;
    use crate::event::recorded::Placement;
    use crate::event::{LlmEvent, ToolEvent};

    fn written(event: Event) -> Written {
        let placement = Placement { trace_id: TraceId::from(1u128), parent_span_id: SpanId::INVALID, agent_id: None };
        Box::new(RecordedEvent { event, placement, errored: false })
    }

    fn nested(depth: usize) -> Json {
        (0..depth).fold(Json::Null, |v, _| Json::Array(vec![v]))
    }

    #[test]
    fn written_events_go_home_and_callers_free_them_a_few_at_a_time() {
        let returns = ReturnQueue::new(16);
        let mut free_backlog = FreeBacklog::new(returns.clone(), 100);
        for _ in 0..20 {
            free_backlog.push(written(LlmEvent::new("m").prompt("p").into()));
        }
        // The queue took 16; the rest wait for a bulk free.
        assert_eq!((returns.rx.len(), free_backlog.held.len()), (16, 4));
        // One call in `FREE_EVERY` frees `FREE_EVERY` of them.
        SINCE_FREE.with(|n| n.set(0));
        for _ in 0..FREE_EVERY - 1 {
            returns.free_some();
        }
        assert_eq!(returns.rx.len(), 16);
        returns.free_some();
        assert_eq!(returns.rx.len(), 16 - FREE_EVERY as usize);
        free_backlog.free();
        assert!(free_backlog.held.is_empty());
    }

    #[test]
    fn what_idle_callers_leave_is_freed_by_the_export_thread() {
        let returns = ReturnQueue::new(16);
        let mut free_backlog = FreeBacklog::new(returns.clone(), 100);
        free_backlog.check_idle(5);
        free_backlog.push(written(LlmEvent::new("m").into()));
        // Events arrived since the last check: callers are recording, and free it.
        free_backlog.check_idle(6);
        assert_eq!(returns.rx.len(), 1);
        // None since: they are idle.
        free_backlog.check_idle(6);
        assert_eq!(returns.rx.len(), 0);
    }

    #[test]
    fn a_full_hold_is_freed_at_once() {
        let returns = ReturnQueue::new(1);
        let mut free_backlog = FreeBacklog::new(returns.clone(), 3);
        for _ in 0..3 {
            free_backlog.push(written(LlmEvent::new("m").into()));
        }
        assert_eq!((returns.rx.len(), free_backlog.held.len()), (1, 2));
        free_backlog.push(written(LlmEvent::new("m").into()));
        assert_eq!((returns.rx.len(), free_backlog.held.len()), (1, 0), "the third held one freed all");
    }

    #[test]
    fn hostile_nesting_is_freed_before_the_event_goes_home() {
        let returns = ReturnQueue::new(4);
        let mut free_backlog = FreeBacklog::new(returns.clone(), 100);
        let mut tool = ToolEvent::new("t");
        tool.params = Some(nested(200_000));
        tool.returns = Some(nested(3));
        free_backlog.push(written(tool.into()));
        let home = returns.rx.try_recv().unwrap();
        let Event::Tool(t) = &home.event else { unreachable!() };
        assert_eq!(t.params, None, "freed here, iteratively");
        assert_eq!(t.returns, Some(nested(3)), "shallow values go home whole");
        // Dropped here recursively: safe now.
        drop(home);
    }
}
