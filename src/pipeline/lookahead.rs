//! The export queue read a few messages ahead: each message taken from the channel
//! has its box prefetched (`util/prefetch.rs`), so it is in cache by the time the
//! export thread handles it, a few messages later. Taken messages count as received
//! at once, so the pipeline's accounting still sees them as queued.

use std::collections::VecDeque;
use std::sync::Arc;

use crossbeam_channel::{Receiver, TryRecvError};

use super::message::Message;
use crate::stats::Counters;
use crate::util::prefetch::prefetch;

/// How many messages are read ahead.
const AHEAD: usize = 8;

pub(crate) struct Lookahead {
    rx: Receiver<Message>,
    ahead: VecDeque<Message>,
    counters: Arc<Counters>,
}

impl Lookahead {
    pub fn new(rx: Receiver<Message>, counters: Arc<Counters>) -> Self {
        Lookahead { rx, ahead: VecDeque::with_capacity(AHEAD), counters }
    }

    /// The next message, in queue order, as `Receiver::try_recv` gives it.
    pub fn try_recv(&mut self) -> Result<Message, TryRecvError> {
        while self.ahead.len() < AHEAD {
            match self.rx.try_recv() {
                Ok(m) => {
                    match &m {
                        Message::Event(e) => {
                            Counters::add(&self.counters.received, 1);
                            prefetch(&**e);
                        }
                        Message::Span(s) => {
                            Counters::add(&self.counters.received, 1);
                            prefetch(&**s);
                        }
                        _ => {}
                    }
                    self.ahead.push_back(m);
                }
                Err(e) if self.ahead.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        self.ahead.pop_front().ok_or(TryRecvError::Empty)
    }

    /// Messages not handled yet, read ahead or still in the channel.
    pub fn len(&self) -> usize {
        self.ahead.len() + self.rx.len()
    }
}
