//! The reactor: one `polling::Poller`, the source registry and the park state.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Duration;

use eddy_core::{Park, Unpark};
use polling::{Event, Events, PollMode, Poller};

use crate::source::{READ_CLOSED, READABLE, Source, WRITABLE};

/// Park states. `PARKED` and `DISPATCHING` are only ever set by the parking
/// thread; `NOTIFIED` is or-ed in by unparkers.
const IDLE: u8 = 0;
/// The parking thread is inside (or about to enter) `Poller::wait`.
const PARKED: u8 = 0b001;
/// An unpark arrived that the parking thread has not consumed yet.
const NOTIFIED: u8 = 0b010;
/// The parking thread is dispatching events and will return without blocking.
const DISPATCHING: u8 = 0b100;

/// The poller key of the reactor's own unpark eventfd (Linux). Source keys
/// stay below `2^63` (see `GEN_MASK`), and polling reserves `usize::MAX`.
#[cfg(any(target_os = "linux", target_os = "android"))]
const UNPARK_KEY: usize = usize::MAX - 1;

/// Longest single wait: older kernels reject `epoll_wait` timeouts past
/// `i32::MAX` milliseconds; a longer park just returns early (allowed).
#[cfg(any(target_os = "linux", target_os = "android"))]
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Slot indices use the low 32 bits of a poller key and a generation the high
/// bits (on 64-bit targets), so an event already collected for a source that
/// was deregistered meanwhile cannot be delivered to a new source that reuses
/// its slot.
const INDEX_BITS: u32 = if usize::BITS >= 64 { 32 } else { usize::BITS };
const INDEX_MASK: usize = if usize::BITS >= 64 {
    (1 << INDEX_BITS) - 1
} else {
    usize::MAX
};
/// Keeps generated keys below `usize::MAX`, which polling reserves.
const GEN_MASK: usize = if usize::BITS >= 64 { (1 << 31) - 1 } else { 0 };

/// A slab of sources keyed by poller key.
#[derive(Default)]
pub(crate) struct Registry {
    slots: Vec<Slot>,
    free: Vec<usize>,
    len: usize,
}

#[derive(Default)]
struct Slot {
    generation: usize,
    source: Option<Arc<Source>>,
}

impl Registry {
    /// Reserves a slot and returns the source created for its key.
    pub(crate) fn insert(&mut self) -> Arc<Source> {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::default());
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        let key = index | (slot.generation << INDEX_BITS);
        let source = Arc::new(Source::new(key));
        slot.source = Some(source.clone());
        self.len += 1;
        source
    }

    pub(crate) fn get(&self, key: usize) -> Option<&Arc<Source>> {
        let slot = self.slots.get(key & INDEX_MASK)?;
        let source = slot.source.as_ref()?;
        (source.key == key).then_some(source)
    }

    /// Removes the source with `key`; `false` if it was not registered.
    pub(crate) fn remove(&mut self, key: usize) -> bool {
        let index = key & INDEX_MASK;
        match self.slots.get_mut(index) {
            Some(slot) if slot.source.as_ref().is_some_and(|s| s.key == key) => {
                slot.source = None;
                slot.generation = (slot.generation + 1) & GEN_MASK;
                self.free.push(index);
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn iter(&self) -> impl Iterator<Item = &Arc<Source>> {
        self.slots.iter().filter_map(|s| s.source.as_ref())
    }
}

/// State shared by the [`Reactor`], its handles and every registered source.
pub(crate) struct Inner {
    pub(crate) poller: Poller,
    /// Linux, edge mode: an eventfd registered with the poller under
    /// [`UNPARK_KEY`]; unparking writes to it and the reactor waits with one
    /// `epoll_wait` on the poller's fd (see [`Reactor::wait_raw`]). Declared
    /// after `poller`, so the epoll instance is closed before this fd.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    unpark_fd: Option<std::os::fd::OwnedFd>,
    registry: Mutex<Registry>,
    /// Mirrors `registry.len()` so the zero-timeout fast path needs no lock.
    sources: AtomicUsize,
    state: AtomicU8,
    shutdown: AtomicBool,
    pub(crate) mode: PollMode,
}

impl Inner {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // Registry updates are single pushes/takes; a panic elsewhere cannot
        // leave it inconsistent, so a poisoned lock is still usable.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Whether events report a peer's close or an error apart from plain
    /// readability (Linux edge mode, registered with `EPOLLRDHUP`): the
    /// condition for clearing read readiness after a short read.
    pub(crate) fn sees_closes(&self) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return self.unpark_fd.is_some();
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        false
    }

    /// Adds `fd` to the poller and the registry.
    ///
    /// The caller must call [`Inner::deregister`] before `fd` is closed; the
    /// only caller, `Async<T>`, owns the fd and does so in its `Drop`.
    pub(crate) fn register(&self, fd: BorrowedFd<'_>) -> io::Result<Arc<Source>> {
        if self.is_shutdown() {
            return Err(crate::ReactorError::Shutdown.into());
        }
        let source = self.registry().insert();
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.sees_closes() {
            use rustix::event::epoll::{self, EventData, EventFlags as F};
            // Registered by hand rather than through polling, which cannot ask
            // for `EPOLLRDHUP`: with it every readable edge says whether the
            // peer had also closed by the time it was collected, which is what
            // lets a short read clear readiness (see the crate docs). polling
            // still deletes the fd: `EPOLL_CTL_DEL` needs no flags.
            let flags = F::IN | F::OUT | F::PRI | F::RDHUP | F::ET;
            if let Err(e) = epoll::add(
                &self.poller,
                fd,
                EventData::new_u64(source.key as u64),
                flags,
            ) {
                self.registry().remove(source.key);
                return Err(e.into());
            }
            self.sources.fetch_add(1, Ordering::Relaxed);
            return Ok(source);
        }
        let interest = match self.mode {
            // Edge mode: armed once for both directions, never re-armed.
            PollMode::Edge => Event::all(source.key),
            // Oneshot mode: armed on demand when a task starts waiting.
            _ => Event::none(source.key),
        };
        // SAFETY: `Poller::add` requires the fd to be deleted from the poller
        // before it is closed. `Async<T>` owns the I/O object that owns `fd`
        // and calls `deregister` (which runs `Poller::delete`) in its `Drop`
        // and `into_inner` before the object is dropped or handed back.
        #[allow(unsafe_code)]
        let added = unsafe {
            self.poller
                .add_with_mode(fd.as_raw_fd(), interest, self.mode)
        };
        if let Err(e) = added {
            self.registry().remove(source.key);
            return Err(e);
        }
        self.sources.fetch_add(1, Ordering::Relaxed);
        Ok(source)
    }

    /// Removes `source` from the registry and `fd` from the poller.
    pub(crate) fn deregister(&self, source: &Source, fd: BorrowedFd<'_>) -> io::Result<()> {
        if self.registry().remove(source.key) {
            self.sources.fetch_sub(1, Ordering::Relaxed);
        }
        self.poller.delete(fd)
    }

    /// Re-arms a oneshot registration for the directions that have waiters.
    pub(crate) fn rearm(&self, key: usize, fd: BorrowedFd<'_>, read: bool, write: bool) {
        let mut ev = Event::none(key);
        ev.readable = read;
        ev.writable = write;
        // A failure leaves the source disarmed; the waiter then sees no event
        // until the next re-arm. It can only fail for an fd that is no longer
        // valid, which `Async` rules out while it is alive.
        let _ = self.poller.modify_with_mode(fd, ev, self.mode);
    }

    fn unpark(&self) {
        // An unpark only needs a syscall if the parker is actually blocked in
        // `wait` and no earlier unpark has already notified it. In every other
        // state the bit is a token the parker consumes with an RMW (a swap)
        // before it returns, which also makes the unparker's prior writes
        // visible to it.
        let prev = self.state.fetch_or(NOTIFIED, Ordering::SeqCst);
        if prev == PARKED {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            if let Some(fd) = &self.unpark_fd {
                // Each write raises a new edge on the eventfd. The counter is
                // never read back: it cannot reach its 2^64 limit, and an
                // unread counter costs nothing in edge mode.
                let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
                return;
            }
            // polling's notify cannot fail on its eventfd/pipe in practice;
            // there is nothing useful to do with an error here.
            let _ = self.poller.notify();
        }
    }
}

impl Unpark for Inner {
    fn unpark(&self) {
        Inner::unpark(self)
    }
}

/// The I/O reactor: waits for readiness events and wakes the tasks waiting on
/// them. It is the innermost [`Park`] of an eddy runtime.
///
/// Exactly one thread parks a given reactor (it is driven through `&mut self`);
/// any number of threads register sources through [`ReactorHandle`]s.
/// Dropping the reactor shuts it down: pending and future waits on its sources
/// fail with [`ReactorError::Shutdown`](crate::ReactorError::Shutdown).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use eddy_core::Park;
/// use eddy_reactor::Reactor;
///
/// let mut reactor = Reactor::new()?;
/// // Poll for events without blocking: with no sources this is not even a syscall.
/// reactor.park(Some(Duration::ZERO))?;
/// // An unpark before the park makes it return at once.
/// reactor.unparker().unpark();
/// reactor.park(None)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Reactor {
    inner: Arc<Inner>,
    events: Events,
    /// Events collected by the raw wait: (key, readiness bits).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    ready: Vec<(usize, u64)>,
    wake_buf: Vec<Waker>,
}

impl Reactor {
    /// Creates a reactor with a new `polling::Poller`.
    ///
    /// Sources are registered edge-triggered where the platform supports it
    /// and oneshot otherwise (see the crate docs).
    ///
    /// # Errors
    ///
    /// Creating the poller failed (for example, the process is out of file
    /// descriptors).
    ///
    /// # Example
    ///
    /// ```
    /// let reactor = eddy_reactor::Reactor::new()?;
    /// assert_eq!(reactor.source_count(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Reactor> {
        Reactor::build(false)
    }

    pub(crate) fn build(force_oneshot: bool) -> io::Result<Reactor> {
        let poller = Poller::new()?;
        let mode = if poller.supports_edge() && !force_oneshot {
            PollMode::Edge
        } else {
            PollMode::Oneshot
        };
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let unpark_fd = if mode == PollMode::Edge {
            Some(register_unpark_fd(&poller)?)
        } else {
            None
        };
        let inner = Arc::new(Inner {
            poller,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            unpark_fd,
            registry: Mutex::new(Registry::default()),
            sources: AtomicUsize::new(0),
            state: AtomicU8::new(IDLE),
            shutdown: AtomicBool::new(false),
            mode,
        });
        Ok(Reactor {
            inner,
            events: Events::new(),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            ready: Vec::with_capacity(256),
            wake_buf: Vec::new(),
        })
    }

    /// A handle for registering sources with this reactor from any thread.
    ///
    /// # Example
    ///
    /// ```
    /// let reactor = eddy_reactor::Reactor::new()?;
    /// let handle = reactor.handle();
    /// let _guard = handle.enter();
    /// assert!(eddy_reactor::ReactorHandle::try_current().is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self) -> ReactorHandle {
        ReactorHandle {
            inner: self.inner.clone(),
        }
    }

    /// Diagnostics: how many sources are registered right now.
    ///
    /// Meant for tests and debugging (for example, checking that dropped
    /// sources were deregistered); it takes no lock and may be stale by the
    /// time it returns if other threads register concurrently.
    ///
    /// # Example
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use std::os::unix::net::UnixStream;
    /// use eddy_reactor::{Async, Reactor};
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::with_handle(a, &reactor.handle())?;
    /// assert_eq!(reactor.source_count(), 1);
    /// drop(a);
    /// assert_eq!(reactor.source_count(), 0);
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn source_count(&self) -> usize {
        self.inner.sources.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    pub(crate) fn inner_state(&self) -> u8 {
        self.inner.state.load(Ordering::SeqCst)
    }

    /// Consumes a pending unpark token, if any. The relaxed load keeps the
    /// common no-token case to one plain read; a token that is not yet visible
    /// stays set and is consumed by the next park (which then returns at
    /// once), so nothing is lost.
    fn consume_token(&self) {
        if self.inner.state.load(Ordering::Relaxed) != IDLE {
            self.inner.state.swap(IDLE, Ordering::SeqCst);
        }
    }

    /// The non-blocking park: dispatch whatever is ready, never block.
    fn park_zero(&mut self) -> io::Result<()> {
        self.consume_token();
        if self.inner.sources.load(Ordering::Relaxed) == 0 {
            // Nothing can become ready: unparks only reach the poller while
            // we are blocked in `wait`, and there are no sources.
            return Ok(());
        }
        // The raw wait is one `epoll_wait` either way; only polling's
        // five-syscall `wait` is worth a `poll(2)` to skip.
        if !self.raw_wait() && !poller_has_events(&self.inner.poller) {
            return Ok(());
        }
        if !self.wait(Some(Duration::ZERO))? {
            return Ok(());
        }
        // Unparks caused by our own wakes are absorbed: we return anyway.
        self.inner.state.swap(DISPATCHING, Ordering::SeqCst);
        self.dispatch();
        self.inner.state.swap(IDLE, Ordering::SeqCst);
        Ok(())
    }

    /// Whether [`Reactor::wait`] takes the one-`epoll_wait` path.
    fn raw_wait(&self) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return self.inner.unpark_fd.is_some();
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        false
    }

    /// Waits for events; `true` if any source event was collected.
    ///
    /// On Linux in edge mode this is one `epoll_wait` on the poller's fd
    /// (our eventfd carries unparks), not polling's `wait`, which costs five
    /// syscalls per call (it re-arms a timerfd and its own notifier every
    /// time): a blocking park per round trip made one-connection echo 1.3 ×
    /// tokio's time. Registration stays with polling.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.inner.unpark_fd.is_some() {
            return self.wait_raw(timeout);
        }
        self.events.clear();
        self.inner.poller.wait(&mut self.events, timeout)?;
        Ok(!self.events.is_empty())
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn wait_raw(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        use std::mem::MaybeUninit;

        use rustix::event::Timespec;
        use rustix::event::epoll::{self, EventFlags as F};

        self.ready.clear();
        let ts = timeout.map(|t| {
            let t = t.min(MAX_WAIT);
            Timespec {
                tv_sec: t.as_secs() as _,
                tv_nsec: t.subsec_nanos() as _,
            }
        });
        // rustix's `Event` carries a pointer-capable union and is not `Send`,
        // so the raw events live on the stack and are decoded at once.
        let mut buf = [const { MaybeUninit::<epoll::Event>::uninit() }; 256];
        let got = match epoll::wait(&self.inner.poller, &mut buf[..], ts.as_ref()) {
            Ok((got, _)) => got,
            // A signal: like a spurious return, which `park` allows.
            Err(rustix::io::Errno::INTR) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        // polling's mapping, plus the close bit, which needs `EPOLLRDHUP` in
        // the interest (see `Inner::register`).
        let read = F::IN | F::HUP | F::ERR | F::PRI | F::RDHUP;
        let write = F::OUT | F::HUP | F::ERR;
        let closed = F::RDHUP | F::HUP | F::ERR;
        for e in got.iter() {
            let key = e.data.u64() as usize;
            if key != UNPARK_KEY {
                let flags = e.flags;
                let mut bits = 0;
                if flags.intersects(read) {
                    bits |= READABLE;
                    if flags.intersects(closed) {
                        bits |= READ_CLOSED;
                    }
                }
                if flags.intersects(write) {
                    bits |= WRITABLE;
                }
                self.ready.push((key, bits));
            }
        }
        Ok(!self.ready.is_empty())
    }

    /// Marks the sources named by the collected events ready and wakes their
    /// waiters.
    fn dispatch(&mut self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.inner.unpark_fd.is_some() {
            dispatch(&self.inner, self.ready.iter().copied(), &mut self.wake_buf);
            return;
        }
        let events = self.events.iter().map(|e| {
            let mut bits = 0;
            if e.readable {
                bits |= READABLE;
            }
            if e.writable {
                bits |= WRITABLE;
            }
            (e.key, bits)
        });
        dispatch(&self.inner, events, &mut self.wake_buf);
    }
}

/// Registers a new eventfd with `poller` under [`UNPARK_KEY`], edge-triggered.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn register_unpark_fd(poller: &Poller) -> io::Result<std::os::fd::OwnedFd> {
    use rustix::event::{EventfdFlags, eventfd};
    let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
    // SAFETY: `Poller::add` requires the fd to be removed from the poller
    // before it is closed. The fd lives in `Inner` next to the poller and is
    // declared after it, so it is closed only after the epoll instance
    // itself, which takes every registration with it.
    #[allow(unsafe_code)]
    unsafe {
        poller.add_with_mode(fd.as_raw_fd(), Event::readable(UNPARK_KEY), PollMode::Edge)?;
    }
    Ok(fd)
}

/// Marks the sources named in `events` (key, readiness bits) ready and wakes
/// their waiters.
fn dispatch(inner: &Inner, events: impl Iterator<Item = (usize, u64)>, wake_buf: &mut Vec<Waker>) {
    let wake_all = inner.mode != PollMode::Edge;
    {
        let registry = inner.registry();
        for (key, bits) in events {
            let Some(source) = registry.get(key) else {
                continue;
            };
            if bits != 0 || wake_all {
                source.set_ready(bits, wake_all, wake_buf);
            }
        }
    }
    // Wake only after every lock is released: a waker may run arbitrary
    // code, including registering sources or unparking this reactor. One
    // that panics must not cost the others their wake-up.
    for waker in wake_buf.drain(..) {
        eddy_core::wake_contained(waker);
    }
}

/// Whether `poller` has an event pending, using one `poll(2)` on the epoll fd
/// instead of polling's five-syscall zero-timeout `wait`. An epoll fd is
/// readable exactly when its ready list is not empty. On error the answer is
/// "yes", so the caller falls back to a real `wait`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn poller_has_events(poller: &Poller) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(poller, PollFlags::IN)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    !matches!(poll(&mut fds, Some(&zero)), Ok(0))
}

/// Elsewhere the backend's fd semantics are not relied on: always `wait`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn poller_has_events(_poller: &Poller) -> bool {
    true
}

impl Park for Reactor {
    /// Waits for I/O events, an unpark or the timeout, then wakes the tasks
    /// whose sources became ready.
    ///
    /// `Some(Duration::ZERO)` never blocks; with no registered sources it
    /// makes no syscall at all. A pending unpark turns any park into a
    /// zero-timeout one. `EINTR` is retried inside polling, never reported.
    fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            return self.park_zero();
        }
        let state = &self.inner.state;
        if state
            .compare_exchange(IDLE, PARKED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // Only `NOTIFIED` can be set here (we are the only parker): an
            // unpark is pending, so return without blocking.
            return self.park_zero();
        }
        let res = self.wait(timeout);
        if !matches!(res, Ok(true)) {
            self.inner.state.swap(IDLE, Ordering::SeqCst);
            return res.map(drop);
        }
        self.inner.state.swap(DISPATCHING, Ordering::SeqCst);
        self.dispatch();
        self.inner.state.swap(IDLE, Ordering::SeqCst);
        Ok(())
    }

    /// An [`Unpark`] that calls `Poller::notify` only if this reactor is
    /// blocked in `wait` and not yet notified; otherwise it leaves a token
    /// that makes the next `park` return at once.
    fn unparker(&self) -> Arc<dyn Unpark> {
        self.inner.clone()
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        // Nobody will dispatch events any more: fail every current and future
        // wait instead of leaving tasks asleep forever.
        self.inner.shutdown.store(true, Ordering::SeqCst);
        {
            let registry = self.inner.registry();
            for source in registry.iter() {
                source.take_all(&mut self.wake_buf);
            }
        }
        for waker in self.wake_buf.drain(..) {
            eddy_core::wake_contained(waker);
        }
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("sources", &self.source_count())
            .field("mode", &self.inner.mode)
            .finish_non_exhaustive()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<ReactorHandle>> = const { RefCell::new(None) };
}

/// A cheap, cloneable, `Send + Sync` reference to a [`Reactor`], used to
/// register I/O sources and to make the reactor "current" on a thread.
///
/// # Example
///
/// ```
/// use eddy_reactor::{Reactor, ReactorHandle};
///
/// let reactor = Reactor::new()?;
/// let handle = reactor.handle();
/// std::thread::spawn(move || {
///     let _guard = handle.enter();
///     assert!(ReactorHandle::try_current().is_some());
/// })
/// .join()
/// .unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct ReactorHandle {
    pub(crate) inner: Arc<Inner>,
}

impl ReactorHandle {
    /// Makes this reactor the current one on this thread until the guard is
    /// dropped. Nested enters restore the previously current reactor.
    ///
    /// # Example
    ///
    /// ```
    /// use eddy_reactor::{Reactor, ReactorHandle};
    ///
    /// let (r1, r2) = (Reactor::new()?, Reactor::new()?);
    /// let outer = r1.handle().enter();
    /// {
    ///     let _inner = r2.handle().enter();
    ///     assert!(ReactorHandle::current().same_reactor(&r2.handle()));
    /// }
    /// assert!(ReactorHandle::current().same_reactor(&r1.handle()));
    /// drop(outer);
    /// assert!(ReactorHandle::try_current().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.replace(Some(self.clone())));
        EnterGuard {
            prev,
            _not_send: PhantomData,
        }
    }

    /// The reactor entered on this thread.
    ///
    /// # Panics
    ///
    /// If no reactor is entered on this thread (no eddy runtime is running
    /// here and [`ReactorHandle::enter`] was not called). Use
    /// [`ReactorHandle::try_current`] to handle that case.
    ///
    /// # Example
    ///
    /// ```
    /// let reactor = eddy_reactor::Reactor::new()?;
    /// let _guard = reactor.handle().enter();
    /// let handle = eddy_reactor::ReactorHandle::current();
    /// assert!(handle.same_reactor(&reactor.handle()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn current() -> ReactorHandle {
        match ReactorHandle::try_current() {
            Some(h) => h,
            None => panic!(
                "no eddy reactor is entered on this thread: run inside an eddy runtime \
                 or call `ReactorHandle::enter` first"
            ),
        }
    }

    /// The reactor entered on this thread, or `None`.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(eddy_reactor::ReactorHandle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<ReactorHandle> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// `true` if both handles refer to the same reactor.
    ///
    /// # Example
    ///
    /// ```
    /// let (a, b) = (eddy_reactor::Reactor::new()?, eddy_reactor::Reactor::new()?);
    /// assert!(a.handle().same_reactor(&a.handle()));
    /// assert!(!a.handle().same_reactor(&b.handle()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn same_reactor(&self, other: &ReactorHandle) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The reactor's [`Unpark`], the same as [`Park::unparker`] returns.
    ///
    /// # Example
    ///
    /// ```
    /// use eddy_core::Park;
    ///
    /// let mut reactor = eddy_reactor::Reactor::new()?;
    /// reactor.handle().unparker().unpark();
    /// reactor.park(None)?; // returns at once: the unpark left a token
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unparker(&self) -> Arc<dyn Unpark> {
        self.inner.clone()
    }

    /// Diagnostics: see [`Reactor::source_count`].
    ///
    /// # Example
    ///
    /// ```
    /// let reactor = eddy_reactor::Reactor::new()?;
    /// assert_eq!(reactor.handle().source_count(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn source_count(&self) -> usize {
        self.inner.sources.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for ReactorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReactorHandle")
            .field("sources", &self.source_count())
            .finish()
    }
}

/// Restores the previously current reactor when dropped.
///
/// Returned by [`ReactorHandle::enter`]. It is not `Send`: it must be dropped
/// on the thread that created it.
///
/// # Example
///
/// ```
/// let reactor = eddy_reactor::Reactor::new()?;
/// let guard = reactor.handle().enter();
/// drop(guard);
/// assert!(eddy_reactor::ReactorHandle::try_current().is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "the reactor is current only while the guard is alive"]
pub struct EnterGuard {
    prev: Option<ReactorHandle>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        // `try_with`: during thread teardown the slot may already be gone.
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Random inserts/removes against a HashMap model: lookups find
        /// exactly the live keys, removed keys (including reused slots with
        /// a stale generation) are never found, and `len` matches.
        #[test]
        fn registry_matches_model(ops in proptest::collection::vec((any::<bool>(), 0usize..16), 1..100)) {
            let mut reg = Registry::default();
            let mut model: HashMap<usize, Arc<Source>> = HashMap::new();
            let mut dead: Vec<usize> = Vec::new();
            for (insert, pick) in ops {
                if insert || model.is_empty() {
                    let s = reg.insert();
                    prop_assert!(!model.contains_key(&s.key));
                    prop_assert_ne!(s.key, usize::MAX);
                    model.insert(s.key, s);
                } else {
                    let mut keys: Vec<usize> = model.keys().copied().collect();
                    keys.sort_unstable();
                    let k = keys[pick % keys.len()];
                    prop_assert!(reg.remove(k));
                    prop_assert!(!reg.remove(k));
                    model.remove(&k);
                    dead.push(k);
                }
                prop_assert_eq!(reg.len(), model.len());
                for (k, s) in &model {
                    prop_assert!(reg.get(*k).is_some_and(|r| Arc::ptr_eq(r, s)));
                }
                for k in &dead {
                    prop_assert!(reg.get(*k).is_none());
                }
            }
        }
    }
}
