//! One blocking job: the closure, its result and the awaiter's waker share a
//! single allocation, so submitting a job costs one `Arc` and nothing else.

use std::fmt;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use eddy_core::Panic;

/// Why awaiting a blocking job did not produce its value.
///
/// # Example
///
/// ```
/// use eddy_blocking::{BlockingError, ThreadPool};
///
/// let pool = ThreadPool::builder().max_threads(1).build();
/// let err = futures_lite::future::block_on(pool.unblock(|| -> u32 { panic!("disk on fire") }))
///     .unwrap_err();
/// assert!(matches!(err, BlockingError::Panicked(_)));
/// assert_eq!(err.to_string(), "blocking job panicked: disk on fire");
/// ```
#[derive(Debug)]
pub enum BlockingError {
    /// The closure panicked; the payload is kept for inspection or
    /// [`std::panic::resume_unwind`].
    Panicked(Panic),
    /// The pool shut down before the job started, so it never ran.
    ShutDown,
    /// The [`Executor`](crate::Executor) dropped the job without running it.
    NotRun,
}

impl BlockingError {
    /// `true` for [`BlockingError::Panicked`].
    ///
    /// ```
    /// assert!(!eddy_blocking::BlockingError::ShutDown.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, BlockingError::Panicked(_))
    }

    /// The panic, if the closure panicked.
    ///
    /// ```
    /// assert!(eddy_blocking::BlockingError::NotRun.into_panic().is_none());
    /// ```
    pub fn into_panic(self) -> Option<Panic> {
        match self {
            BlockingError::Panicked(p) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Display for BlockingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockingError::Panicked(p) => match p.message() {
                Some(m) => write!(f, "blocking job panicked: {m}"),
                None => f.write_str("blocking job panicked"),
            },
            BlockingError::ShutDown => {
                f.write_str("the blocking pool shut down before the job started")
            }
            BlockingError::NotRun => f.write_str("the executor dropped the job without running it"),
        }
    }
}

impl std::error::Error for BlockingError {}

/// A cooperative cancellation flag handed to a blocking closure.
///
/// The pool sets it when the job's awaiter is dropped (cancelled, timed out)
/// or when a shutdown gives up on the job. Blocking code cannot be
/// interrupted from outside, so the closure checks the token between steps
/// and returns early. Cloning is cheap (one reference count).
///
/// # Example
///
/// ```
/// use eddy_blocking::CancelToken;
///
/// let token = CancelToken::new();
/// let seen = token.clone();
/// assert!(!seen.is_cancelled());
/// token.cancel();
/// assert!(seen.is_cancelled());
/// assert!(seen.check().is_err());
/// ```
#[derive(Clone)]
pub struct CancelToken(Arc<dyn Flag>);

impl CancelToken {
    /// A token that is not attached to any job: useful in tests and for
    /// calling a cancellable closure directly.
    ///
    /// ```
    /// assert!(!eddy_blocking::CancelToken::new().is_cancelled());
    /// ```
    pub fn new() -> CancelToken {
        CancelToken(Arc::new(AtomicBool::new(false)))
    }

    /// `true` once the job's result is no longer wanted.
    ///
    /// ```
    /// let t = eddy_blocking::CancelToken::new();
    /// t.cancel();
    /// assert!(t.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.0.flag().load(Ordering::Acquire)
    }

    /// `Err(Cancelled)` once cancelled, for use with `?` inside the closure.
    ///
    /// # Errors
    ///
    /// [`Cancelled`] when the token has been set.
    ///
    /// ```
    /// fn step(t: &eddy_blocking::CancelToken) -> Result<u32, eddy_blocking::Cancelled> {
    ///     t.check()?;
    ///     Ok(1)
    /// }
    /// assert_eq!(step(&eddy_blocking::CancelToken::new()), Ok(1));
    /// ```
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }

    /// Sets the token. The pool does this itself; calling it by hand is
    /// allowed (for example to stop a job from inside another one).
    ///
    /// ```
    /// let t = eddy_blocking::CancelToken::new();
    /// t.cancel();
    /// t.cancel(); // idempotent
    /// assert!(t.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        self.0.flag().store(true, Ordering::Release);
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The error [`CancelToken::check`] returns once the job was cancelled.
///
/// ```
/// assert_eq!(eddy_blocking::Cancelled.to_string(), "blocking job was cancelled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("blocking job was cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// Where a cancellation flag lives: a bare `AtomicBool` for standalone
/// tokens, inside the job cell for pool jobs (so no extra allocation).
trait Flag: Send + Sync + 'static {
    fn flag(&self) -> &AtomicBool;
}

impl Flag for AtomicBool {
    fn flag(&self) -> &AtomicBool {
        self
    }
}

/// The closure inside a job: with or without a token.
pub(crate) trait Work: Send + 'static {
    type Output: Send + 'static;
    fn call(self, token: impl FnOnce() -> CancelToken) -> Self::Output;
}

pub(crate) struct Plain<F>(pub(crate) F);

impl<F, T> Work for Plain<F>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    type Output = T;
    fn call(self, _token: impl FnOnce() -> CancelToken) -> T {
        (self.0)()
    }
}

pub(crate) struct WithToken<F>(pub(crate) F);

impl<F, T> Work for WithToken<F>
where
    F: FnOnce(&CancelToken) -> T + Send + 'static,
    T: Send + 'static,
{
    type Output = T;
    fn call(self, token: impl FnOnce() -> CancelToken) -> T {
        (self.0)(&token())
    }
}

enum Stage<W: Work> {
    Queued(W),
    Running,
    Done(Result<W::Output, BlockingError>),
    /// The awaiter took the result, or left before the job started.
    Gone,
}

struct Inner<W: Work> {
    stage: Stage<W>,
    waker: Option<Waker>,
}

/// The shared cell of one job.
struct Cell<W: Work> {
    cancelled: AtomicBool,
    location: &'static Location<'static>,
    inner: Mutex<Inner<W>>,
}

impl<W: Work> Cell<W> {
    fn lock(&self) -> MutexGuard<'_, Inner<W>> {
        // A poisoned lock only means a waker panicked while we held it; the
        // state itself is always consistent, so carry on.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn complete(&self, result: Result<W::Output, BlockingError>) {
        let waker = {
            let mut inner = self.lock();
            if matches!(inner.stage, Stage::Gone) {
                return;
            }
            inner.stage = Stage::Done(result);
            inner.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<W: Work> Flag for Cell<W> {
    fn flag(&self) -> &AtomicBool {
        &self.cancelled
    }
}

/// The pool's view of a job: run it, or fail it without running.
pub(crate) trait RunJob: Send + Sync + 'static {
    fn run(self: Arc<Self>);
    fn abandon(&self, err: BlockingError);
    fn cancel(&self);
    fn location(&self) -> &'static Location<'static>;
}

impl<W: Work> RunJob for Cell<W> {
    fn run(self: Arc<Self>) {
        let work = {
            let mut inner = self.lock();
            if self.cancelled.load(Ordering::Acquire) {
                // Cancelled while queued: never start it.
                inner.stage = Stage::Gone;
                return;
            }
            match std::mem::replace(&mut inner.stage, Stage::Running) {
                Stage::Queued(w) => w,
                other => {
                    inner.stage = other;
                    return;
                }
            }
        };
        let this = &self;
        let result = catch_unwind(AssertUnwindSafe(|| {
            work.call(|| CancelToken(Arc::clone(this) as Arc<dyn Flag>))
        }))
        .map_err(|p| BlockingError::Panicked(Panic::new(p)));
        self.complete(result);
    }

    fn abandon(&self, err: BlockingError) {
        let work = {
            let mut inner = self.lock();
            if !matches!(inner.stage, Stage::Queued(_)) {
                return;
            }
            std::mem::replace(&mut inner.stage, Stage::Running)
        };
        drop(work);
        self.complete(Err(err));
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    fn location(&self) -> &'static Location<'static> {
        self.location
    }
}

/// The awaiter's view of a job.
trait Awaited<T>: Send + Sync {
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, BlockingError>>;
    /// The awaiter is leaving: set the token and drop a closure that never
    /// started.
    fn leave(&self);
}

impl<W: Work> Awaited<W::Output> for Cell<W> {
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<W::Output, BlockingError>> {
        let mut inner = self.lock();
        match std::mem::replace(&mut inner.stage, Stage::Gone) {
            Stage::Done(r) => Poll::Ready(r),
            other => {
                inner.stage = other;
                match &inner.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => inner.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    fn leave(&self) {
        self.cancelled.store(true, Ordering::Release);
        let dropped = {
            let mut inner = self.lock();
            inner.waker = None;
            match inner.stage {
                Stage::Running => None,
                _ => Some(std::mem::replace(&mut inner.stage, Stage::Gone)),
            }
        };
        // The closure or the unread result is dropped outside the lock: its
        // destructor may be arbitrary user code.
        drop(dropped);
    }
}

/// A blocking job ready to run on some thread.
///
/// This is what an [`Executor`](crate::Executor) receives. Call
/// [`Job::run`] exactly once on the thread that should block. Dropping a job
/// without running it fails its awaiter with [`BlockingError::NotRun`], so a
/// job can never be lost silently.
///
/// # Example
///
/// ```
/// use eddy_blocking::{Job, run_in_executor};
///
/// // An executor that starts one thread per job.
/// let exec = |job: Job| {
///     std::thread::spawn(move || job.run());
/// };
/// let v = futures_lite::future::block_on(run_in_executor(&exec, || 6 * 7)).unwrap();
/// assert_eq!(v, 42);
/// ```
pub struct Job(Option<Arc<dyn RunJob>>);

impl Job {
    /// Runs the closure on the current thread (unless its awaiter already
    /// left, in which case it is skipped) and delivers the result.
    ///
    /// ```
    /// use eddy_blocking::{Job, run_in_executor};
    ///
    /// // An executor that runs each job at once, on the submitting thread.
    /// let inline = |job: Job| job.run();
    /// let fut = run_in_executor(&inline, || std::thread::current().id());
    /// let ran_on = futures_lite::future::block_on(fut).unwrap();
    /// assert_eq!(ran_on, std::thread::current().id());
    /// ```
    pub fn run(mut self) {
        if let Some(j) = self.0.take() {
            j.run();
        }
    }

    /// Where the job was submitted: the caller of `unblock` and friends.
    ///
    /// ```
    /// let exec = |job: eddy_blocking::Job| {
    ///     assert!(job.location().file().ends_with(".rs"));
    ///     job.run();
    /// };
    /// futures_lite::future::block_on(eddy_blocking::run_in_executor(&exec, || ())).unwrap();
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        match &self.0 {
            Some(j) => j.location(),
            None => Location::caller(),
        }
    }

    pub(crate) fn abandon(mut self, err: BlockingError) {
        if let Some(j) = self.0.take() {
            j.abandon(err);
        }
    }

    pub(crate) fn shared(&self) -> Option<Arc<dyn RunJob>> {
        self.0.clone()
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(j) = self.0.take() {
            j.abandon(BlockingError::NotRun);
        }
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("location", &self.location())
            .finish()
    }
}

/// Creates the cell for `work` and returns the two views of it.
pub(crate) fn new_job<W: Work>(
    work: W,
    location: &'static Location<'static>,
) -> (Job, Handle<W::Output>) {
    let cell = Arc::new(Cell {
        cancelled: AtomicBool::new(false),
        location,
        inner: Mutex::new(Inner {
            stage: Stage::Queued(work),
            waker: None,
        }),
    });
    let handle = Handle(Some(Arc::clone(&cell) as Arc<dyn Awaited<W::Output>>));
    (Job(Some(cell as Arc<dyn RunJob>)), handle)
}

/// The awaiting side of a job: resolves to its result; dropping it cancels.
pub(crate) struct Handle<T>(Option<Arc<dyn Awaited<T>>>);

impl<T> Handle<T> {
    pub(crate) fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, BlockingError>> {
        match &self.0 {
            Some(a) => a.poll_result(cx),
            None => Poll::Ready(Err(BlockingError::NotRun)),
        }
    }

    /// Stops awaiting without cancelling: the job runs to its end.
    pub(crate) fn detach(mut self) {
        self.0 = None;
    }
}

impl<T> Drop for Handle<T> {
    fn drop(&mut self) {
        if let Some(a) = self.0.take() {
            a.leave();
        }
    }
}
