//! Jobs a worker can run, and the worker's entry point.

use std::collections::HashMap;
use std::fmt;
use std::io::{BufReader, BufWriter};
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::DEFAULT_MAX_FRAME;
use super::wire::{self, ENVELOPE, RemoteError, Request, Response};

/// A plain Rust function a process pool can run, known by name.
///
/// Input and output cross the process boundary as
/// [postcard](https://docs.rs/postcard) bytes, so both must be serde types.
/// Declare jobs as `static`s and register the same ones in the worker's
/// [`Registry`]; the name is what travels, so it must be unique.
///
/// # Example
///
/// ```
/// use eddy_blocking::process::ProcessJob;
///
/// fn cpu_intensive(n: u64) -> u64 {
///     (0..n).map(|i| i * i).sum()
/// }
///
/// static CPU_INTENSIVE: ProcessJob<u64, u64> = ProcessJob::new("cpu_intensive", cpu_intensive);
/// assert_eq!(CPU_INTENSIVE.name(), "cpu_intensive");
/// assert_eq!(CPU_INTENSIVE.call(4), 14);
/// ```
pub struct ProcessJob<I, O> {
    name: &'static str,
    f: fn(I) -> O,
}

impl<I, O> ProcessJob<I, O> {
    /// A job called `name` that runs `f`.
    ///
    /// ```
    /// static LEN: eddy_blocking::process::ProcessJob<String, usize> =
    ///     eddy_blocking::process::ProcessJob::new("len", |s: String| s.len());
    /// assert_eq!(LEN.call("four".into()), 4);
    /// ```
    pub const fn new(name: &'static str, f: fn(I) -> O) -> ProcessJob<I, O> {
        ProcessJob { name, f }
    }

    /// The name the job is registered and requested under.
    ///
    /// ```
    /// static J: eddy_blocking::process::ProcessJob<(), ()> = eddy_blocking::process::ProcessJob::new("j", |()| ());
    /// assert_eq!(J.name(), "j");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs the function in this process (what a worker does).
    ///
    /// ```
    /// static INC: eddy_blocking::process::ProcessJob<u8, u8> = eddy_blocking::process::ProcessJob::new("inc", |x| x + 1);
    /// assert_eq!(INC.call(1), 2);
    /// ```
    pub fn call(&self, input: I) -> O {
        (self.f)(input)
    }
}

impl<I, O> fmt::Debug for ProcessJob<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessJob")
            .field("name", &self.name)
            .finish()
    }
}

type Entry = Box<dyn Fn(&[u8], usize) -> Result<Vec<u8>, RemoteError> + Send + Sync>;

/// The jobs a worker process can run, by name.
///
/// Build it once and pass it to [`worker_main_if_child`] at the start of
/// `main`; the pool side only needs the [`ProcessJob`] statics.
///
/// ```
/// use eddy_blocking::process::{ProcessJob, Registry};
///
/// fn double(x: i32) -> i32 {
///     x * 2
/// }
/// static DOUBLE: ProcessJob<i32, i32> = ProcessJob::new("double", double);
///
/// let registry = Registry::new().register(&DOUBLE);
/// assert!(registry.contains("double"));
/// assert!(!registry.contains("triple"));
/// ```
#[derive(Default)]
pub struct Registry {
    jobs: HashMap<&'static str, Entry>,
}

impl Registry {
    /// An empty registry.
    ///
    /// ```
    /// assert!(!eddy_blocking::process::Registry::new().contains("x"));
    /// ```
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a job.
    ///
    /// # Panics
    ///
    /// If another job with the same name is already registered: two
    /// functions behind one name would make requests ambiguous.
    ///
    /// ```should_panic
    /// use eddy_blocking::process::{ProcessJob, Registry};
    /// static A: ProcessJob<(), ()> = ProcessJob::new("same", |()| ());
    /// static B: ProcessJob<u8, u8> = ProcessJob::new("same", |x| x);
    /// let _ = Registry::new().register(&A).register(&B);
    /// ```
    pub fn register<I, O>(mut self, job: &'static ProcessJob<I, O>) -> Registry
    where
        I: DeserializeOwned + 'static,
        O: Serialize + 'static,
    {
        let f = job.f;
        let entry: Entry = Box::new(move |input, limit| {
            let input: I =
                postcard::from_bytes(input).map_err(|e| RemoteError::BadInput(e.to_string()))?;
            let out = catch_unwind(AssertUnwindSafe(|| f(input))).map_err(|p| {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned());
                RemoteError::Panicked(msg)
            })?;
            let bytes =
                postcard::to_stdvec(&out).map_err(|e| RemoteError::BadOutput(e.to_string()))?;
            if bytes.len() + ENVELOPE > limit {
                return Err(RemoteError::OutputTooLarge {
                    size: bytes.len() as u64,
                    limit: limit as u64,
                });
            }
            Ok(bytes)
        });
        if self.jobs.insert(job.name, entry).is_some() {
            panic!(
                "eddy_blocking::process::Registry: job {:?} registered twice",
                job.name
            );
        }
        self
    }

    /// `true` if a job called `name` is registered.
    ///
    /// ```
    /// assert!(!eddy_blocking::process::Registry::new().contains("nope"));
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.jobs.contains_key(name)
    }

    fn call(&self, name: &str, input: &[u8], limit: usize) -> Result<Vec<u8>, RemoteError> {
        match self.jobs.get(name) {
            Some(f) => f(input, limit),
            None => Err(RemoteError::UnknownJob(name.to_owned())),
        }
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.jobs.keys().collect();
        names.sort();
        f.debug_struct("Registry").field("jobs", &names).finish()
    }
}

/// `true` when this process was started by a [`ProcessPool`](super::ProcessPool)
/// as one of its workers.
///
/// ```
/// assert!(!eddy_blocking::process::is_worker());
/// ```
pub fn is_worker() -> bool {
    std::env::var_os(wire::ENV_WORKER).is_some()
}

/// The worker entry point: call it first thing in `main`.
///
/// In a process started by a [`ProcessPool`](super::ProcessPool) it serves
/// jobs from `registry` over its stdin/stdout until the pool closes the pipe,
/// then exits the process; it never returns there. In any other process it
/// returns at once, and `main` carries on as the parent.
///
/// While serving, the job functions' own writes to stdout go to stderr
/// instead, so a stray `println!` cannot corrupt the protocol. A worker
/// whose parent dies is killed by the kernel (Linux parent-death signal), so
/// workers never outlive their pool's process.
///
/// # Example
///
/// ```no_run
/// use eddy_blocking::process::{ProcessJob, Registry, worker_main_if_child};
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
/// static SQUARE: ProcessJob<u64, u64> = ProcessJob::new("square", square);
///
/// fn main() {
///     worker_main_if_child(&Registry::new().register(&SQUARE));
///     // Only the parent gets here.
/// }
/// ```
pub fn worker_main_if_child(registry: &Registry) {
    if !is_worker() {
        return;
    }
    let code = match serve(registry) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("eddy-blocking worker {}: {e}", std::process::id());
            101
        }
    };
    std::process::exit(code);
}

fn serve(registry: &Registry) -> std::io::Result<()> {
    // Die with the parent; if it is already gone, stop now.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
        let expected = std::env::var(wire::ENV_PARENT)
            .ok()
            .and_then(|p| p.parse::<i32>().ok());
        let actual = rustix::process::getppid().map(|p| p.as_raw_nonzero().get());
        if expected.is_some() && expected != actual {
            return Ok(());
        }
    }
    let limit = std::env::var(wire::ENV_MAX_FRAME)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MAX_FRAME);
    // Frames travel on private copies of stdin and stdout; fd 1 itself now
    // points at stderr and fd 0 at /dev/null, so job code that prints or
    // reads standard input cannot corrupt or steal frames.
    let frames_out = rustix::io::dup(std::io::stdout())?;
    let frames_in = rustix::io::dup(std::io::stdin())?;
    rustix::stdio::dup2_stdout(std::io::stderr())?;
    rustix::stdio::dup2_stdin(std::fs::File::open("/dev/null")?)?;
    let mut out = BufWriter::new(std::fs::File::from(frames_out));
    let mut input = BufReader::new(std::fs::File::from(frames_in));
    // The hello frame tells the pool this program really is a worker.
    let hello = postcard::to_stdvec(&Response {
        id: wire::HELLO_ID,
        result: Ok(Vec::new()),
    })
    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    wire::write_frame(&mut out, &hello)?;
    while let Some(body) = wire::read_frame(&mut input, limit)? {
        let req: Request<'_> = postcard::from_bytes(&body)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        let result = registry.call(req.job, req.input, limit);
        let resp = postcard::to_stdvec(&Response { id: req.id, result })
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        wire::write_frame(&mut out, &resp)?;
    }
    Ok(())
}
