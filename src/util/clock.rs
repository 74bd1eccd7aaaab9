//! The wall-clock time of spans and events, cheaply.
//!
//! Every recorded event reads the clock twice (its start when it is built, its end
//! when it is recorded), and `SystemTime::now()` (the vDSO's `clock_gettime`) costs
//! ≈34 ns on the machine this was measured on: a tenth of a `record` call. Where
//! the kernel itself keeps time with the CPU's time-stamp counter (clocksource
//! `tsc`, which Linux selects only when the counter is invariant and synchronized
//! across cores), reading the counter costs ≈10 ns, and each thread turns it into
//! wall-clock time from an anchor: a (counter, `SystemTime`) pair it takes again
//! at least every millisecond, with the counter's rate measured between anchors a
//! millisecond or more apart. Between anchors the error is the rate's over at most
//! a millisecond (well under a microsecond once the rate is known); every anchor
//! follows the system clock, steps included. A thread's readings never go back by
//! the small amount a new anchor may correct. Elsewhere (another clocksource, other
//! systems and CPUs) this is `SystemTime::now()`.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long an anchor is used: the longest extrapolation.
const ANCHOR_NS: u64 = 1_000_000;
/// The shortest window a rate is measured over, and the longest.
const RATE_WINDOW_NS: (u64, u64) = (1_000_000, 10_000_000_000);
/// A reading of the system clock whose bracketing counter reads lie further apart
/// than this (the thread was preempted between them) does not measure the rate.
const CLEAN_READ_TICKS: u64 = 100_000;
/// A rate further than this (a fraction, in 1/1024) from the one known is a clock
/// step or a preemption, not the counter's rate.
const RATE_TOLERANCE: u64 = 50;
/// A new anchor behind a thread's last reading by less than this is the old
/// anchor's extrapolation error, not a step of the clock: readings stay put.
const KEEP_MONOTONIC_NS: u64 = 100_000;

/// Nanoseconds per counter tick, in 32.32 fixed point, shared by all threads;
/// 0 until a thread has measured it.
static RATE: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static STATE: Cell<Anchored> = const { Cell::new(Anchored::NEW) };
}

/// The current wall-clock time (see the module's documentation).
pub(crate) fn now() -> SystemTime {
    if !counter_keeps_time() {
        return SystemTime::now();
    }
    let tick = read_counter();
    let ns = STATE.with(|s| {
        let mut state = s.get();
        let ns = state.read(tick, wall_clock_read, &RATE);
        s.set(state);
        ns
    });
    UNIX_EPOCH + Duration::from_nanos(ns)
}

/// Whether the kernel keeps time with the time-stamp counter (checked once).
fn counter_keeps_time() -> bool {
    static TSC: OnceLock<bool> = OnceLock::new();
    *TSC.get_or_init(|| {
        cfg!(all(target_arch = "x86_64", target_os = "linux"))
            && std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
                .is_ok_and(|s| s.trim() == "tsc")
            && SystemTime::now().duration_since(UNIX_EPOCH).is_ok()
    })
}

#[cfg(target_arch = "x86_64")]
fn read_counter() -> u64 {
    // SAFETY: RDTSC exists on every x86_64 CPU; it reads a counter, nothing else.
    unsafe { std::arch::x86_64::_rdtsc() }
}

/// Never called: the counter keeps time only on x86_64.
#[cfg(not(target_arch = "x86_64"))]
fn read_counter() -> u64 {
    0
}

/// The system clock in nanoseconds since 1970, bracketed by two counter reads:
/// (counter at the middle, nanoseconds, whether the bracket is tight).
fn wall_clock_read() -> (u64, u64, bool) {
    let before = read_counter();
    let ns = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let after = read_counter();
    let gap = after.wrapping_sub(before);
    (before.wrapping_add(gap / 2), ns, gap < CLEAN_READ_TICKS)
}

/// A thread's anchor and the start of its current rate window.
#[derive(Clone, Copy, Debug)]
struct Anchored {
    /// Counter and nanoseconds of the anchor.
    tick: u64,
    ns: u64,
    /// Ticks the anchor is used for (0: read the system clock every time).
    span: u64,
    /// The rate the anchor extrapolates with (32.32 ns per tick).
    rate: u64,
    /// The last reading given.
    last: u64,
    /// Where the current rate window began (0 ns: not begun).
    window: (u64, u64),
}

impl Anchored {
    const NEW: Anchored = Anchored { tick: 0, ns: 0, span: 0, rate: 0, last: 0, window: (0, 0) };

    /// The time at counter `tick`, anchoring again (with `wall`: see
    /// [`wall_clock_read`]) when the anchor is too old; `rate` is the shared rate.
    fn read(&mut self, tick: u64, wall: impl FnOnce() -> (u64, u64, bool), rate: &AtomicU64) -> u64 {
        let since = tick.wrapping_sub(self.tick);
        let ns = if since < self.span {
            self.ns + ((u128::from(since) * u128::from(self.rate)) >> 32) as u64
        } else {
            self.anchor(wall(), rate)
        };
        // Behind the last reading by a little: the previous anchor ran fast.
        let ns = if ns < self.last && self.last - ns < KEEP_MONOTONIC_NS { self.last } else { ns };
        self.last = ns;
        ns
    }

    fn anchor(&mut self, (tick, ns, clean): (u64, u64, bool), rate: &AtomicU64) -> u64 {
        if clean {
            self.measure_rate(tick, ns, rate);
        }
        let known = rate.load(Ordering::Relaxed);
        self.tick = tick;
        self.ns = ns;
        self.rate = known;
        self.span = if known == 0 {
            0
        } else {
            (u128::from(ANCHOR_NS) << 32).checked_div(u128::from(known)).unwrap_or(0) as u64
        };
        ns
    }

    /// Closes the rate window when it is long enough and folds its rate into the
    /// shared one.
    fn measure_rate(&mut self, tick: u64, ns: u64, rate: &AtomicU64) {
        let (start_tick, start_ns) = self.window;
        let elapsed = ns.wrapping_sub(start_ns);
        if start_ns == 0 || ns < start_ns || elapsed > RATE_WINDOW_NS.1 {
            self.window = (tick, ns);
            return;
        }
        if elapsed < RATE_WINDOW_NS.0 {
            return;
        }
        self.window = (tick, ns);
        let ticks = tick.wrapping_sub(start_tick);
        if ticks == 0 || ticks > u64::MAX / 2 {
            return;
        }
        let measured = ((u128::from(elapsed) << 32) / u128::from(ticks)).min(u128::from(u64::MAX)) as u64;
        let known = rate.load(Ordering::Relaxed);
        if known == 0 {
            rate.store(measured, Ordering::Relaxed);
        } else if measured.abs_diff(known) <= known / 1024 * RATE_TOLERANCE {
            // A moving average: each window's read jitter counts for an eighth.
            rate.store(known - known / 8 + measured / 8, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulated machine: a counter at `ghz` ticks per nanosecond, a system
    /// clock that may step.
    struct Machine {
        ns: u64,
        ghz: f64,
        offset: i64,
    }

    impl Machine {
        fn tick(&self) -> u64 {
            // Counted from the start, where an f64 still holds every tick.
            ((self.ns - START) as f64 * self.ghz) as u64 + 12_345
        }
        fn wall(&self) -> (u64, u64, bool) {
            (self.tick(), self.ns.wrapping_add_signed(self.offset), true)
        }
    }

    const START: u64 = 1_700_000_000_000_000_000;

    #[test]
    fn readings_follow_the_clock_within_a_fraction_of_a_microsecond_once_the_rate_is_known() {
        let rate = AtomicU64::new(0);
        let mut m = Machine { ns: START, ghz: 2.994_123, offset: 0 };
        let mut a = Anchored::NEW;
        let mut anchors = 0;
        for step in 0..200_000u64 {
            m.ns += 250 + step % 97;
            let got = a.read(
                m.tick(),
                || {
                    anchors += 1;
                    m.wall()
                },
                &rate,
            );
            if step > 20_000 {
                assert!(got.abs_diff(m.ns) < 200, "step {step}: {got} vs {}", m.ns);
            }
        }
        // About one anchor per millisecond once the rate was learned (the first
        // millisecond reads the clock every time).
        assert!(anchors < 5_000, "{anchors} anchors");
        let learned = rate.load(Ordering::Relaxed) as f64 / 4_294_967_296.0;
        assert!((learned * 2.994_123 - 1.0).abs() < 1e-6, "{learned}");
    }

    #[test]
    fn a_step_of_the_system_clock_is_followed_at_the_next_anchor() {
        let rate = AtomicU64::new(0);
        let mut m = Machine { ns: START, ghz: 3.0, offset: 0 };
        let mut a = Anchored::NEW;
        for _ in 0..20_000 {
            m.ns += 300;
            a.read(m.tick(), || m.wall(), &rate);
        }
        let known = rate.load(Ordering::Relaxed);
        // Back by a second, then forward by an hour.
        for offset in [-1_000_000_000i64, 3_600_000_000_000] {
            m.offset = offset;
            let mut got = 0;
            for _ in 0..5_000 {
                m.ns += 300;
                got = a.read(m.tick(), || m.wall(), &rate);
            }
            assert!(got.abs_diff(m.ns.wrapping_add_signed(offset)) < 200, "offset {offset}");
            assert_eq!(rate.load(Ordering::Relaxed), known, "a step is not a rate");
        }
    }

    #[test]
    fn readings_never_go_back_by_an_anchors_correction() {
        // The shared rate is 1% fast: every extrapolation runs ahead, and each new
        // anchor would pull the reading back.
        let rate = AtomicU64::new(((1u64 << 32) as f64 / 3.0 * 1.01) as u64);
        let mut m = Machine { ns: START, ghz: 3.0, offset: 0 };
        let mut a = Anchored::NEW;
        let mut last = 0;
        for _ in 0..100_000 {
            m.ns += 300;
            let got = a.read(m.tick(), || (m.tick(), m.ns, false), &rate);
            assert!(got >= last);
            last = got;
        }
    }

    #[test]
    fn the_real_clock_stays_between_two_system_clock_readings() {
        let slack = Duration::from_micros(200);
        for i in 0..100_000 {
            let before = SystemTime::now();
            let got = now();
            let after = SystemTime::now();
            assert!(got + slack >= before && got <= after + slack, "{i}: {got:?} not in [{before:?}, {after:?}]");
            if i % 10_000 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}
