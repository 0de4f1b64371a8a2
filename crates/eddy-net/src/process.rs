//! Child processes with async pipes and an async wait, like asyncio's
//! `create_subprocess_exec`.
//!
//! [`Command`] wraps `std::process::Command` (same builder methods); its
//! [`spawn`](Command::spawn) gives a [`Child`] whose piped stdin, stdout and
//! stderr are async streams ([`ChildStdin`] implements `AsyncWrite`,
//! [`ChildStdout`] and [`ChildStderr`] implement `AsyncRead`), and whose
//! [`wait`](Child::wait) suspends the task, not the thread.
//!
//! # How exits are noticed
//!
//! On Linux (5.3 and later) each child gets a *pidfd*, a descriptor that
//! becomes readable when the child exits; it sits in the reactor like a
//! socket, so waiting costs nothing until the exit. Elsewhere (or if
//! `pidfd_open` is unavailable) the child listens for `SIGCHLD` through
//! [`signal`](crate::signal) and checks its own status on each one.
//! Either way only this child is reaped (`waitpid` on its pid), so other
//! code's children are left alone.
//!
//! # No zombies
//!
//! A [`Child`] dropped before its exit was collected is handed to a
//! background task that waits for it and reaps it (or to a short-lived
//! thread if no runtime is running, or the runtime is shutting down; the
//! task is spawned through the [spawn hook](crate::hooks::set_spawn_hook),
//! so with the reactor alone it is always the thread). The
//! child keeps running unless [`kill_on_drop`](Command::kill_on_drop) was
//! set. Cancelling a [`wait`](Child::wait) leaves the child in its `Child`,
//! so nothing leaks either way.
//!
//! # Example
//!
//! ```
//! use eddy_net::process::{Command, Stdio};
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//!
//! eddy::run(async {
//!     let mut child = Command::new("tr")
//!         .arg("a-z")
//!         .arg("A-Z")
//!         .stdin(Stdio::piped())
//!         .stdout(Stdio::piped())
//!         .spawn()?;
//!     let mut stdin = child.stdin.take().unwrap();
//!     stdin.write_all(b"shout").await?;
//!     drop(stdin); // EOF for `tr`
//!     let mut out = String::new();
//!     child.stdout.take().unwrap().read_to_string(&mut out).await?;
//!     assert_eq!(out, "SHOUT");
//!     assert!(child.wait().await?.success());
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, StreamExt};

pub use std::process::{ExitStatus, Output, Stdio};

use crate::signal::{SignalKind, Signals};
use eddy_reactor::Async;

/// Builds and spawns a child process; the builder methods are
/// `std::process::Command`'s.
///
/// By default the child inherits stdin, stdout and stderr, except that
/// [`output`](Command::output) pipes stdout and stderr (and gives stdin
/// `/dev/null`), as std does.
///
/// # Example
///
/// ```
/// eddy::run(async {
///     let status = eddy_net::process::Command::new("sh").args(["-c", "exit 3"]).status().await?;
///     assert_eq!(status.code(), Some(3));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Command {
    inner: std::process::Command,
    kill_on_drop: bool,
    /// Which of stdin, stdout, stderr the caller configured; `output` picks
    /// its defaults only for the others.
    configured: [bool; 3],
}

impl Command {
    /// A command that runs `program` (looked up in `PATH` if it has no
    /// slash).
    ///
    /// ```
    /// let cmd = eddy_net::process::Command::new("echo");
    /// # drop(cmd);
    /// ```
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command {
            inner: std::process::Command::new(program),
            kill_on_drop: false,
            configured: [false; 3],
        }
    }

    /// Adds one argument.
    ///
    /// ```
    /// let mut cmd = eddy_net::process::Command::new("echo");
    /// cmd.arg("hello");
    /// ```
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.inner.arg(arg);
        self
    }

    /// Adds arguments.
    ///
    /// ```
    /// let mut cmd = eddy_net::process::Command::new("echo");
    /// cmd.args(["a", "b"]);
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// ```
    /// eddy::run(async {
    ///     let out = eddy_net::process::Command::new("sh")
    ///         .args(["-c", "printf %s \"$GREETING\""])
    ///         .env("GREETING", "hi")
    ///         .output()
    ///         .await?;
    ///     assert_eq!(out.stdout, b"hi");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn env<K: AsRef<OsStr>, V: AsRef<OsStr>>(&mut self, key: K, val: V) -> &mut Command {
        self.inner.env(key, val);
        self
    }

    /// Sets several environment variables.
    ///
    /// ```
    /// let mut cmd = eddy_net::process::Command::new("env");
    /// cmd.envs([("A", "1"), ("B", "2")]);
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    ///
    /// ```
    /// let mut cmd = eddy_net::process::Command::new("env");
    /// cmd.env_remove("HOME");
    /// ```
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.inner.env_remove(key);
        self
    }

    /// Starts the child with an empty environment.
    ///
    /// ```
    /// let mut cmd = eddy_net::process::Command::new("/usr/bin/env");
    /// cmd.env_clear();
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.inner.env_clear();
        self
    }

    /// Sets the child's working directory.
    ///
    /// ```
    /// eddy::run(async {
    ///     let out = eddy_net::process::Command::new("pwd").current_dir("/").output().await?;
    ///     assert_eq!(out.stdout, b"/\n");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.inner.current_dir(dir);
        self
    }

    /// Configures the child's stdin ([`Stdio::piped`] gives
    /// [`Child::stdin`]).
    ///
    /// ```
    /// use eddy_net::process::{Command, Stdio};
    /// let mut cmd = Command::new("cat");
    /// cmd.stdin(Stdio::piped());
    /// ```
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdin(cfg);
        self.configured[0] = true;
        self
    }

    /// Configures the child's stdout ([`Stdio::piped`] gives
    /// [`Child::stdout`]).
    ///
    /// ```
    /// use eddy_net::process::{Command, Stdio};
    /// let mut cmd = Command::new("echo");
    /// cmd.stdout(Stdio::null());
    /// ```
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdout(cfg);
        self.configured[1] = true;
        self
    }

    /// Configures the child's stderr ([`Stdio::piped`] gives
    /// [`Child::stderr`]).
    ///
    /// ```
    /// use eddy_net::process::{Command, Stdio};
    /// let mut cmd = Command::new("ls");
    /// cmd.stderr(Stdio::piped());
    /// ```
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stderr(cfg);
        self.configured[2] = true;
        self
    }

    /// Whether dropping the [`Child`] before it was waited for kills it
    /// (`SIGKILL`). Off by default: the child runs on and is reaped in the
    /// background.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// eddy::run(async {
    ///     let child = eddy_net::process::Command::new("sleep").arg("30").kill_on_drop(true).spawn()?;
    ///     let pid = child.id().unwrap();
    ///     drop(child); // killed, then reaped in the background
    ///     eddy::sleep(Duration::from_millis(50)).await;
    ///     # let _ = pid;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// Starts the child.
    ///
    /// # Errors
    ///
    /// The program could not be started (e.g. `NotFound`), or no reactor
    /// is entered on this thread, as there is in any eddy runtime (the
    /// pipes and the exit watch need it).
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let mut child = eddy_net::process::Command::new("true").spawn()?;
    ///     assert!(child.wait().await?.success());
    ///     assert!(eddy_net::process::Command::new("/no/such/program").spawn().is_err());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        // Fail before starting anything if there is no reactor.
        if eddy_reactor::ReactorHandle::try_current().is_none() {
            return Err(eddy_reactor::ReactorError::NoReactor.into());
        }
        // An exit before the watch exists is not lost: every wait checks
        // `try_wait` after the watch is in place and before sleeping.
        let mut child = self.inner.spawn()?;
        let watch = match ExitWatch::new(&child) {
            Ok(w) => w,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let stdin = child.stdin.take().map(ChildStdin::new).transpose();
        let stdout = child.stdout.take().map(ChildStdout::new).transpose();
        let stderr = child.stderr.take().map(ChildStderr::new).transpose();
        let mut child = Child {
            child: Some(child),
            watch: Some(watch),
            status: None,
            kill_on_drop: self.kill_on_drop,
            stdin: None,
            stdout: None,
            stderr: None,
        };
        // On a registration error, dropping `child` reaps it.
        child.stdin = stdin?;
        child.stdout = stdout?;
        child.stderr = stderr?;
        Ok(child)
    }

    /// Runs the child to completion and returns its exit status. Stdio is
    /// inherited unless configured.
    ///
    /// Cancel safe in the sense that nothing leaks: if the future is
    /// dropped, the child keeps running (or is killed, with
    /// [`kill_on_drop`](Command::kill_on_drop)) and is reaped in the
    /// background.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Command::spawn), or waiting failed.
    ///
    /// # Example
    ///
    /// See [`Command`].
    ///
    /// ```
    /// eddy::run(async {
    ///     assert!(!eddy_net::process::Command::new("false").status().await?.success());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait().await
    }

    /// Runs the child to completion, collecting its stdout and stderr
    /// (piped unless configured otherwise; stdin is `/dev/null` unless
    /// configured). Those defaults stay set on this `Command` for later
    /// spawns.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Command::spawn), or reading a pipe or waiting failed.
    ///
    /// # Example
    ///
    /// ```
    /// eddy::run(async {
    ///     let out = eddy_net::process::Command::new("sh").args(["-c", "echo out; echo err >&2"]).output().await?;
    ///     assert!(out.status.success());
    ///     assert_eq!(out.stdout, b"out\n");
    ///     assert_eq!(out.stderr, b"err\n");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn output(&mut self) -> io::Result<Output> {
        // std's defaults for `output`, for the streams the caller left alone.
        // std has no getter for a Command's stdio, hence the flags.
        if !self.configured[0] {
            self.inner.stdin(Stdio::null());
        }
        if !self.configured[1] {
            self.inner.stdout(Stdio::piped());
        }
        if !self.configured[2] {
            self.inner.stderr(Stdio::piped());
        }
        self.spawn()?.wait_with_output().await
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// How a child's exit is noticed; see the module docs.
enum ExitWatch {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Pidfd(Async<OwnedFd>),
    Sigchld(Signals),
}

impl ExitWatch {
    fn new(child: &std::process::Child) -> io::Result<ExitWatch> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let pid = rustix::process::Pid::from_child(child);
            if let Ok(fd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
                return Ok(ExitWatch::Pidfd(Async::new(fd)?));
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = child;
        Ok(ExitWatch::Sigchld(Signals::new([SignalKind::CHILD])?))
    }

    /// Waits until `child` has exited and reaps it.
    async fn wait(&mut self, child: &mut std::process::Child) -> io::Result<ExitStatus> {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            ExitWatch::Pidfd(fd) => {
                fd.read_with(|_| match child.try_wait()? {
                    Some(status) => Ok(status),
                    // Not yet: clear readiness and wait for the pidfd.
                    None => Err(io::ErrorKind::WouldBlock.into()),
                })
                .await
            }
            ExitWatch::Sigchld(signals) => loop {
                if let Some(status) = child.try_wait()? {
                    return Ok(status);
                }
                if signals.next().await.is_none() {
                    return Err(io::Error::other("the reactor shut down"));
                }
            },
        }
    }
}

/// A running (or finished) child process from [`Command::spawn`].
///
/// Dropping it never leaves a zombie: see the [module docs](self).
///
/// # Example
///
/// See the [module docs](self).
///
/// ```
/// eddy::run(async {
///     let mut child = eddy_net::process::Command::new("sleep").arg("10").spawn()?;
///     child.kill()?;
///     let status = child.wait().await?;
///     assert!(!status.success());
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Child {
    /// `None` only while `Drop` hands it to the reaper.
    child: Option<std::process::Child>,
    watch: Option<ExitWatch>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    /// The child's stdin, if piped.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    fn std(&mut self) -> &mut std::process::Child {
        // `child` is only taken in `Drop`.
        self.child.as_mut().expect("Child used during drop")
    }

    /// The process id, or `None` once the child has been reaped (the id may
    /// then belong to another process).
    ///
    /// ```
    /// eddy::run(async {
    ///     let mut child = eddy_net::process::Command::new("true").spawn()?;
    ///     assert!(child.id().is_some());
    ///     child.wait().await?;
    ///     assert_eq!(child.id(), None);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn id(&self) -> Option<u32> {
        match (&self.status, &self.child) {
            (None, Some(c)) => Some(c.id()),
            _ => None,
        }
    }

    /// Waits for the child to exit and returns its status (asyncio's
    /// `await proc.wait()`). Closes nothing: if you piped stdin, drop it
    /// first when the child waits for EOF.
    ///
    /// Cancel safe: dropping the future leaves the child in this `Child`;
    /// a later `wait` (or the drop of the `Child`) collects it.
    ///
    /// # Errors
    ///
    /// `waitpid(2)` failed, or the reactor shut down.
    ///
    /// # Example
    ///
    /// See [`Child`].
    ///
    /// ```
    /// eddy::run(async {
    ///     let mut child = eddy_net::process::Command::new("sh").args(["-c", "exit 7"]).spawn()?;
    ///     assert_eq!(child.wait().await?.code(), Some(7));
    ///     assert_eq!(child.wait().await?.code(), Some(7)); // remembered
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        // Both stay in `self` while waiting, so a cancelled wait leaves the
        // child fully waitable.
        let (Some(watch), Some(child)) = (&mut self.watch, &mut self.child) else {
            return Err(io::Error::other("Child used during drop"));
        };
        let status = watch.wait(child).await?;
        self.status = Some(status);
        Ok(status)
    }

    /// The exit status if the child has exited (reaping it), without
    /// waiting.
    ///
    /// # Errors
    ///
    /// `waitpid(2)` failed.
    ///
    /// ```
    /// eddy::run(async {
    ///     let mut child = eddy_net::process::Command::new("sleep").arg("10").kill_on_drop(true).spawn()?;
    ///     assert!(child.try_wait()?.is_none());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.std().try_wait()?;
        }
        Ok(self.status)
    }

    /// Kills the child (`SIGKILL`) without waiting for it (asyncio's
    /// `proc.kill()`); [`wait`](Child::wait) afterwards to collect it.
    /// Does nothing if the child was already reaped.
    ///
    /// # Errors
    ///
    /// `kill(2)` failed.
    ///
    /// # Example
    ///
    /// See [`Child`].
    ///
    /// ```
    /// eddy::run(async {
    ///     let mut child = eddy_net::process::Command::new("true").spawn()?;
    ///     child.wait().await?;
    ///     child.kill()?; // already gone: no error
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        self.std().kill()
    }

    /// Sends `signal` to the child (asyncio's `proc.send_signal`; use
    /// [`SignalKind::TERMINATE`] for `proc.terminate()`). Does nothing if
    /// the child was already reaped, so a recycled pid is never signalled.
    ///
    /// # Errors
    ///
    /// `kill(2)` failed, or `signal` is not a valid signal number
    /// (`InvalidInput`).
    ///
    /// ```
    /// use eddy_net::signal::SignalKind;
    /// use std::os::unix::process::ExitStatusExt;
    ///
    /// eddy::run(async {
    ///     let mut child = eddy_net::process::Command::new("sleep").arg("10").spawn()?;
    ///     child.send_signal(SignalKind::TERMINATE)?;
    ///     assert_eq!(child.wait().await?.signal(), Some(SignalKind::TERMINATE.as_raw()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_signal(&mut self, signal: SignalKind) -> io::Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        let sig = rustix::process::Signal::from_named_raw(signal.as_raw()).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("invalid {signal}"))
        })?;
        let pid = rustix::process::Pid::from_child(self.std());
        Ok(rustix::process::kill_process(pid, sig)?)
    }

    /// Closes stdin, then collects stdout and stderr (those that are piped)
    /// while waiting for the exit, like asyncio's `proc.communicate()`.
    ///
    /// # Errors
    ///
    /// Reading a pipe or waiting failed.
    ///
    /// # Example
    ///
    /// ```
    /// use eddy_net::process::{Command, Stdio};
    ///
    /// eddy::run(async {
    ///     let child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    ///     let out = child.wait_with_output().await?;
    ///     assert_eq!(out.stdout, b"hi\n");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (mut out, mut err) = (self.stdout.take(), self.stderr.take());
        let read_out = async {
            let mut buf = Vec::new();
            if let Some(s) = &mut out {
                s.read_to_end(&mut buf).await?;
            }
            Ok::<_, io::Error>(buf)
        };
        let read_err = async {
            let mut buf = Vec::new();
            if let Some(s) = &mut err {
                s.read_to_end(&mut buf).await?;
            }
            Ok::<_, io::Error>(buf)
        };
        let (stdout, stderr) = futures_lite::future::zip(read_out, read_err).await;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout: stdout?,
            stderr: stderr?,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if self.status.is_some() {
            return;
        }
        if self.kill_on_drop {
            let _ = child.kill();
        }
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        let orphan = Orphan {
            child: Some(child),
            watch: self.watch.take(),
        };
        // A task on the current executor waits for it; a refused spawn
        // drops the future, and with it the orphan, whose `Drop` falls
        // back to a thread.
        match crate::hooks::current_spawner() {
            Some(spawner) => {
                let _ = spawner.spawn_boxed(Box::pin(orphan.reap()), eddy_core::TaskMeta::here());
            }
            None => drop(orphan),
        }
    }
}

/// A child nobody waits for any more. Reaped by a task; if that task is
/// dropped first (runtime shutdown), by a thread.
struct Orphan {
    child: Option<std::process::Child>,
    watch: Option<ExitWatch>,
}

impl Orphan {
    async fn reap(mut self) {
        if let (Some(child), Some(watch)) = (&mut self.child, &mut self.watch)
            && watch.wait(child).await.is_ok()
        {
            self.child = None;
        }
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Blocking wait: off the event loop, on a thread of its own.
            let spawned = std::thread::Builder::new()
                .name("eddy-reaper".into())
                .spawn(move || {
                    let _ = child.wait();
                });
            // Without a thread there is no way left to reap it; the child
            // becomes a zombie until this process exits.
            drop(spawned);
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

macro_rules! pipe {
    ($name:ident, $std:ty, $what:literal) => {
        #[doc = concat!("The child's ", $what, " pipe, non-blocking and registered with the reactor.")]
        ///
        /// Dropping it closes the pipe.
        ///
        /// # Example
        ///
        /// See the [module docs](self).
        ///
        /// ```
        /// use eddy_net::process::{Command, Stdio};
        ///
        /// eddy::run(async {
        ///     let mut child = Command::new("cat")
        ///         .stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped())
        ///         .spawn()?;
        ///     let (_i, _o, _e) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        ///     drop(_i);
        ///     child.wait().await?;
        ///     Ok::<(), std::io::Error>(())
        /// })?;
        /// # Ok::<(), std::io::Error>(())
        /// ```
        pub struct $name {
            inner: Async<$std>,
        }

        impl $name {
            fn new(io: $std) -> io::Result<$name> {
                Ok($name {
                    inner: Async::new(io)?.byte_stream(),
                })
            }

            /// Deregisters the pipe and returns it as an owned descriptor
            /// (still non-blocking), e.g. to pass to another child's stdio.
            ///
            /// # Errors
            ///
            /// Removing it from the reactor failed.
            ///
            /// ```
            /// use eddy_net::process::{Command, Stdio};
            ///
            /// eddy::run(async {
            ///     let mut child = Command::new("cat")
            ///         .stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped())
            ///         .spawn()?;
            ///     let fd = child.stdin.take().unwrap().into_owned_fd()?;
            ///     drop(fd);
            ///     child.wait().await?;
            ///     Ok::<(), std::io::Error>(())
            /// })?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                Ok(self.inner.into_inner()?.into())
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(self.inner.get_ref())
                    .finish()
            }
        }
    };
}

pipe!(ChildStdin, std::process::ChildStdin, "stdin");
pipe!(ChildStdout, std::process::ChildStdout, "stdout");
pipe!(ChildStderr, std::process::ChildStderr, "stderr");

impl AsyncWrite for ChildStdin {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Pipes have no user-space buffer.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A pipe's write end signals EOF only when closed, which happens when
        // this is dropped.
        Poll::Ready(Ok(()))
    }
}

macro_rules! pipe_read {
    ($name:ident) => {
        impl AsyncRead for $name {
            fn poll_read(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.inner).poll_read(cx, buf)
            }

            fn poll_read_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.inner).poll_read_vectored(cx, bufs)
            }
        }
    };
}

pipe_read!(ChildStdout);
pipe_read!(ChildStderr);

#[cfg(test)]
mod tests {
    use super::*;

    /// The SIGCHLD path, used where pidfds are missing, forced here.
    #[test]
    fn sigchld_fallback_waits_and_reaps() {
        crate::test_reactor::block_on(async {
            let signals = Signals::new([SignalKind::CHILD]).unwrap();
            let std_child = std::process::Command::new("sh")
                .args(["-c", "sleep 0.05; exit 4"])
                .spawn()
                .unwrap();
            let mut child = Child {
                child: Some(std_child),
                watch: Some(ExitWatch::Sigchld(signals)),
                status: None,
                kill_on_drop: false,
                stdin: None,
                stdout: None,
                stderr: None,
            };
            assert_eq!(child.wait().await.unwrap().code(), Some(4));
        });
    }
}
