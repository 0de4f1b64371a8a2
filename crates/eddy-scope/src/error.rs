//! `GroupError` (the `ExceptionGroup` analogue) and its parts.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::sync::{Arc, Mutex};

use eddy_core::{Panic, TaskId};

/// A boxed error, as children of a task group return them.
///
/// ```
/// use eddy_scope::BoxError;
///
/// let text: BoxError = "disk full".into();
/// assert_eq!(text.to_string(), "disk full");
/// let io: BoxError = std::io::Error::other("eof").into();
/// assert!(io.downcast_ref::<std::io::Error>().is_some());
/// ```
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// What a task group child (or the group's body) returns: `()` for a child
/// that cannot fail, or a `Result` whose `Err` makes the group fail.
///
/// Any error type that converts into a [`BoxError`] works (every
/// `std::error::Error + Send + Sync`, `String`, `&str`), so children of one
/// group can fail with different error types; [`GroupError`] lets you find
/// them again by type.
///
/// ```
/// use eddy_scope::ChildOutput;
///
/// assert!(().into_result().is_ok());
/// assert_eq!(Ok::<_, std::io::Error>(3).into_result().unwrap(), 3);
/// assert!(Err::<(), _>("boom").into_result().is_err());
/// ```
pub trait ChildOutput {
    /// The value on success.
    type Ok;

    /// Splits the output into success or failure.
    ///
    /// # Errors
    ///
    /// The child's error, boxed.
    fn into_result(self) -> Result<Self::Ok, BoxError>;
}

impl ChildOutput for () {
    type Ok = ();

    fn into_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<T, E: Into<BoxError>> ChildOutput for Result<T, E> {
    type Ok = T;

    fn into_result(self) -> Result<T, BoxError> {
        self.map_err(Into::into)
    }
}

/// A panic caught in a group member, kept so it can be inspected and
/// re-raised. Unlike [`Panic`] it is `Sync` (the payload sits behind a
/// lock), so a [`GroupError`] can itself be a child's error in an outer
/// group.
///
/// ```
/// let err = eddy::run(eddy::task_group(|tg| async move {
///     tg.spawn(async { if true { panic!("boom") } });
/// }))
/// .unwrap_err();
/// let caught: &eddy_scope::CaughtPanic = err.panics().next().unwrap();
/// assert_eq!(caught.to_string(), "panicked: boom");
/// ```
pub struct CaughtPanic {
    message: Option<String>,
    /// `None` once the payload was taken out of a failure shared with a
    /// handle (see [`GroupError::resume_panic`]).
    payload: Mutex<Option<Panic>>,
}

impl CaughtPanic {
    pub(crate) fn new(payload: Box<dyn Any + Send + 'static>) -> CaughtPanic {
        let panic = Panic::new(payload);
        CaughtPanic {
            message: panic.message().map(str::to_owned),
            payload: Mutex::new(Some(panic)),
        }
    }

    /// Takes the payload out through a shared reference; a second take
    /// gets a payload rebuilt from the message.
    fn take(&self) -> Panic {
        let taken = self
            .payload
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        taken.unwrap_or_else(|| self.rebuilt())
    }

    fn rebuilt(&self) -> Panic {
        Panic::new(Box::new(
            self.message
                .clone()
                .unwrap_or_else(|| "panicked".to_owned()),
        ))
    }

    /// A copy that owns the payload, taken from `self`.
    fn take_into_owned(&self) -> CaughtPanic {
        CaughtPanic {
            message: self.message.clone(),
            payload: Mutex::new(Some(self.take())),
        }
    }

    /// The panic message, when the payload is a string.
    ///
    /// ```
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { if true { panic!("boom") } });
    /// }))
    /// .unwrap_err();
    /// let panic = err.panics().next().unwrap();
    /// assert_eq!(panic.message(), Some("boom"));
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The panic, for [`std::panic::resume_unwind`] or a [`JoinError`](eddy_core::JoinError).
    ///
    /// If the payload was already taken (a panic shared with a child's
    /// handle and re-raised through the other side), the panic returned
    /// carries the message as a `String` payload.
    ///
    /// ```
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { if true { panic!("boom") } });
    /// }))
    /// .unwrap_err();
    /// let failure = err.into_failures().remove(0);
    /// let eddy_scope::FailureKind::Panic(caught) = failure.into_kind() else { unreachable!() };
    /// let panic = caught.into_panic();
    /// assert_eq!(panic.message(), Some("boom"));
    /// ```
    pub fn into_panic(self) -> Panic {
        let payload = self.payload.into_inner().unwrap_or_else(|e| e.into_inner());
        match payload {
            Some(p) => p,
            None => Panic::new(Box::new(
                self.message.unwrap_or_else(|| "panicked".to_owned()),
            )),
        }
    }
}

impl fmt::Debug for CaughtPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.debug_tuple("CaughtPanic").field(m).finish(),
            None => f.write_str("CaughtPanic(<non-string payload>)"),
        }
    }
}

impl fmt::Display for CaughtPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "panicked: {m}"),
            None => f.write_str("panicked"),
        }
    }
}

impl Error for CaughtPanic {}

/// How one member of a group failed.
///
/// ```
/// use eddy_scope::FailureKind;
///
/// let err = eddy::run(eddy::task_group(|tg| async move {
///     tg.spawn(async { Err::<(), _>("bad input") });
/// }))
/// .unwrap_err();
/// let described: Vec<String> = err.failures().iter().map(|f| match f.kind() {
///     FailureKind::Error(e) => format!("error: {e}"),
///     FailureKind::Panic(p) => format!("panic: {p}"),
/// }).collect();
/// assert_eq!(described, ["error: bad input"]);
/// ```
#[derive(Debug)]
pub enum FailureKind {
    /// It returned `Err`.
    Error(BoxError),
    /// It panicked; the payload is kept so it can be re-raised.
    Panic(CaughtPanic),
}

/// One failure collected by a task group: which child (or the body) failed,
/// and how.
///
/// ```
/// let err = eddy::run(eddy::task_group(|tg| async move {
///     tg.builder().name("fetch").spawn(async { Err::<(), _>("timeout") });
/// }))
/// .unwrap_err();
/// let failure: &eddy_scope::Failure = &err.failures()[0];
/// assert_eq!(failure.name(), Some("fetch"));
/// assert!(failure.to_string().ends_with("(fetch) failed: timeout"));
/// ```
#[derive(Debug)]
pub struct Failure {
    pub(crate) task: Option<TaskId>,
    /// The child's sequence number in its group; `None` for the body.
    pub(crate) child: Option<u64>,
    pub(crate) name: Option<Arc<str>>,
    /// Shared with the child's handle ([`ChildFailure`]).
    pub(crate) kind: Arc<FailureKind>,
}

impl Failure {
    /// The failing child's task id; `None` for the group's body.
    ///
    /// ```
    /// # eddy::run(async {
    /// # let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
    /// let tg = eddy_scope::TaskGroup::new_in(spawner);
    /// let child = tg.spawn(async { Err::<(), _>("boom") });
    /// let err = tg.join().await.unwrap_err();
    /// assert!(child.id().is_some());
    /// assert_eq!(err.failures()[0].task_id(), child.id());
    /// # });
    /// ```
    pub fn task_id(&self) -> Option<TaskId> {
        self.task
    }

    /// The failing child's name, if it was given one.
    ///
    /// ```
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.builder().name("fetch").spawn(async { Err::<(), _>("timeout") });
    /// }))
    /// .unwrap_err();
    /// assert_eq!(err.failures()[0].name(), Some("fetch"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `true` when the failure is the body's rather than a child's.
    ///
    /// ```
    /// let err = eddy::run(eddy::task_group(|_tg| async { Err::<(), _>("body failed") }))
    ///     .unwrap_err();
    /// assert!(err.failures()[0].is_body());
    /// assert_eq!(err.failures()[0].task_id(), None);
    /// ```
    pub fn is_body(&self) -> bool {
        self.child.is_none()
    }

    /// How it failed.
    ///
    /// ```
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { Err::<(), _>("boom") });
    /// }))
    /// .unwrap_err();
    /// let kind = err.failures()[0].kind();
    /// assert!(matches!(kind, eddy_scope::FailureKind::Error(e) if e.to_string() == "boom"));
    /// ```
    pub fn kind(&self) -> &FailureKind {
        &self.kind
    }

    /// The error, if it returned one (rather than panicking).
    ///
    /// ```
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { Err::<(), _>("boom") });
    /// }))
    /// .unwrap_err();
    /// let failure = &err.failures()[0];
    /// assert_eq!(failure.error().unwrap().to_string(), "boom");
    /// assert!(failure.panic().is_none());
    /// ```
    pub fn error(&self) -> Option<&(dyn Error + Send + Sync + 'static)> {
        kind_error(&self.kind)
    }

    /// The panic, if it panicked.
    ///
    /// ```
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { if true { panic!("boom") } });
    /// }))
    /// .unwrap_err();
    /// let failure = &err.failures()[0];
    /// assert_eq!(failure.panic().unwrap().message(), Some("boom"));
    /// assert!(failure.error().is_none());
    /// ```
    pub fn panic(&self) -> Option<&CaughtPanic> {
        kind_panic(&self.kind)
    }

    /// Takes the parts apart.
    ///
    /// A failure is shared with the child's handle (its
    /// [`ChildError::Failed`](crate::ChildError::Failed)). If that outcome
    /// is still alive (the handle not dropped, or the `ChildError` kept),
    /// the error cannot be moved out: it comes back as a
    /// [`ChildFailure`] (boxed, in [`FailureKind::Error`]) that gives access
    /// to it; a shared panic's payload is taken over.
    ///
    /// ```
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { Err::<(), _>("boom") });
    /// }))
    /// .unwrap_err();
    /// match err.into_failures().remove(0).into_kind() {
    ///     eddy_scope::FailureKind::Error(e) => assert_eq!(e.to_string(), "boom"),
    ///     eddy_scope::FailureKind::Panic(p) => panic!("unexpected panic: {p}"),
    /// }
    /// ```
    pub fn into_kind(self) -> FailureKind {
        match Arc::try_unwrap(self.kind) {
            Ok(kind) => kind,
            Err(shared) => match &*shared {
                FailureKind::Panic(p) => FailureKind::Panic(p.take_into_owned()),
                FailureKind::Error(_) => {
                    FailureKind::Error(Box::new(ChildFailure { kind: shared }))
                }
            },
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.child, &self.task, &self.name) {
            (None, _, _) => f.write_str("the group's body")?,
            (Some(_), Some(id), Some(n)) => write!(f, "task {id} ({n})")?,
            (Some(_), Some(id), None) => write!(f, "task {id}")?,
            (Some(_), None, Some(n)) => write!(f, "task {n}")?,
            (Some(_), None, None) => f.write_str("a task")?,
        }
        match &*self.kind {
            FailureKind::Error(e) => write!(f, " failed: {e}"),
            FailureKind::Panic(p) => match p.message() {
                Some(m) => write!(f, " panicked: {m}"),
                None => f.write_str(" panicked"),
            },
        }
    }
}

/// `true` when a member's `Err` is a cancellation passed on (asyncio's
/// re-raised `CancelledError`): awaiting a cancelled sibling's handle with
/// `?`. Such a member counts as cancelled, not failed.
pub(crate) fn is_cancellation(kind: &FailureKind) -> bool {
    let FailureKind::Error(e) = kind else {
        return false;
    };
    matches!(
        e.downcast_ref::<crate::ChildError>(),
        Some(crate::ChildError::Cancelled)
    )
}

fn kind_error(kind: &FailureKind) -> Option<&(dyn Error + Send + Sync + 'static)> {
    match kind {
        FailureKind::Error(e) => Some(&**e),
        FailureKind::Panic(_) => None,
    }
}

fn kind_panic(kind: &FailureKind) -> Option<&CaughtPanic> {
    match kind {
        FailureKind::Panic(p) => Some(p),
        FailureKind::Error(_) => None,
    }
}

/// A child's own failure, as its handle reports it
/// ([`ChildError::Failed`](crate::ChildError::Failed)): the `Err` value it
/// returned or the panic it raised. asyncio's `await task` re-raising the
/// task's exception.
///
/// It is the very failure the group's [`GroupError`] holds, shared (an
/// `Arc`), not a copy: inspect it by reference with
/// [`error`](ChildFailure::error), [`downcast_ref`](ChildFailure::downcast_ref)
/// and [`panic`](ChildFailure::panic). Cloning is cheap; two
/// `ChildFailure`s are equal when they are the same failure.
///
/// As an [`Error`] it displays as the child's error (or `panicked: ..`) and
/// its [`source`](Error::source) is the child's error.
///
/// ```
/// use eddy_scope::ChildError;
///
/// #[derive(Debug)]
/// struct ValueError(u32);
/// impl std::fmt::Display for ValueError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "bad value {}", self.0) }
/// }
/// impl std::error::Error for ValueError {}
///
/// eddy::run(async {
///     let tg = eddy::TaskGroup::new();
///     let t = tg.spawn(async { Err::<(), _>(ValueError(7)) });
///     let eg = tg.join().await.unwrap_err();
///     let Err(ChildError::Failed(failure)) = t.await else { unreachable!() };
///     assert_eq!(failure.downcast_ref::<ValueError>().unwrap().0, 7);
///     assert_eq!(failure.to_string(), "bad value 7");
///     // The same failure as in the group's error.
///     assert!(eg.find::<ValueError>().is_some());
/// });
/// ```
#[derive(Clone)]
pub struct ChildFailure {
    pub(crate) kind: Arc<FailureKind>,
}

impl ChildFailure {
    /// How the child failed.
    ///
    /// ```
    /// # eddy::run(async {
    /// let tg = eddy::TaskGroup::new();
    /// let t = tg.spawn(async { if true { panic!("boom") } });
    /// let _ = tg.join().await;
    /// let Err(eddy::ChildError::Failed(f)) = t.await else { unreachable!() };
    /// assert!(matches!(f.kind(), eddy_scope::FailureKind::Panic(_)));
    /// # });
    /// ```
    pub fn kind(&self) -> &FailureKind {
        &self.kind
    }

    /// The error the child returned, if it did not panic.
    ///
    /// ```
    /// # eddy::run(async {
    /// let tg = eddy::TaskGroup::new();
    /// let t = tg.spawn(async { Err::<(), _>("disk full") });
    /// let _ = tg.join().await;
    /// let Err(eddy::ChildError::Failed(f)) = t.await else { unreachable!() };
    /// assert_eq!(f.error().unwrap().to_string(), "disk full");
    /// assert!(f.panic().is_none());
    /// # });
    /// ```
    pub fn error(&self) -> Option<&(dyn Error + Send + Sync + 'static)> {
        kind_error(&self.kind)
    }

    /// The panic, if the child panicked.
    ///
    /// ```
    /// # eddy::run(async {
    /// let tg = eddy::TaskGroup::new();
    /// let t = tg.spawn(async { if true { panic!("boom") } });
    /// let _ = tg.join().await;
    /// let Err(eddy::ChildError::Failed(f)) = t.await else { unreachable!() };
    /// assert_eq!(f.panic().unwrap().message(), Some("boom"));
    /// assert_eq!(f.to_string(), "panicked: boom");
    /// # });
    /// ```
    pub fn panic(&self) -> Option<&CaughtPanic> {
        kind_panic(&self.kind)
    }

    /// The child's error as an `E`, if it is one.
    ///
    /// ```
    /// use std::io;
    /// # eddy::run(async {
    /// let tg = eddy::TaskGroup::new();
    /// let t = tg.spawn(async { Err::<(), _>(io::Error::new(io::ErrorKind::NotFound, "no config")) });
    /// let _ = tg.join().await;
    /// let Err(eddy::ChildError::Failed(f)) = t.await else { unreachable!() };
    /// assert_eq!(f.downcast_ref::<io::Error>().unwrap().kind(), io::ErrorKind::NotFound);
    /// assert!(f.downcast_ref::<std::fmt::Error>().is_none());
    /// # });
    /// ```
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.error().and_then(|e| e.downcast_ref::<E>())
    }
}

impl fmt::Debug for ChildFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChildFailure").field(&*self.kind).finish()
    }
}

impl fmt::Display for ChildFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            FailureKind::Error(e) => fmt::Display::fmt(e, f),
            FailureKind::Panic(p) => fmt::Display::fmt(p, f),
        }
    }
}

impl Error for ChildFailure {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.error().map(|e| e as &(dyn Error + 'static))
    }
}

impl PartialEq for ChildFailure {
    fn eq(&self, other: &ChildFailure) -> bool {
        Arc::ptr_eq(&self.kind, &other.kind)
    }
}

impl Eq for ChildFailure {}

impl std::hash::Hash for ChildFailure {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.kind), state);
    }
}

/// Every failure of a task group: asyncio's `ExceptionGroup`.
///
/// Failures are kept in the order they happened, the first one first;
/// errors returned by children while the group was cancelling them are
/// collected too. A child that ended because it was cancelled is not a
/// failure (nor is one that returned a cancellation error, a
/// [`ChildError::Cancelled`](crate::ChildError::Cancelled) passed on with
/// `?`: asyncio's re-raised `CancelledError`).
///
/// A child's failure is shared with its handle (awaiting it gives
/// [`ChildError::Failed`](crate::ChildError::Failed) with the same error).
/// Everything by reference works either way; the by-value methods
/// ([`split`](GroupError::split), [`Failure::into_kind`]) can move an error
/// out only once that handle's outcome is gone (the handle dropped, or its
/// `ChildError` dropped): in a [`task_group`](crate::task_group_in) body
/// that is always the case once the group returns.
///
/// Inspect with [`failures`](GroupError::failures), [`find`](GroupError::find),
/// [`contains`](GroupError::contains); take apart by type with
/// [`split`](GroupError::split) (the `except* ValueError` of Python).
///
/// # Example
///
/// ```
/// use std::io;
/// use eddy_scope::GroupError;
///
/// # fn group_error() -> GroupError {
/// #     eddy::run(async {
/// #         let spawner = std::sync::Arc::new(eddy::Handle::current().executor().clone());
/// #         eddy_scope::task_group_in(spawner, |tg| async move {
/// #             // Fails while being cancelled: collected too.
/// #             tg.builder().grace(std::time::Duration::from_secs(1)).spawn(async {
/// #                 eddy::task::cancel_requested().await;
/// #                 Err::<(), _>("parse")
/// #             });
/// #             tg.spawn(async { Err::<(), _>(io::Error::other("disk")) });
/// #             std::future::pending::<()>().await;
/// #         })
/// #         .await
/// #         .unwrap_err()
/// #     })
/// # }
/// let eg = group_error(); // two children failed: an io::Error and a &str
/// assert_eq!(eg.len(), 2);
/// assert!(eg.contains::<io::Error>());
/// let (io_errors, rest) = eg.split::<io::Error>();
/// assert_eq!(io_errors.len(), 1);
/// assert_eq!(rest.map(|r| r.len()), Some(1));
/// ```
pub struct GroupError {
    pub(crate) failures: Vec<Failure>,
}

impl GroupError {
    /// Number of failures (at least one).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.builder().grace(Duration::from_secs(1)).spawn(async {
    ///         eddy::task::cancel_requested().await;
    ///         Err::<(), _>("second") // fails while being cancelled: kept too
    ///     });
    ///     tg.spawn(async { Err::<(), _>("first") });
    /// }))
    /// .unwrap_err();
    /// assert_eq!(err.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.failures.len()
    }

    /// Always `false`: a group error holds at least one failure. Provided
    /// for symmetry with `len`.
    ///
    /// ```
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { Err::<(), _>("boom") });
    /// }))
    /// .unwrap_err();
    /// assert!(!err.is_empty());
    /// assert_eq!(err.len(), 1);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }

    /// The failures, first one first.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.builder().grace(Duration::from_secs(1)).spawn(async {
    ///         eddy::task::cancel_requested().await;
    ///         Err::<(), _>("second") // fails while being cancelled: kept too
    ///     });
    ///     tg.spawn(async { Err::<(), _>("first") });
    /// }))
    /// .unwrap_err();
    /// let messages: Vec<String> = err.failures().iter().map(|f| f.error().unwrap().to_string()).collect();
    /// assert_eq!(messages, ["first", "second"]);
    /// ```
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// Takes the failures out.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.builder().grace(Duration::from_secs(1)).spawn(async {
    ///         eddy::task::cancel_requested().await;
    ///         Err::<(), _>("second") // fails while being cancelled: kept too
    ///     });
    ///     tg.spawn(async { Err::<(), _>("first") });
    /// }))
    /// .unwrap_err();
    /// let failures = err.into_failures();
    /// assert_eq!(failures.len(), 2);
    /// assert!(failures.iter().all(|f| !f.is_body()));
    /// ```
    pub fn into_failures(self) -> Vec<Failure> {
        self.failures
    }

    /// The errors returned (panics left out), first one first.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.builder().grace(Duration::from_secs(1)).spawn(async {
    ///         eddy::task::cancel_requested().await;
    ///         Err::<(), _>("bad input")
    ///     });
    ///     tg.spawn(async { if true { panic!("boom") } });
    /// }))
    /// .unwrap_err();
    /// assert_eq!(err.len(), 2);
    /// let errors: Vec<String> = err.errors().map(|e| e.to_string()).collect();
    /// assert_eq!(errors, ["bad input"]); // the panic is left out
    /// ```
    pub fn errors(&self) -> impl Iterator<Item = &(dyn Error + Send + Sync + 'static)> {
        self.failures.iter().filter_map(Failure::error)
    }

    /// The panics, first one first.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.builder().grace(Duration::from_secs(1)).spawn(async {
    ///         eddy::task::cancel_requested().await;
    ///         Err::<(), _>("bad input")
    ///     });
    ///     tg.spawn(async { if true { panic!("boom") } });
    /// }))
    /// .unwrap_err();
    /// let panics: Vec<_> = err.panics().map(|p| p.message()).collect();
    /// assert_eq!(panics, [Some("boom")]); // the error is left out
    /// ```
    pub fn panics(&self) -> impl Iterator<Item = &CaughtPanic> {
        self.failures.iter().filter_map(Failure::panic)
    }

    /// The first error of type `E`.
    ///
    /// ```
    /// use std::io;
    ///
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { Err::<(), _>(io::Error::new(io::ErrorKind::NotFound, "no config")) });
    /// }))
    /// .unwrap_err();
    /// assert_eq!(err.find::<io::Error>().unwrap().kind(), io::ErrorKind::NotFound);
    /// assert!(err.find::<std::fmt::Error>().is_none());
    /// ```
    pub fn find<E: Error + 'static>(&self) -> Option<&E> {
        self.errors().find_map(|e| e.downcast_ref::<E>())
    }

    /// `true` if some child failed with an error of type `E`.
    ///
    /// ```
    /// use std::io;
    ///
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { Err::<(), _>(io::Error::other("disk full")) });
    /// }))
    /// .unwrap_err();
    /// assert!(err.contains::<io::Error>());
    /// assert!(!err.contains::<std::fmt::Error>());
    /// ```
    pub fn contains<E: Error + 'static>(&self) -> bool {
        self.find::<E>().is_some()
    }

    /// Splits off every error of type `E` (Python's
    /// `except* E` / `ExceptionGroup.split`): the matching errors, and a
    /// group of the rest if any remain.
    ///
    /// An error still shared with a live child handle's outcome (see the
    /// type's docs) cannot be moved out and stays in the rest.
    ///
    /// ```
    /// use std::io;
    ///
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { Err::<(), _>(io::Error::other("disk full")) });
    /// }))
    /// .unwrap_err();
    /// assert!(err.contains::<io::Error>());
    /// assert!(!err.contains::<std::fmt::Error>());
    /// assert_eq!(err.find::<io::Error>().unwrap().to_string(), "disk full");
    /// let (io_errors, rest) = err.split::<io::Error>();
    /// assert_eq!(io_errors.len(), 1);
    /// assert!(rest.is_none()); // nothing else failed
    /// ```
    pub fn split<E: Error + 'static>(self) -> (Vec<E>, Option<GroupError>) {
        let mut matched = Vec::new();
        let mut rest = Vec::new();
        for f in self.failures {
            if !f.error().is_some_and(|e| e.is::<E>()) {
                rest.push(f);
                continue;
            }
            match Arc::try_unwrap(f.kind) {
                Ok(FailureKind::Error(e)) => match e.downcast::<E>() {
                    Ok(e) => matched.push(*e),
                    Err(e) => rest.push(Failure {
                        kind: Arc::new(FailureKind::Error(e)),
                        ..f
                    }),
                },
                Ok(kind) => rest.push(Failure {
                    kind: Arc::new(kind),
                    ..f
                }),
                Err(shared) => rest.push(Failure { kind: shared, ..f }),
            }
        }
        let rest = (!rest.is_empty()).then_some(GroupError { failures: rest });
        (matched, rest)
    }

    /// Keeps the failures for which `keep` is true, like
    /// `ExceptionGroup.subgroup`; `None` if none remain.
    ///
    /// ```
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     let grace = std::time::Duration::from_secs(1);
    ///     tg.builder().name("db").grace(grace).spawn(async {
    ///         eddy::task::cancel_requested().await;
    ///         Err::<(), _>("timeout")
    ///     });
    ///     tg.builder().name("cache").spawn(async { Err::<(), _>("miss") });
    /// }))
    /// .unwrap_err();
    /// assert_eq!(err.len(), 2);
    /// let db = err.subgroup(|f| f.name() == Some("db")).unwrap();
    /// assert_eq!(db.len(), 1);
    /// assert_eq!(db.failures()[0].error().unwrap().to_string(), "timeout");
    /// assert!(db.subgroup(|f| f.name() == Some("web")).is_none());
    /// ```
    pub fn subgroup(self, mut keep: impl FnMut(&Failure) -> bool) -> Option<GroupError> {
        let failures: Vec<Failure> = self.failures.into_iter().filter(|f| keep(f)).collect();
        (!failures.is_empty()).then_some(GroupError { failures })
    }

    /// Re-raises the first panic, if any child panicked; otherwise gives the
    /// error back.
    ///
    /// # Panics
    ///
    /// With the first child's panic payload, when one panicked.
    ///
    /// ```
    /// use std::panic::{AssertUnwindSafe, catch_unwind};
    ///
    /// // No child panicked: the error comes back unchanged.
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { Err::<(), _>("boom") });
    /// }))
    /// .unwrap_err();
    /// assert_eq!(err.resume_panic().len(), 1);
    ///
    /// // A child panicked: its panic continues here.
    /// let err = eddy::run(eddy::task_group(|tg| async move {
    ///     tg.spawn(async { if true { panic!("boom") } });
    /// }))
    /// .unwrap_err();
    /// let payload = catch_unwind(AssertUnwindSafe(|| err.resume_panic())).unwrap_err();
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// ```
    pub fn resume_panic(self) -> GroupError {
        // Taken through the shared reference: works whether or not a
        // child's handle still shares the failure.
        let first = self
            .failures
            .iter()
            .find_map(|f| f.panic().map(CaughtPanic::take));
        if let Some(panic) = first {
            std::panic::resume_unwind(panic.into_payload());
        }
        self
    }
}

impl fmt::Debug for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.failures).finish()
    }
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.failures.len();
        write!(
            f,
            "{n} failure{} in task group",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, fail) in self.failures.iter().enumerate() {
            write!(f, "{}{fail}", if i == 0 { ": " } else { "; " })?;
        }
        Ok(())
    }
}

impl Error for GroupError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.failures
            .iter()
            .find_map(|f| f.error().map(|e| e as &(dyn Error + 'static)))
    }
}
