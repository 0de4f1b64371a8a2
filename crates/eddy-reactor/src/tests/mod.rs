//! Reactor tests with real sockets. Every test that depends on the
//! registration mode runs in both edge and oneshot mode.
//!
//! This file holds the shared helpers and the tests of the current-reactor
//! context; the topical files hold the rest.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use eddy_core::Park;
use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncWriteExt};

use crate::{Async, Reactor, ReactorError, ReactorHandle};

mod async_io;
mod bench;
mod byte_stream;
mod eof;
mod park;
mod readiness;

const BOUND: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Counter(AtomicUsize);

impl Counter {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Counter>, Waker) {
    let c = Arc::new(Counter::default());
    (c.clone(), Waker::from(c))
}

fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

fn modes() -> [bool; 2] {
    [false, true]
}

/// Parks the reactor on a thread until stopped.
struct Driver {
    stop: Arc<AtomicBool>,
    unpark: Arc<dyn eddy_core::Unpark>,
    thread: Option<thread::JoinHandle<Reactor>>,
}

impl Driver {
    fn spawn(mut reactor: Reactor) -> Driver {
        let stop = Arc::new(AtomicBool::new(false));
        let unpark = reactor.unparker();
        let s = stop.clone();
        let thread = thread::spawn(move || {
            while !s.load(Ordering::Acquire) {
                reactor.park(Some(Duration::from_millis(200))).unwrap();
            }
            reactor
        });
        Driver {
            stop,
            unpark,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> Reactor {
        self.stop.store(true, Ordering::Release);
        self.unpark.unpark();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.unpark.unpark();
    }
}

/// Runs `f` on a thread and fails (instead of hanging) if it takes longer
/// than [`BOUND`].
fn bounded<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(BOUND)
        .expect("did not finish within the bound: lost wake-up?")
}
#[test]
fn async_new_needs_a_current_reactor() {
    let (a, _b) = UnixStream::pair().unwrap();
    let err = Async::new(a).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let reactor = Reactor::new().unwrap();
    let _g = reactor.handle().enter();
    let (a, _b) = UnixStream::pair().unwrap();
    assert!(Async::new(a).is_ok());
}

#[test]
#[should_panic(expected = "no eddy reactor is entered on this thread")]
fn current_panics_without_a_reactor() {
    let _ = ReactorHandle::current();
}

#[test]
fn thread_safety_of_public_types() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<ReactorHandle>();
    send_sync::<Async<UnixStream>>();
    send_sync::<ReactorError>();
    send::<Reactor>();
}

#[test]
fn enter_guards_nest() {
    let (r1, r2) = (Reactor::new().unwrap(), Reactor::new().unwrap());
    assert!(ReactorHandle::try_current().is_none());
    let g1 = r1.handle().enter();
    let g2 = r2.handle().enter();
    assert!(ReactorHandle::current().same_reactor(&r2.handle()));
    drop(g2);
    assert!(ReactorHandle::current().same_reactor(&r1.handle()));
    drop(g1);
    assert!(ReactorHandle::try_current().is_none());
}
