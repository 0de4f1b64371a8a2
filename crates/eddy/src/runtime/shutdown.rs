//! Ending a runtime: [`Runtime::shutdown_timeout`],
//! [`Runtime::shutdown_gracefully`] and its [`ShutdownSummary`], and the
//! shutdown that dropping a runtime runs.

use std::fmt;
use std::time::Duration;

use eddy_blocking::ShutdownReport;
use eddy_executor::TaskDump;

use super::Runtime;

impl Runtime {
    /// Shuts the runtime down: ends every task still alive (asking first, for
    /// the builder's [`shutdown_grace`](crate::Builder::shutdown_grace), then
    /// cancelling hard; destructors run), then waits up to `grace` for
    /// blocking jobs that are still running and reports what it left behind.
    ///
    /// Dropping the runtime does the same with the builder's
    /// [`blocking_shutdown_grace`](crate::Builder::blocking_shutdown_grace), printing
    /// a report that is not clean to stderr.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = eddy::Builder::current_thread().build().unwrap();
    /// rt.block_on(async { eddy::unblock(|| ()).await.unwrap() });
    /// let report = rt.shutdown_timeout(Duration::from_secs(1));
    /// assert!(report.is_clean());
    /// ```
    pub fn shutdown_timeout(mut self, grace: Duration) -> ShutdownReport {
        self.shutdown_executor();
        self.pool.shutdown(grace)
    }

    /// Shuts the runtime down in phases, giving tasks the chance to clean
    /// up with `.await`s (asyncio's cancel-then-gather at the end of
    /// `asyncio.run`, with a deadline):
    ///
    /// 1. stop accepting: tasks spawned from now on are cancelled at once;
    /// 2. ask every task to finish ([`is_cancel_requested`](crate::is_cancel_requested)
    ///    turns `true` and [`cancelled`](crate::cancelled) resolves in each);
    /// 3. run the runtime until every task has finished or `grace` has passed
    ///    (on the runtime's clock, so a manual clock makes this exact);
    /// 4. cancel the stragglers (their futures are dropped) and shut the
    ///    blocking pool down with the same grace.
    ///
    /// The summary lists the stragglers and any blocking work left behind.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = eddy::Builder::current_thread().build().unwrap();
    /// rt.spawn(async {
    ///     eddy::cancelled().await;
    ///     eddy::sleep(Duration::from_millis(5)).await; // asynchronous cleanup
    /// })
    /// .detach();
    /// rt.spawn(std::future::pending::<()>()).detach(); // ignores the request
    /// let summary = rt.shutdown_gracefully(Duration::from_millis(50));
    /// assert_eq!(summary.stragglers.tasks().len(), 1);
    /// println!("{summary}");
    /// ```
    pub fn shutdown_gracefully(mut self, grace: Duration) -> ShutdownSummary {
        let h = self.executor().handle();
        h.close();
        self.ask_and_wait(grace);
        let stragglers = h.dump();
        // The graceful phase is done: the drop below only cancels.
        self.shutdown_grace = Duration::ZERO;
        self.shutdown_executor();
        let blocking = self.pool.shutdown(grace);
        ShutdownSummary {
            stragglers,
            blocking,
        }
    }

    /// Asks every task to finish and runs the loop until they all have, or
    /// `grace` has passed on the runtime's clock (so a manual clock makes it
    /// exact). The loop can only run from outside a runtime and not while
    /// unwinding; otherwise this only asks.
    fn ask_and_wait(&self, grace: Duration) {
        let Some(executor) = self.executor.as_ref() else {
            return;
        };
        let h = executor.handle();
        h.request_cancel_all();
        if eddy_executor::is_inside_runtime() || std::thread::panicking() {
            return;
        }
        let _r = self.reactor.enter();
        let _t = self.timer.enter();
        let _p = self.pool.enter();
        executor.block_on(async move {
            let _ = eddy_scope::timeout(grace, h.all_finished()).await;
        });
    }

    fn shutdown_executor(&mut self) {
        // Cancelled tasks' destructors may touch timers or I/O sources, spawn,
        // or submit blocking work: keep every context entered while the
        // executor drains.
        let _r = self.reactor.enter();
        let _t = self.timer.enter();
        let _p = self.pool.enter();
        if !self.shutdown_grace.is_zero() {
            self.ask_and_wait(self.shutdown_grace);
        }
        drop(self.executor.take());
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if self.executor.is_none() {
            return; // `shutdown_timeout` already ran.
        }
        self.shutdown_executor();
        let report = self.pool.shutdown(self.blocking_shutdown_grace);
        if !report.is_clean() {
            eprintln!("eddy: runtime shut down with blocking work left behind: {report}");
        }
    }
}

/// What [`Runtime::shutdown_gracefully`] left behind.
///
/// ```
/// let rt = eddy::Builder::current_thread().build().unwrap();
/// let summary = rt.shutdown_gracefully(std::time::Duration::from_millis(10));
/// assert!(summary.is_clean());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct ShutdownSummary {
    /// Tasks still alive after the grace period (they were then cancelled).
    pub stragglers: TaskDump,
    /// Blocking jobs still running after the grace period.
    pub blocking: ShutdownReport,
}

impl ShutdownSummary {
    /// `true` when every task finished and no blocking job was left behind.
    ///
    /// ```
    /// let rt = eddy::Builder::current_thread().build().unwrap();
    /// assert!(rt.shutdown_gracefully(std::time::Duration::ZERO).is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.stragglers.is_empty() && self.blocking.is_clean()
    }
}

impl fmt::Display for ShutdownSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return f.write_str("clean shutdown: every task finished within the grace period");
        }
        if !self.stragglers.is_empty() {
            writeln!(
                f,
                "{} task(s) did not finish within the grace period and were cancelled:",
                self.stragglers.tasks().len()
            )?;
            writeln!(f, "{}", self.stragglers)?;
        }
        if !self.blocking.is_clean() {
            write!(f, "{}", self.blocking)?;
        }
        Ok(())
    }
}
