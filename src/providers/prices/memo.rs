//! The price of the last model priced on a thread, so that a loop recording one
//! model's calls does not look its price up again for each of them.
//!
//! Names are compared by address first: a model named by a literal
//! (`LlmEvent::new("gpt-4o")`, what agents mostly write) is a `&'static str`, which
//! never changes, so the same address and length are the same name and the
//! caller's thread reads no byte of either name. Other names are compared by
//! content.

use std::borrow::Cow;
use std::cell::RefCell;

use super::price::ModelPrice;
use super::table::PriceTable;
use crate::event::LlmEvent;

/// The last lookup on this thread: which table, which names, what it found.
struct Memo {
    table: u64,
    model: Cow<'static, str>,
    response_model: Option<Cow<'static, str>>,
    price: Option<ModelPrice>,
}

thread_local! {
    static LAST: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// Whether two names are the same; two literals at one address are, unread.
#[allow(clippy::ptr_arg)] // the `Cow`s' variants are the point, not only their text
fn same(a: &Cow<'static, str>, b: &Cow<'static, str>) -> bool {
    match (a, b) {
        (Cow::Borrowed(a), Cow::Borrowed(b)) if a.as_ptr() == b.as_ptr() && a.len() == b.len() => true,
        _ => a == b,
    }
}

impl Memo {
    fn holds(&self, table: u64, e: &LlmEvent) -> bool {
        self.table == table
            && same(&self.model, &e.model)
            && match (&self.response_model, &e.response_model) {
                (None, None) => true,
                (Some(a), Some(b)) => same(a, b),
                _ => false,
            }
    }
}

impl PriceTable {
    /// Like [`cost`](Self::cost), for the caller's thread when an event is
    /// recorded: the last (table, model) priced on this thread is remembered.
    pub(crate) fn cost_memoized(&self, e: &LlmEvent) -> Option<f64> {
        if e.input_tokens.is_none() && e.output_tokens.is_none() {
            return None;
        }
        let table = self.id;
        let price = LAST.with_borrow_mut(|last| match last {
            Some(m) if m.holds(table, e) => m.price,
            _ => {
                let price = self.price_of(e);
                // Cloning a literal's `Cow` copies a pointer; an owned name is copied.
                *last = Some(Memo { table, model: e.model.clone(), response_model: e.response_model.clone(), price });
                price
            }
        });
        price?.cost(e)
    }
}
