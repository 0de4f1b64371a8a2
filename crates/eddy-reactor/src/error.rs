use std::fmt;
use std::io;

/// Why the reactor could not serve a request.
///
/// It reaches callers inside an [`io::Error`] (the I/O methods return
/// `io::Result`); recover it with [`io::Error::get_ref`] and `downcast_ref`.
///
/// # Example
///
/// ```
/// use std::io;
/// use eddy_reactor::ReactorError;
///
/// let err: io::Error = ReactorError::NoReactor.into();
/// assert_eq!(err.kind(), io::ErrorKind::NotFound);
/// let inner = err.get_ref().and_then(|e| e.downcast_ref::<ReactorError>());
/// assert_eq!(inner, Some(&ReactorError::NoReactor));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReactorError {
    /// No reactor is entered on this thread (see
    /// [`ReactorHandle::enter`](crate::ReactorHandle::enter)).
    NoReactor,
    /// The [`Reactor`](crate::Reactor) was dropped: nobody dispatches events
    /// for its sources any more, so waiting on them would never end.
    Shutdown,
}

impl fmt::Display for ReactorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReactorError::NoReactor => "no eddy reactor is entered on this thread",
            ReactorError::Shutdown => "the eddy reactor has shut down",
        })
    }
}

impl std::error::Error for ReactorError {}

impl From<ReactorError> for io::Error {
    fn from(e: ReactorError) -> io::Error {
        let kind = match e {
            ReactorError::NoReactor => io::ErrorKind::NotFound,
            ReactorError::Shutdown => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}
