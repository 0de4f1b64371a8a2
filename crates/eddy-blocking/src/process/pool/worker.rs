//! One manager thread per worker process: starting the worker, handing it
//! jobs, and reaping and replacing it when it dies, times out or is
//! cancelled.

use std::io::{BufReader, BufWriter};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Receiver, select};

use super::{Shared, Task, lock};
use crate::process::wire::{self, RemoteError, Request, Response};
use crate::process::{Exit, PoolError};

/// A live worker process.
pub(super) struct Proc {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    frames: Receiver<Result<Vec<u8>, String>>,
    done: u64,
}

pub(super) struct Manager {
    pub(super) shared: Arc<Shared>,
    pub(super) index: usize,
    pub(super) tasks: Receiver<Task>,
    pub(super) stop: Receiver<()>,
    pub(super) proc: Option<Proc>,
    /// The last start succeeded: replace a dead worker at once. After a
    /// failed start, wait for a job to ask again (no respawn loops).
    pub(super) healthy: bool,
    /// This process is itself a worker; never start workers from it.
    pub(super) nested: bool,
}

/// How long a new worker may take to say hello.
const START_TIMEOUT: Duration = Duration::from_secs(30);

enum Outcome {
    Reply(Result<Vec<u8>, PoolError>),
    /// The awaiter left; the worker was killed.
    Cancelled,
    Stop,
}

impl Manager {
    pub(super) fn run(mut self) {
        loop {
            if self.proc.is_none() && self.healthy {
                // Start (or replace) the worker now, so it is warm for the
                // next job. A failure is reported to the job that needs it.
                let _ = self.ensure_proc();
            }
            let never = crossbeam_channel::never();
            let frames = self.proc.as_ref().map_or(&never, |p| &p.frames);
            select! {
                recv(self.tasks) -> t => match t {
                    Ok(task) => {
                        if self.handle(task) {
                            break;
                        }
                    }
                    Err(_) => break,
                },
                recv(self.stop) -> _ => break,
                recv(frames) -> _ => {
                    // An idle worker died or spoke out of turn: replace it.
                    self.kill_and_reap();
                }
            }
        }
        self.kill_and_reap();
    }

    fn ensure_proc(&mut self) -> Result<(), PoolError> {
        if self.proc.is_some() {
            return Ok(());
        }
        if self.nested {
            return Err(PoolError::Spawn(std::io::Error::other(
                "a process pool cannot start workers from inside a worker: call \
                 worker_main_if_child at the start of main",
            )));
        }
        let r = self.start();
        self.healthy = r.is_ok();
        r
    }

    fn start(&mut self) -> Result<(), PoolError> {
        let shared = Arc::clone(&self.shared);
        let cfg = &shared.config;
        let program = match &cfg.program {
            Some(p) => p.clone(),
            None => std::env::current_exe().map_err(PoolError::Spawn)?,
        };
        let mut child = Command::new(program)
            .args(&cfg.args)
            .env(wire::ENV_WORKER, "1")
            .env(wire::ENV_PARENT, std::process::id().to_string())
            .env(wire::ENV_MAX_FRAME, cfg.max_frame.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(PoolError::Spawn)?;
        self.shared.started.fetch_add(1, Ordering::Relaxed);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PoolError::Spawn(std::io::Error::other(
                "worker pipes missing",
            )));
        };
        let (ftx, frx) = crossbeam_channel::unbounded();
        let max = cfg.max_frame;
        let reader = std::thread::Builder::new()
            .name(format!("eddy-process-{}-reader", self.index))
            .spawn(move || {
                let mut r = BufReader::new(stdout);
                loop {
                    match wire::read_frame(&mut r, max) {
                        Ok(Some(f)) => {
                            if ftx.send(Ok(f)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => return,
                        Err(e) => {
                            let _ = ftx.send(Err(e.to_string()));
                            return;
                        }
                    }
                }
            });
        if let Err(e) = reader {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PoolError::Spawn(e));
        }
        let pid = child.id();
        lock(&self.shared.pids)[self.index] = Some(pid);
        self.proc = Some(Proc {
            child,
            stdin: BufWriter::new(stdin),
            frames: frx,
            done: 0,
        });
        self.await_hello(pid)?;
        if let Some((name, arg)) = cfg.initializer.clone() {
            let (_keep, never_cancel) = crossbeam_channel::bounded(0);
            match self.exchange(name, &arg, None, &never_cancel) {
                Outcome::Reply(Ok(_)) => {}
                Outcome::Reply(Err(e)) => {
                    self.kill_and_reap();
                    return Err(PoolError::Initializer(Box::new(e)));
                }
                Outcome::Cancelled | Outcome::Stop => {
                    self.kill_and_reap();
                    return Err(PoolError::ShutDown);
                }
            }
        }
        Ok(())
    }

    /// Waits for a new worker's hello frame.
    fn await_hello(&mut self, pid: u32) -> Result<(), PoolError> {
        let Some(p) = &self.proc else {
            return Err(PoolError::ShutDown);
        };
        let frames = p.frames.clone();
        let hello = select! {
            recv(frames) -> f => f,
            recv(self.stop) -> _ => {
                self.kill_and_reap();
                return Err(PoolError::ShutDown);
            }
            recv(crossbeam_channel::after(START_TIMEOUT)) -> _ => {
                self.kill_and_reap();
                return Err(PoolError::Spawn(std::io::Error::other(format!(
                    "worker process {pid} did not start within {START_TIMEOUT:?}"
                ))));
            }
        };
        let ok = match hello {
            Ok(Ok(body)) => matches!(
                postcard::from_bytes::<Response>(&body),
                Ok(Response {
                    id: wire::HELLO_ID,
                    result: Ok(_)
                })
            ),
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let exit = self.kill_and_reap().map_or(Exit::Unknown, Exit::from);
        Err(PoolError::Spawn(std::io::Error::other(format!(
            "worker process {pid} {exit} before it was ready: does the program call \
             eddy_blocking::process::worker_main_if_child at the start of main?"
        ))))
    }

    /// Runs one task; `true` means the pool is stopping.
    fn handle(&mut self, task: Task) -> bool {
        if matches!(
            task.cancel.try_recv(),
            Err(crossbeam_channel::TryRecvError::Disconnected)
        ) {
            return false; // cancelled while queued: never starts
        }
        if let Err(e) = self.ensure_proc() {
            task.reply.send(Err(e));
            return false;
        }
        let outcome = self.exchange(task.job, &task.input, task.timeout, &task.cancel);
        let stop = matches!(outcome, Outcome::Stop);
        match outcome {
            Outcome::Reply(r) => task.reply.send(r),
            Outcome::Cancelled => {}
            Outcome::Stop => task.reply.send(Err(PoolError::ShutDown)),
        }
        if let (Some(p), Some(max)) = (&mut self.proc, self.shared.config.max_tasks_per_child) {
            p.done += 1;
            if p.done >= max {
                self.retire();
            }
        }
        stop
    }

    /// Sends one request to the worker and waits for the answer, a timeout,
    /// a cancellation or a stop. Kills the worker on anything but an answer.
    fn exchange(
        &mut self,
        job: &str,
        input: &[u8],
        timeout: Option<Duration>,
        cancel: &Receiver<()>,
    ) -> Outcome {
        let Some(p) = &mut self.proc else {
            return Outcome::Reply(Err(PoolError::ShutDown));
        };
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let req = match postcard::to_stdvec(&Request { id, job, input }) {
            Ok(r) => r,
            Err(e) => return Outcome::Reply(Err(PoolError::Encode(e.to_string()))),
        };
        if wire::write_frame(&mut p.stdin, &req).is_err() {
            // The worker is gone; its exit status says how.
            return Outcome::Reply(Err(self.died()));
        }
        let deadline = timeout.map_or_else(crossbeam_channel::never, crossbeam_channel::after);
        let frames = p.frames.clone();
        select! {
            recv(frames) -> f => match f {
                Ok(Ok(body)) => match postcard::from_bytes::<Response>(&body) {
                    Ok(resp) if resp.id == id => Outcome::Reply(resp.result.map_err(PoolError::from)),
                    Ok(_) => {
                        self.kill_and_reap();
                        Outcome::Reply(Err(PoolError::Protocol("response to another request".into())))
                    }
                    Err(e) => {
                        self.kill_and_reap();
                        Outcome::Reply(Err(PoolError::Protocol(e.to_string())))
                    }
                },
                Ok(Err(msg)) => {
                    self.kill_and_reap();
                    Outcome::Reply(Err(PoolError::Protocol(msg)))
                }
                Err(_) => Outcome::Reply(Err(self.died())),
            },
            recv(cancel) -> _ => {
                self.kill_and_reap();
                Outcome::Cancelled
            }
            recv(deadline) -> _ => {
                self.kill_and_reap();
                Outcome::Reply(Err(PoolError::Timeout(timeout.unwrap_or_default())))
            }
            recv(self.stop) -> _ => {
                self.kill_and_reap();
                Outcome::Stop
            }
        }
    }

    /// The worker closed its pipe: reap it and say how it ended.
    fn died(&mut self) -> PoolError {
        let pid = self.proc.as_ref().map_or(0, |p| p.child.id());
        match self.kill_and_reap() {
            Some(status) => PoolError::WorkerDied {
                pid,
                exit: Exit::from(status),
            },
            None => PoolError::WorkerDied {
                pid,
                exit: Exit::Unknown,
            },
        }
    }

    /// Lets a worker that reached `max_tasks_per_child` exit on its own.
    fn retire(&mut self) {
        if let Some(mut p) = self.proc.take() {
            lock(&self.shared.pids)[self.index] = None;
            drop(p.stdin); // end of input: the worker exits
            // A worker that ignores the end of input is killed after a grace.
            let exited = matches!(
                p.frames.recv_timeout(Duration::from_secs(2)),
                Err(crossbeam_channel::RecvTimeoutError::Disconnected)
            );
            if !exited {
                let _ = p.child.kill();
            }
            let _ = p.child.wait();
        }
    }

    /// Kills the worker (a no-op if it already exited) and reaps it.
    fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        let mut p = self.proc.take()?;
        lock(&self.shared.pids)[self.index] = None;
        // `Child::kill` does not signal a child that was already reaped, so
        // a recycled pid is never hit; a zombie ignores the signal and keeps
        // its real exit status.
        let _ = p.child.kill();
        let status = p.child.wait().ok();
        // The reader thread ends by itself at end of stream; it is not
        // joined, in case a grandchild still holds the pipe open.
        status
    }
}

impl From<RemoteError> for PoolError {
    fn from(e: RemoteError) -> PoolError {
        match e {
            RemoteError::UnknownJob(n) => PoolError::UnknownJob(n),
            RemoteError::BadInput(m) => PoolError::BadInput(m),
            RemoteError::BadOutput(m) => PoolError::BadOutput(m),
            RemoteError::Panicked(m) => PoolError::Panicked(m),
            RemoteError::OutputTooLarge { size, limit } => {
                PoolError::OutputTooLarge { size, limit }
            }
        }
    }
}
