//! Each thread's current scope.
//!
//! The current scope of a thread. Entering a scope ([`Scope::enter`](crate::Scope::enter), and the
//! closure helpers `action` and `agent` for the duration of their closure) makes
//! it current on this thread until its guard is dropped. What records without a
//! handle ([`agentops::record`](crate::record), the `tracing` bridge) records
//! there, and recording on a [`Session`](crate::Session) handle while one of that
//! session's scopes is current on this thread nests under that scope.
//!
//! The rule is per thread: a scope entered on one thread is not current on
//! another (hand the scope itself to the other thread, and enter it there).
//! Guards may be dropped in any order; the current scope is always the most
//! recently entered one whose guard is still alive.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::state::{OpenScope, SessionInner};

/// An entered scope: its session and its open action or agent (`None`: the root).
pub(crate) type Entered = (Arc<SessionInner>, Option<Arc<OpenScope>>);

/// Guards alive on all threads: while none is, recording skips the thread-local
/// lookup (one relaxed load of a line that is only read).
static GUARDS_ALIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The entered scopes of this thread, oldest first, each with its guard's number.
    static ENTERED: RefCell<Vec<(u64, Entered)>> = const { RefCell::new(Vec::new()) };
    static NEXT_GUARD: Cell<u64> = const { Cell::new(0) };
}

/// Keeps a scope current on this thread while it lives (see [`Scope::enter`](crate::Scope::enter)).
/// Not `Send`: it belongs to the thread that entered.
#[must_use = "the scope is current only while the guard lives"]
#[derive(Debug)]
pub struct ScopeGuard {
    id: u64,
    _same_thread: PhantomData<*const ()>,
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        GUARDS_ALIVE.fetch_sub(1, Ordering::Relaxed);
        // During thread teardown the list may already be gone; nothing to undo then.
        let _ = ENTERED.try_with(|e| {
            let mut e = e.borrow_mut();
            if let Some(at) = e.iter().rposition(|(id, _)| *id == self.id) {
                e.remove(at);
            }
        });
    }
}

/// Makes the scope current on this thread until the guard is dropped.
pub(crate) fn enter(scope: Entered) -> ScopeGuard {
    let id = NEXT_GUARD.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    ENTERED.with(|e| e.borrow_mut().push((id, scope)));
    GUARDS_ALIVE.fetch_add(1, Ordering::Relaxed);
    ScopeGuard { id, _same_thread: PhantomData }
}

/// The current scope of this thread, if any.
pub(crate) fn current() -> Option<Entered> {
    ENTERED.try_with(|e| e.borrow().last().map(|(_, s)| s.clone())).ok().flatten()
}

/// The open scope of `session` that is current on this thread, if the current
/// scope belongs to that session (and is not its root).
#[inline]
pub(crate) fn current_open_in(session: &Arc<SessionInner>) -> Option<Arc<OpenScope>> {
    // This thread's own guards are counted too, so a zero here means none of them lives.
    if GUARDS_ALIVE.load(Ordering::Relaxed) == 0 {
        return None;
    }
    entered_open_in(session)
}

#[cold]
fn entered_open_in(session: &Arc<SessionInner>) -> Option<Arc<OpenScope>> {
    ENTERED
        .try_with(|e| {
            let e = e.borrow();
            let (_, (top_session, top_open)) = e.last()?;
            if Arc::ptr_eq(top_session, session) {
                top_open.clone()
            } else {
                None
            }
        })
        .ok()
        .flatten()
}
