use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A task's identity, unique for the life of the process.
///
/// Ids start at 1 and are never reused. Each thread takes them from the
/// global counter in blocks (one atomic operation per 256 spawns instead of
/// one per spawn), so ids increase in spawn order on any one thread, and ids
/// from different threads interleave by block.
///
/// # Example
///
/// ```
/// use eddy_core::TaskId;
///
/// let a = TaskId::next();
/// let b = TaskId::next();
/// assert!(b > a);
/// assert_ne!(a, b);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    /// Allocates a fresh id.
    ///
    /// ```
    /// let (a, b) = (eddy_core::TaskId::next(), eddy_core::TaskId::next());
    /// assert!(b > a); // increasing on one thread
    /// ```
    pub fn next() -> TaskId {
        const BLOCK: u64 = 256;
        static NEXT: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            /// The next id of this thread's block, and the end of the block.
            static RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        let id = RANGE
            .try_with(|r| {
                let (mut next, mut end) = r.get();
                if next == end {
                    next = NEXT.fetch_add(BLOCK, Ordering::Relaxed);
                    end = next + BLOCK;
                }
                r.set((next + 1, end));
                next
            })
            // During thread-local destruction: take a single id.
            .unwrap_or_else(|_| NEXT.fetch_add(1, Ordering::Relaxed));
        // 2^64 spawns would take centuries; treat wrap-around as impossible.
        TaskId(NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN))
    }

    /// The id as a number.
    ///
    /// ```
    /// let id = eddy_core::TaskId::next();
    /// assert!(id.as_u64() >= 1);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({})", self.0)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a spawner knows about a task before it runs: its name and where it was
/// spawned.
///
/// # Example
///
/// ```
/// use eddy_core::TaskMeta;
///
/// #[track_caller]
/// fn meta() -> TaskMeta {
///     TaskMeta::here().with_name("fetch")
/// }
///
/// let m = meta();
/// assert_eq!(m.name(), Some("fetch"));
/// assert!(m.location().file().ends_with(".rs"));
/// ```
#[derive(Clone, Debug)]
pub struct TaskMeta {
    // Boxed so that the whole is two words: a `TaskMeta` travels by value
    // down the spawn path and into every task's header, and two words are
    // passed in registers where three are copied through the stack. Named
    // tasks are the rare case and pay the extra allocation.
    name: Option<Box<Arc<str>>>,
    location: &'static Location<'static>,
}

impl TaskMeta {
    /// Metadata for a task spawned at the caller's location, with no name.
    ///
    /// ```
    /// let m = eddy_core::TaskMeta::here();
    /// assert!(m.name().is_none());
    /// assert!(m.location().file().ends_with(".rs"));
    /// ```
    #[track_caller]
    pub fn here() -> TaskMeta {
        TaskMeta {
            name: None,
            location: Location::caller(),
        }
    }

    /// Metadata for a task spawned at `location`.
    ///
    /// ```
    /// let m = eddy_core::TaskMeta::at(std::panic::Location::caller());
    /// assert!(m.name().is_none());
    /// ```
    pub fn at(location: &'static Location<'static>) -> TaskMeta {
        TaskMeta {
            name: None,
            location,
        }
    }

    /// Gives the task a name, shown in debug output and panics.
    ///
    /// ```
    /// let m = eddy_core::TaskMeta::here().with_name("worker-1");
    /// assert_eq!(m.name(), Some("worker-1"));
    /// ```
    pub fn with_name(mut self, name: impl Into<Arc<str>>) -> TaskMeta {
        self.name = Some(Box::new(name.into()));
        self
    }

    /// The task's name, if it has one.
    ///
    /// ```
    /// assert_eq!(eddy_core::TaskMeta::here().name(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().map(|n| &**n)
    }

    /// The shared name, cheap to clone.
    ///
    /// ```
    /// let m = eddy_core::TaskMeta::here().with_name("a");
    /// assert_eq!(m.name_arc().as_deref(), Some("a"));
    /// ```
    pub fn name_arc(&self) -> Option<Arc<str>> {
        self.name.as_deref().cloned()
    }

    /// Where the task was spawned.
    ///
    /// ```
    /// let (m, line) = (eddy_core::TaskMeta::here(), line!());
    /// assert_eq!(m.location().line(), line);
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }
}

/// The payload of a panic caught inside a task.
///
/// # Example
///
/// ```
/// use eddy_core::Panic;
///
/// let caught = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
/// let panic = Panic::new(caught);
/// assert_eq!(panic.message(), Some("boom"));
/// ```
pub struct Panic(Box<dyn Any + Send + 'static>);

impl Panic {
    /// Wraps a payload returned by [`std::panic::catch_unwind`].
    ///
    /// ```
    /// let caught = std::panic::catch_unwind(|| panic!("{}", 42)).unwrap_err();
    /// assert_eq!(eddy_core::Panic::new(caught).message(), Some("42"));
    /// ```
    pub fn new(payload: Box<dyn Any + Send + 'static>) -> Panic {
        Panic(payload)
    }

    /// The panic message, when the payload is a string (as `panic!` makes it).
    ///
    /// ```
    /// let p = eddy_core::Panic::new(Box::new(7u32)); // a non-string payload
    /// assert_eq!(p.message(), None);
    /// ```
    pub fn message(&self) -> Option<&str> {
        if let Some(s) = self.0.downcast_ref::<&'static str>() {
            Some(s)
        } else {
            self.0.downcast_ref::<String>().map(String::as_str)
        }
    }

    /// The raw payload, for [`std::panic::resume_unwind`].
    ///
    /// ```
    /// let caught = std::panic::catch_unwind(|| panic!("again")).unwrap_err();
    /// let payload = eddy_core::Panic::new(caught).into_payload();
    /// assert!(payload.downcast_ref::<&str>().is_some());
    /// ```
    pub fn into_payload(self) -> Box<dyn Any + Send + 'static> {
        self.0
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(m) => f.debug_tuple("Panic").field(&m).finish(),
            None => f.write_str("Panic(<non-string payload>)"),
        }
    }
}

/// Why awaiting a task did not produce its output.
///
/// # Example
///
/// ```
/// use eddy_core::{JoinError, Panic};
///
/// let e = JoinError::Cancelled;
/// assert!(e.is_cancelled());
/// assert_eq!(e.to_string(), "task was cancelled");
///
/// let caught = std::panic::catch_unwind(|| panic!("oops")).unwrap_err();
/// let e = JoinError::Panicked(Panic::new(caught));
/// assert!(e.is_panic());
/// assert_eq!(e.to_string(), "task panicked: oops");
/// ```
#[derive(Debug)]
pub enum JoinError {
    /// The task was cancelled before it finished; its future has been dropped.
    Cancelled,
    /// The task panicked; the payload is kept for inspection or re-raising.
    Panicked(Panic),
}

impl JoinError {
    /// `true` for [`JoinError::Cancelled`].
    ///
    /// ```
    /// assert!(eddy_core::JoinError::Cancelled.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// `true` for [`JoinError::Panicked`].
    ///
    /// ```
    /// assert!(!eddy_core::JoinError::Cancelled.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// The panic, if the task panicked.
    ///
    /// ```
    /// assert!(eddy_core::JoinError::Cancelled.into_panic().is_none());
    /// ```
    pub fn into_panic(self) -> Option<Panic> {
        match self {
            JoinError::Panicked(p) => Some(p),
            JoinError::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panicked(p) => match p.message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl std::error::Error for JoinError {}
