//! Unix signals as async values: [`ctrl_c`] and a [`Signals`] stream, like
//! asyncio's `loop.add_signal_handler`.
//!
//! # How it works
//!
//! A signal handler may do almost nothing safely, so each [`Signals`]
//! stream owns a socket pair per signal: the process-wide handler (from the
//! `signal-hook` crate, which exists for exactly this and keeps the
//! `unsafe` of installing handlers out of eddy) writes one byte to it, and
//! the stream reads that byte through the reactor like any other socket.
//! Nothing polls and no thread is started; several streams may watch the
//! same signal, and each sees it.
//!
//! Signals are coalesced: deliveries that arrive while the stream is not
//! being polled may be reported once (as the kernel itself does for a
//! signal that is already pending). Each report means "at least one
//! delivery since the last report".
//!
//! **Registration replaces the default action.** While any eddy stream (or
//! any `signal-hook` user) is registered for a signal, and afterwards for
//! the rest of the process (the handler stays installed), that signal no
//! longer has its default effect: after [`ctrl_c`] is first called, Ctrl-C
//! no longer kills the process. This matches tokio and is why programs
//! should decide what SIGINT means and act on it.
//!
//! # Example
//!
//! ```
//! use eddy_net::signal::{SignalKind, Signals};
//! use futures_lite::StreamExt;
//!
//! eddy::run(async {
//!     let mut signals = Signals::new([SignalKind::USER1])?;
//!     // Send ourselves SIGUSR1 (as `kill -USR1 <pid>` would).
//!     rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::USR1)?;
//!     assert_eq!(signals.next().await, Some(SignalKind::USER1));
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncRead;
use futures_lite::Stream;
use signal_hook::SigId;

use eddy_reactor::Async;

/// A Unix signal number.
///
/// # Example
///
/// ```
/// use eddy_net::signal::SignalKind;
///
/// assert_eq!(SignalKind::INTERRUPT.as_raw(), 2);
/// assert_eq!(SignalKind::from_raw(15), SignalKind::TERMINATE);
/// assert_eq!(SignalKind::TERMINATE.to_string(), "SIGTERM");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignalKind(i32);

impl SignalKind {
    /// `SIGINT`: Ctrl-C in a terminal.
    pub const INTERRUPT: SignalKind = SignalKind(signal_hook::consts::SIGINT);
    /// `SIGTERM`: a polite request to stop (`kill`'s default).
    pub const TERMINATE: SignalKind = SignalKind(signal_hook::consts::SIGTERM);
    /// `SIGHUP`: the terminal went away; daemons use it for "reload".
    pub const HANGUP: SignalKind = SignalKind(signal_hook::consts::SIGHUP);
    /// `SIGQUIT`: Ctrl-\ in a terminal.
    pub const QUIT: SignalKind = SignalKind(signal_hook::consts::SIGQUIT);
    /// `SIGUSR1`: user-defined.
    pub const USER1: SignalKind = SignalKind(signal_hook::consts::SIGUSR1);
    /// `SIGUSR2`: user-defined.
    pub const USER2: SignalKind = SignalKind(signal_hook::consts::SIGUSR2);
    /// `SIGCHLD`: a child process stopped or exited.
    pub const CHILD: SignalKind = SignalKind(signal_hook::consts::SIGCHLD);
    /// `SIGALRM`: a timer set with `alarm(2)` expired.
    pub const ALARM: SignalKind = SignalKind(signal_hook::consts::SIGALRM);
    /// `SIGPIPE`: a write to a pipe with no reader.
    pub const PIPE: SignalKind = SignalKind(signal_hook::consts::SIGPIPE);
    /// `SIGWINCH`: the terminal window changed size.
    pub const WINDOW_CHANGE: SignalKind = SignalKind(signal_hook::consts::SIGWINCH);

    /// The signal with number `signum`.
    ///
    /// ```
    /// assert_eq!(eddy_net::signal::SignalKind::from_raw(10).as_raw(), 10);
    /// ```
    pub const fn from_raw(signum: i32) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    ///
    /// ```
    /// assert_eq!(eddy_net::signal::SignalKind::HANGUP.as_raw(), 1);
    /// ```
    pub const fn as_raw(self) -> i32 {
        self.0
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match signal_hook::low_level::signal_name(self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "signal {}", self.0),
        }
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

struct Entry {
    kind: SignalKind,
    reader: Async<UnixStream>,
    id: SigId,
}

/// A [`Stream`] of the chosen signals as they arrive.
///
/// Dropping it unregisters its handlers (see the module docs for why the
/// default action does not come back) and closes its sockets.
///
/// # Example
///
/// See the [module docs](self).
///
/// ```
/// use eddy_net::signal::{SignalKind, Signals};
///
/// eddy::run(async {
///     let mut s = Signals::new([SignalKind::USER2, SignalKind::HANGUP])?;
///     rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::USR2)?;
///     assert_eq!(s.recv().await, Some(SignalKind::USER2));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Signals {
    entries: Vec<Entry>,
    /// Where the next poll starts looking, so one busy signal cannot hide
    /// the others.
    next: usize,
}

impl Signals {
    /// Starts catching `kinds` (duplicates are ignored).
    ///
    /// # Errors
    ///
    /// A signal that cannot be caught (`SIGKILL`, `SIGSTOP`) or that must
    /// not be (`SIGSEGV`, `SIGILL`, `SIGFPE`): `InvalidInput`. Creating a
    /// socket pair or registering it with the reactor failed (no reactor
    /// entered on this thread, out of descriptors).
    ///
    /// # Example
    ///
    /// ```
    /// use eddy_net::signal::{SignalKind, Signals};
    ///
    /// eddy::run(async {
    ///     assert!(Signals::new([SignalKind::from_raw(9)]).is_err()); // SIGKILL
    ///     let s = Signals::new([SignalKind::TERMINATE])?;
    ///     # drop(s);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(kinds: impl IntoIterator<Item = SignalKind>) -> io::Result<Signals> {
        let mut signals = Signals {
            entries: Vec::new(),
            next: 0,
        };
        for kind in kinds {
            if signals.entries.iter().any(|e| e.kind == kind) {
                continue;
            }
            if signal_hook::consts::FORBIDDEN.contains(&kind.0) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{kind} cannot be caught"),
                ));
            }
            let (read, write) = UnixStream::pair()?;
            let reader = Async::new(read)?;
            // The handler owns `write` from here on and closes it when
            // unregistered.
            let id = signal_hook::low_level::pipe::register(kind.0, write)?;
            signals.entries.push(Entry { kind, reader, id });
        }
        Ok(signals)
    }

    /// Waits for the next signal. `None` only if the reactor shut down.
    ///
    /// Cancel safe: a signal that arrives meanwhile is reported by the
    /// next call.
    ///
    /// # Example
    ///
    /// See [`Signals`].
    ///
    /// ```
    /// use eddy_net::signal::{SignalKind, Signals};
    /// use std::time::Duration;
    ///
    /// eddy::run(async {
    ///     let mut s = Signals::new([SignalKind::WINDOW_CHANGE])?;
    ///     // No signal was sent, so this times out.
    ///     let got = futures_lite::future::or(
    ///         async { s.recv().await },
    ///         async { eddy::sleep(Duration::from_millis(5)).await; None },
    ///     ).await;
    ///     assert_eq!(got, None);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&mut self) -> Option<SignalKind> {
        futures_lite::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<SignalKind>> {
        let n = self.entries.len();
        if n == 0 {
            return Poll::Ready(None);
        }
        let mut buf = [0u8; 64];
        for i in 0..n {
            let idx = (self.next + i) % n;
            let entry = &self.entries[idx];
            let mut reader = &entry.reader;
            // Drain everything queued: deliveries coalesce into one report.
            let read = Pin::new(&mut reader).poll_read(cx, &mut buf);
            match read {
                Poll::Ready(Ok(got)) if got > 0 => {
                    while let Ok(more) = (&mut entry.reader.get_ref()).read(&mut buf) {
                        if more == 0 {
                            break;
                        }
                    }
                    self.next = (idx + 1) % n;
                    return Poll::Ready(Some(entry.kind));
                }
                Poll::Ready(Err(_)) | Poll::Ready(Ok(_)) => return Poll::Ready(None),
                Poll::Pending => {}
            }
        }
        Poll::Pending
    }
}

impl Stream for Signals {
    type Item = SignalKind;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SignalKind>> {
        self.get_mut().poll_recv(cx)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for e in &self.entries {
            signal_hook::low_level::unregister(e.id);
        }
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| e.kind))
            .finish()
    }
}

/// Waits for Ctrl-C (`SIGINT`), like catching `KeyboardInterrupt` around
/// `asyncio.run`.
///
/// The handler is installed when the future is created, so a Ctrl-C
/// between creating and awaiting it is not lost. After the first call,
/// Ctrl-C no longer kills the process (see the module docs).
///
/// Cancel safe: dropping the future unregisters its handler.
///
/// # Errors
///
/// As [`Signals::new`].
///
/// # Example
///
/// ```
/// eddy::run(async {
///     let ctrl_c = eddy_net::signal::ctrl_c();
///     rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::INT)?;
///     ctrl_c.await?;
///     println!("interrupted; shutting down");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn ctrl_c() -> impl std::future::Future<Output = io::Result<()>> + Send {
    let signals = Signals::new([SignalKind::INTERRUPT]);
    async move {
        match signals?.recv().await {
            Some(_) => Ok(()),
            None => Err(io::Error::other("the reactor shut down")),
        }
    }
}
