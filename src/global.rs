//! The global client, as `sentry::init` and the Python SDK's `agentops.init()` set
//! one up: [`init`] / [`init_from_env`] install a [`Client`] that the free
//! functions ([`start_session`], [`record`], [`flush`], [`shutdown`]) use, and
//! return an [`InitGuard`] that flushes and shuts the client down (bounded) when
//! it is dropped, so returning from `main` exports everything.

use std::sync::OnceLock;
use std::time::Duration;

use parking_lot::RwLock;

use crate::client::Client;
use crate::config::otel::OtelConfig;
use crate::error::Error;
use crate::event::{Event, EventRef};
use crate::session::handle::Session;
use crate::session::record::panic_message;
use crate::session::scope::Scope;
use crate::session::summary::EndState;

static GLOBAL: RwLock<Option<Client>> = parking_lot::const_rwlock(None);

/// Keeps the global client installed; dropping it flushes, shuts the client down
/// within its shutdown timeout ([`OtelConfigBuilder::shutdown_timeout`](crate::OtelConfigBuilder::shutdown_timeout),
/// default 5 s) and uninstalls it. Keep it in `main`, for as long as the program
/// records:
///
/// ```no_run
/// // first thing in main:
/// let _agentops = agentops::init_from_env();
/// let session = agentops::start_session(&["cli"]);
/// // … record, end …
/// // returning from main drops the guard: everything recorded is exported,
/// // within the shutdown timeout
/// ```
///
/// `std::process::exit` runs no destructors, so the guard's shutdown does not run
/// and what is still queued is lost: call [`shutdown`] before it (it ends the
/// sessions still open, then exports). A signal that terminates the process
/// (SIGINT, SIGTERM) runs nothing either, unless
/// [`end_sessions_on_signal`](Self::end_sessions_on_signal) was asked for.
#[must_use = "dropping the guard shuts the global client down at once"]
#[derive(Debug)]
pub struct InitGuard {
    client: Client,
}

impl InitGuard {
    /// The installed client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Installs a panic hook (chained before the one already installed) that ends
    /// every open session of the global client as `Fail`, with the panic's
    /// message, and flushes within the shutdown timeout, so a panic that ends the
    /// process loses nothing. For programs where a panic is fatal: a panic caught
    /// with `catch_unwind` also ends the sessions. Once the guard is dropped the
    /// hook finds no client and only passes the panic on.
    pub fn end_sessions_on_panic(self) -> Self {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // The global client at the time of the panic: the hook keeps none alive.
            let Some(client) = client() else { return previous(info) };
            let message = panic_message(info.payload());
            client.end_open_sessions(EndState::Fail, &format!("panic: {message}"));
            if let Err(e) = client.flush(client.shutdown_timeout()) {
                log::warn!(target: "agentops", "flush at panic: {e}");
            }
            previous(info);
        }));
        self
    }
}

#[cfg(unix)]
impl InitGuard {
    /// On SIGINT or SIGTERM, ends every open session of the global client as `Fail`
    /// (reason `interrupted`), shuts the client down within its shutdown timeout,
    /// and then lets the signal do what it would have done without this (terminate
    /// the process, as if killed by it). The signals are watched by a thread of its
    /// own (`agentops-signal`), so nothing runs in a signal handler. Opt-in: a
    /// program that handles these signals itself should call [`shutdown`] from its
    /// own handling instead.
    ///
    /// # Errors
    /// [`Error::Thread`] when the signals cannot be watched or the thread cannot
    /// start.
    pub fn end_sessions_on_signal(self) -> Result<Self, Error> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(Error::Thread)?;
        std::thread::Builder::new()
            .name("agentops-signal".into())
            .spawn(move || {
                let Some(signal) = signals.forever().next() else { return };
                if let Some(client) = client() {
                    client.end_open_sessions(EndState::Fail, "interrupted");
                    if let Err(e) = client.shutdown(client.shutdown_timeout()) {
                        crate::util::say::say(log::Level::Warn, format_args!("shutdown at a signal: {e}"));
                    }
                }
                // Terminates the process as the signal's default action does.
                let _ = signal_hook::low_level::emulate_default_handler(signal);
            })
            .map_err(Error::Thread)?;
        Ok(self)
    }
}

impl Drop for InitGuard {
    fn drop(&mut self) {
        if let Err(e) = self.client.shutdown(self.client.shutdown_timeout()) {
            log::warn!(target: "agentops", "shutdown of the global client: {e}");
        }
        let mut global = GLOBAL.write();
        if global.as_ref().is_some_and(|c| c.same_as(&self.client)) {
            *global = None;
        }
    }
}

fn install(client: Client) -> InitGuard {
    if GLOBAL.write().replace(client.clone()).is_some() {
        log::warn!(target: "agentops", "agentops::init called again: the new client replaces the global one");
    }
    InitGuard { client }
}

/// Installs a client for `config` as the global client.
///
/// # Errors
/// As [`Client::new`]: a local resource (the traces file) cannot be had, or a
/// background thread cannot be started.
pub fn init(config: OtelConfig) -> Result<InitGuard, Error> {
    Ok(install(Client::new(config)?))
}

/// Installs a client configured from the environment as the global client.
/// Fail-safe, as the Python SDK's `fail_safe`: an invalid variable (or a file that
/// cannot be opened) is reported once as an error — to the application's logger,
/// or to stderr when it has none that shows errors — and telemetry runs disabled,
/// rather than stopping the application. [`Client::from_env`] is the strict form.
pub fn init_from_env() -> InitGuard {
    let client = Client::from_env().unwrap_or_else(|e| {
        crate::util::say::say(log::Level::Error, format_args!("telemetry is disabled: {e}"));
        disabled().clone()
    });
    install(client)
}

/// A client that records nothing, for sessions started with no global client.
fn disabled() -> &'static Client {
    static DISABLED: OnceLock<Client> = OnceLock::new();
    DISABLED.get_or_init(|| {
        let config = OtelConfig::builder().disabled(true).build().expect("the disabled configuration is valid");
        Client::new(config).expect("a disabled client starts no thread and opens no file")
    })
}

/// The global client, if one is installed.
pub fn client() -> Option<Client> {
    GLOBAL.read().clone()
}

/// Starts a session on the global client. Without one (no [`init`], or after its
/// guard was dropped) the session still counts and summarizes, and exports nothing.
pub fn start_session<S: AsRef<str>>(tags: &[S]) -> Session {
    match client() {
        Some(c) => c.start_session(tags),
        None => disabled().start_session(tags),
    }
}

/// Records `event` into this thread's current scope (see [`Scope::enter`]);
/// `None`, and nothing recorded, when no scope is current on this thread.
pub fn record(event: impl Into<Event>) -> Option<EventRef> {
    Scope::current().map(|scope| scope.record(event))
}

/// This thread's current scope, if one was entered (see [`Scope::enter`]).
pub fn current_scope() -> Option<Scope> {
    Scope::current()
}

/// Flushes the global client (see [`Client::flush`]); `Ok` when there is none.
///
/// # Errors
/// As [`Client::flush`].
pub fn flush(timeout: Duration) -> Result<(), Error> {
    client().map_or(Ok(()), |c| c.flush(timeout))
}

/// Ends the global client's sessions still open (`Indeterminate`, reason
/// `shut down before the session ended`) and shuts it down (see
/// [`Client::shutdown`]): the call before `std::process::exit`, which runs no
/// destructors. `Ok` when there is no global client. The guard's drop shuts down
/// too.
///
/// # Errors
/// As [`Client::shutdown`].
pub fn shutdown(timeout: Duration) -> Result<(), Error> {
    client().map_or(Ok(()), |c| {
        c.end_open_sessions(EndState::Indeterminate, "shut down before the session ended");
        c.shutdown(timeout)
    })
}
