use std::fmt;
use std::future::Future;
use std::io;

use crate::Builder;

/// Runs `fut` to completion on a fresh current-thread runtime, like
/// `asyncio.run(main())`.
///
/// The runtime is created, runs `fut` (and every task it spawns) until `fut`
/// completes, then cancels every task still alive, runs their destructors, and
/// shuts down. Use [`Builder`] for a multi-threaded runtime or other options.
///
/// # Panics
///
/// When called from inside a running eddy runtime: like asyncio's
/// "asyncio.run() cannot be called from a running event loop", blocking there
/// would stall the outer loop. Use `.await` or [`spawn`](crate::spawn)
/// instead, or [`try_run`] to get the error as a value. Also panics if the
/// runtime cannot be created (see [`try_run`]) or if `fut` panics.
///
/// # Example
///
/// ```
/// async fn fetch(url: &str) -> String {
///     eddy::sleep(std::time::Duration::from_millis(1)).await;
///     format!("Response from {url}")
/// }
///
/// let result = eddy::run(fetch("https://api.example.com"));
/// assert_eq!(result, "Response from https://api.example.com");
/// ```
#[track_caller]
pub fn run<F: Future>(fut: F) -> F::Output {
    match try_run(fut) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// [`run`], returning an error instead of panicking when the runtime cannot
/// start.
///
/// # Errors
///
/// [`RunError::NestedRuntime`] inside a running runtime, [`RunError::Io`] if
/// the reactor cannot be created.
///
/// ```
/// let err = eddy::run(async { eddy::try_run(async { 1 }).unwrap_err() });
/// assert!(matches!(err, eddy::RunError::NestedRuntime));
/// assert_eq!(eddy::try_run(async { 1 }).unwrap(), 1);
/// ```
pub fn try_run<F: Future>(fut: F) -> Result<F::Output, RunError> {
    if eddy_executor::is_inside_runtime() {
        return Err(RunError::NestedRuntime);
    }
    let rt = Builder::current_thread().build().map_err(RunError::Io)?;
    Ok(rt.block_on(fut))
}

/// Why [`try_run`] could not run a future.
///
/// ```
/// assert_eq!(
///     eddy::RunError::NestedRuntime.to_string(),
///     "eddy::run() cannot be called from a running event loop: use .await or eddy::spawn instead"
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// Called from inside a running runtime.
    NestedRuntime,
    /// The runtime could not be created.
    Io(io::Error),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::NestedRuntime => f.write_str(
                "eddy::run() cannot be called from a running event loop: use .await or eddy::spawn instead",
            ),
            RunError::Io(e) => write!(f, "could not start the eddy runtime: {e}"),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Io(e) => Some(e),
            RunError::NestedRuntime => None,
        }
    }
}
