//! Reactor tests with real sockets. Every test that depends on the
//! registration mode runs in both edge and oneshot mode.

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
fn reader_is_woken_when_peer_writes() {
    for oneshot in modes() {
        let mut reactor = Reactor::build(oneshot).unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Async::with_handle(a, &reactor.handle()).unwrap();
        let (count, waker) = counting_waker();
        let mut buf = [0u8; 8];
        {
            let mut fut = pin!(a.read_with(|mut s| s.read(&mut buf)));
            assert!(poll_once(fut.as_mut(), &waker).is_pending());
            reactor.park(Some(Duration::ZERO)).unwrap();
            assert_eq!(count.get(), 0, "woken without data (oneshot={oneshot})");

            b.write_all(b"hello").unwrap();
            reactor.park(Some(BOUND)).unwrap();
            assert_eq!(count.get(), 1, "oneshot={oneshot}");
            assert!(matches!(
                poll_once(fut.as_mut(), &waker),
                Poll::Ready(Ok(5))
            ));
        }
        assert_eq!(&buf[..5], b"hello");
    }
}

#[test]
fn zero_timeout_park_dispatches_ready_events() {
    for oneshot in modes() {
        let mut reactor = Reactor::build(oneshot).unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Async::with_handle(a, &reactor.handle()).unwrap();
        let (count, waker) = counting_waker();
        let mut fut = pin!(a.read_with(|mut s| s.read(&mut [0u8; 1])));
        assert!(poll_once(fut.as_mut(), &waker).is_pending());
        // A unix socket write updates the peer's readiness synchronously.
        b.write_all(b"x").unwrap();
        reactor.park(Some(Duration::ZERO)).unwrap();
        assert_eq!(count.get(), 1, "oneshot={oneshot}");
        assert!(matches!(
            poll_once(fut.as_mut(), &waker),
            Poll::Ready(Ok(1))
        ));
    }
}

#[test]
fn writer_is_woken_when_peer_drains() {
    for oneshot in modes() {
        let mut reactor = Reactor::build(oneshot).unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Async::with_handle(a, &reactor.handle()).unwrap();
        let chunk = [7u8; 4096];
        let (count, waker) = counting_waker();
        // Fill the socket buffer until the write has to wait.
        let mut written = 0usize;
        let mut fut = loop {
            let mut fut = Box::pin(a.write_with(|mut s| s.write(&chunk)));
            match poll_once(fut.as_mut(), &waker) {
                Poll::Ready(Ok(n)) => written += n,
                Poll::Ready(Err(e)) => panic!("{e}"),
                Poll::Pending => break fut,
            }
        };
        assert_eq!(count.get(), 0);
        let mut sink = vec![0u8; written];
        b.read_exact(&mut sink).unwrap();
        reactor.park(Some(BOUND)).unwrap();
        assert_eq!(count.get(), 1, "oneshot={oneshot}");
        assert!(matches!(poll_once(fut.as_mut(), &waker), Poll::Ready(Ok(n)) if n > 0));
    }
}

#[test]
fn several_waiters_on_one_direction_are_all_woken() {
    for oneshot in modes() {
        let mut reactor = Reactor::build(oneshot).unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Async::with_handle(a, &reactor.handle()).unwrap();
        // Clear the initial "assume ready" state.
        let mut drain = pin!(a.read_with(|mut s| s.read(&mut [0u8; 1])));
        assert!(poll_once(drain.as_mut(), Waker::noop()).is_pending());
        let counters: Vec<_> = (0..3).map(|_| counting_waker()).collect();
        let mut futs: Vec<_> = (0..3).map(|_| Box::pin(a.readable())).collect();
        for (f, (_, w)) in futs.iter_mut().zip(&counters) {
            assert!(poll_once(f.as_mut(), w).is_pending());
        }
        b.write_all(b"x").unwrap();
        reactor.park(Some(BOUND)).unwrap();
        for (f, (c, w)) in futs.iter_mut().zip(&counters) {
            assert_eq!(c.get(), 1, "oneshot={oneshot}");
            assert!(matches!(poll_once(f.as_mut(), w), Poll::Ready(Ok(()))));
        }
    }
}

#[test]
fn clear_after_would_block_keeps_a_concurrent_edge() {
    let mut reactor = Reactor::new().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let a = Async::with_handle(a, &reactor.handle()).unwrap();
    // The op reports WouldBlock, but data (and its event) arrive while it
    // runs: the clear must not drop that readiness.
    let mut first = true;
    let mut buf = [0u8; 4];
    let mut fut = pin!(a.read_with(|mut s| {
        if std::mem::take(&mut first) {
            b.write_all(b"late").unwrap();
            reactor.park(Some(Duration::ZERO)).unwrap();
            return Err(io::ErrorKind::WouldBlock.into());
        }
        s.read(&mut buf)
    }));
    let (count, waker) = counting_waker();
    assert!(matches!(
        poll_once(fut.as_mut(), &waker),
        Poll::Ready(Ok(4))
    ));
    assert_eq!(count.get(), 0);
}

/// The kernel behaviour that keeps a short read from clearing readiness
/// unless the event said whether the peer had closed (see "When a short
/// read may clear readiness" in the crate docs).
/// On a stream socket the peer's data and its close (or half-close) can reach
/// epoll as ONE edge: the fd sits on epoll's ready list once, however many
/// wake-ups it gets before `epoll_wait` collects it. A read then returns the
/// data, short of the buffer; no further edge comes; only the next read
/// reports EOF. And with polling v3 nothing in the event tells the two
/// apart: it never asks for `EPOLLRDHUP`, and a half-close raises no
/// `EPOLLHUP`.
#[test]
fn data_and_close_can_share_one_edge_with_eof_left_for_the_next_read() {
    use polling::{Event, Events, PollMode, Poller};
    use std::os::fd::{AsFd, AsRawFd};

    fn collect(poller: &Poller, timeout: Option<Duration>) -> Vec<Event> {
        let mut events = Events::new();
        poller.wait(&mut events, timeout).unwrap();
        events.iter().collect()
    }

    fn check<S: Read + AsFd>(mut ours: S, close_peer: impl FnOnce(), full_close: bool) {
        let poller = Poller::new().unwrap();
        // SAFETY: `ours` outlives the registration: it is deleted below
        // before `ours` is dropped.
        #[allow(unsafe_code)]
        unsafe { poller.add_with_mode(ours.as_fd().as_raw_fd(), Event::all(1), PollMode::Edge) }
            .unwrap();
        // The initial "writable" edge.
        assert_eq!(collect(&poller, Some(BOUND)).len(), 1);
        close_peer();
        // Wait (without collecting any epoll event) until the close has
        // reached our socket, so data and close are both pending.
        wait_for_rdhup(&ours);
        let events = collect(&poller, Some(BOUND));
        assert_eq!(events.len(), 1, "data and close come as one edge");
        assert!(events[0].readable);
        assert_eq!(events[0].is_interrupt(), full_close);

        let mut buf = [0u8; 64];
        assert_eq!(ours.read(&mut buf).unwrap(), 3, "a short read");
        assert!(
            collect(&poller, Some(Duration::ZERO)).is_empty(),
            "no further edge"
        );
        assert_eq!(ours.read(&mut buf).unwrap(), 0, "EOF was still pending");
        poller.delete(&ours).unwrap();
    }

    // Unix stream, the peer writes and closes.
    let (a, mut b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    check(
        a,
        move || {
            b.write_all(b"abc").unwrap();
            drop(b);
        },
        true,
    );

    // TCP, the peer writes and half-closes: EPOLLIN alone, as for data.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (ours, _) = listener.accept().unwrap();
    ours.set_nonblocking(true).unwrap();
    check(
        ours,
        || {
            peer.write_all(b"abc").unwrap();
            peer.shutdown(Shutdown::Write).unwrap();
        },
        false,
    );
}

/// What the kernel behaviour above means for `Async`: after a read that
/// returned less than the buffer, the source must still be ready, so the EOF
/// that arrived in the same edge is read without waiting for an event that
/// will never come. (Clearing readiness after short reads stranded readers
/// here: the stall the burst stress test in `tests/tests/runtime.rs` saw.)
#[test]
fn a_short_read_does_not_hide_an_eof_from_the_same_edge() {
    for oneshot in modes() {
        let mut reactor = Reactor::build(oneshot).unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut a = Async::with_handle(a, &reactor.handle()).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let (count, waker) = counting_waker();
        assert!(poll_once(pin!(a.read(&mut buf)), &waker).is_pending());
        b.write_all(b"abc").unwrap();
        drop(b);
        reactor.park(Some(BOUND)).unwrap();
        assert_eq!(count.get(), 1, "oneshot={oneshot}");
        assert!(matches!(
            poll_once(pin!(a.read(&mut buf)), &waker),
            Poll::Ready(Ok(3))
        ));
        // No park in between: no event is coming for the EOF.
        assert!(
            matches!(
                poll_once(pin!(a.read(&mut buf)), &waker),
                Poll::Ready(Ok(0))
            ),
            "oneshot={oneshot}"
        );
    }
}

/// The next read reports the EOF at once: readiness was kept for it, and no
/// further event is needed.
fn assert_eof_without_event<T: std::os::fd::AsFd + Read>(a: &mut Async<T>, why: &str) {
    let (_count, waker) = counting_waker();
    let mut buf = [0u8; 64];
    assert!(
        matches!(
            poll_once(pin!(a.read(&mut buf)), &waker),
            Poll::Ready(Ok(0))
        ),
        "{why}"
    );
}

/// Waits (bounded, consuming nothing from epoll) until the peer's close has
/// reached `fd`.
fn wait_for_rdhup(fd: impl std::os::fd::AsFd) {
    let mut fds = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::RDHUP,
    )];
    let bound = rustix::event::Timespec {
        tv_sec: BOUND.as_secs() as i64,
        tv_nsec: 0,
    };
    rustix::event::poll(&mut fds, Some(&bound)).unwrap();
    assert!(
        fds[0].revents().contains(rustix::event::PollFlags::RDHUP),
        "the close never arrived"
    );
}

/// A Unix stream that counts the `read` calls made on it.
struct CountingReads {
    inner: UnixStream,
    reads: Arc<AtomicUsize>,
}

impl Read for CountingReads {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read(buf)
    }
}

impl std::os::fd::AsFd for CountingReads {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

fn counting_pair(reactor: &Reactor) -> (Async<CountingReads>, UnixStream, Arc<AtomicUsize>) {
    let (a, b) = UnixStream::pair().unwrap();
    let reads = Arc::new(AtomicUsize::new(0));
    let a = CountingReads {
        inner: a,
        reads: reads.clone(),
    };
    let a = Async::with_handle(a, &reactor.handle()).unwrap();
    (a, b, reads)
}

#[test]
fn a_short_read_on_a_byte_stream_skips_the_would_block_read() {
    for oneshot in modes() {
        let mut reactor = Reactor::build(oneshot).unwrap();
        let (a, mut b, reads) = counting_pair(&reactor);
        let mut a = a.byte_stream();
        let mut buf = [0u8; 64];
        let (count, waker) = counting_waker();
        for round in 0..3 {
            b.write_all(b"ping").unwrap();
            if round > 0 {
                reactor.park(Some(BOUND)).unwrap();
                assert_eq!(count.get(), round, "oneshot={oneshot}");
            }
            let before = reads.load(Ordering::SeqCst);
            assert!(matches!(
                poll_once(pin!(a.read(&mut buf)), &waker),
                Poll::Ready(Ok(4))
            ));
            assert!(poll_once(pin!(a.read(&mut buf)), &waker).is_pending());
            let made = reads.load(Ordering::SeqCst) - before;
            // Edge mode on Linux knows the queue is empty after the short
            // read; elsewhere the second read has to say `WouldBlock`.
            let expected = if oneshot || !cfg!(target_os = "linux") {
                2
            } else {
                1
            };
            assert_eq!(made, expected, "oneshot={oneshot} round={round}");
        }
    }
}

#[test]
fn without_byte_stream_a_short_read_keeps_readiness() {
    let mut reactor = Reactor::new().unwrap();
    let (mut a, mut b, reads) = counting_pair(&reactor);
    let mut buf = [0u8; 64];
    let (_count, waker) = counting_waker();
    b.write_all(b"ping").unwrap();
    reactor.park(Some(Duration::ZERO)).unwrap();
    assert!(matches!(
        poll_once(pin!(a.read(&mut buf)), &waker),
        Poll::Ready(Ok(4))
    ));
    assert!(poll_once(pin!(a.read(&mut buf)), &waker).is_pending());
    assert_eq!(reads.load(Ordering::SeqCst), 2);
}

#[test]
fn a_full_read_on_a_byte_stream_keeps_readiness() {
    let reactor = Reactor::new().unwrap();
    let (a, mut b, reads) = counting_pair(&reactor);
    let mut a = a.byte_stream();
    let (_count, waker) = counting_waker();
    b.write_all(b"0123456789").unwrap();
    let mut buf = [0u8; 4];
    for want in [4, 4, 2] {
        assert!(matches!(
            poll_once(pin!(a.read(&mut buf)), &waker),
            Poll::Ready(Ok(n)) if n == want
        ));
    }
    assert_eq!(reads.load(Ordering::SeqCst), 3);
}

/// The case that forbids a plain short-read clear (see the crate docs): the
/// data and the close arrive as one edge, the short read takes the data,
/// and the EOF must still be reported without a further event.
#[test]
fn a_short_read_on_a_byte_stream_still_reports_an_eof_from_the_same_edge() {
    for oneshot in modes() {
        for shutdown_only in [false, true] {
            let mut reactor = Reactor::build(oneshot).unwrap();
            let (a, mut b, _reads) = counting_pair(&reactor);
            let mut a = a.byte_stream();
            let mut buf = [0u8; 64];
            let (count, waker) = counting_waker();
            assert!(matches!(
                poll_once(pin!(a.read(&mut buf)), &waker),
                Poll::Pending
            ));
            b.write_all(b"abc").unwrap();
            if shutdown_only {
                // A half-close raises `EPOLLRDHUP` but not `EPOLLHUP`.
                b.shutdown(Shutdown::Write).unwrap();
            } else {
                drop(b);
            }
            reactor.park(Some(BOUND)).unwrap();
            assert_eq!(count.get(), 1, "oneshot={oneshot}");
            // A short read of the 3 bytes, then the EOF from the same edge.
            assert!(matches!(
                poll_once(pin!(a.read(&mut buf)), &waker),
                Poll::Ready(Ok(3))
            ));
            assert_eof_without_event(
                &mut a,
                &format!("oneshot={oneshot} shutdown_only={shutdown_only}"),
            );
        }
    }
}

/// Bursts with a close right behind the last one, through a byte stream
/// and a driver thread: every byte and the EOF arrive, however the edges
/// happen to merge.
#[test]
fn byte_stream_bursts_then_close_always_reach_eof() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let driver = Driver::spawn(reactor);
    let total = bounded(move || {
        let mut total = 0;
        for round in 0..200usize {
            let (a, mut b) = UnixStream::pair().unwrap();
            let mut a = Async::with_handle(a, &handle).unwrap().byte_stream();
            let writer = thread::spawn(move || {
                for i in 0..(round % 5 + 1) {
                    b.write_all(&vec![i as u8; 1 + round * 7 % 300]).unwrap();
                }
            });
            let mut got = Vec::new();
            block_on(a.read_to_end(&mut got)).unwrap();
            writer.join().unwrap();
            assert_eq!(got.len(), (round % 5 + 1) * (1 + round * 7 % 300));
            total += got.len();
        }
        total
    });
    assert!(total > 0);
    driver.stop();
}

fn tcp_pair(reactor: &Reactor) -> (Async<TcpStream>, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let server = Async::with_handle(l.accept().unwrap().0, &reactor.handle()).unwrap();
    (server.byte_stream(), client)
}

/// A read that takes exactly the data ahead of a FIN (no short read, so
/// readiness stays) still finds the EOF behind it.
#[test]
fn an_exact_read_before_a_fin_keeps_readiness_for_the_eof() {
    for oneshot in modes() {
        let mut reactor = Reactor::build(oneshot).unwrap();
        let (mut a, mut b) = tcp_pair(&reactor);
        let (_count, waker) = counting_waker();
        b.write_all(b"abcd").unwrap();
        drop(b);
        // Let the FIN land, then collect data and close (one edge or two).
        wait_for_rdhup(&a);
        reactor.park(Some(Duration::ZERO)).unwrap();
        // An exact read of the 4 bytes: not short, so readiness stays.
        let mut frame = [0u8; 4];
        assert!(matches!(
            poll_once(pin!(a.read(&mut frame)), &waker),
            Poll::Ready(Ok(4))
        ));
        assert_eof_without_event(&mut a, &format!("oneshot={oneshot}"));
    }
}

/// Many small frames read exactly, a close right behind the last: every
/// byte and the EOF arrive, however the edges and reads interleave.
#[test]
fn exact_frames_then_close_over_tcp_always_reach_eof() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let driver = Driver::spawn(reactor);
    bounded(move || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        for round in 0..100usize {
            let mut b = TcpStream::connect(addr).unwrap();
            b.set_nodelay(true).unwrap();
            let a = Async::with_handle(l.accept().unwrap().0, &handle).unwrap();
            let mut a = a.byte_stream();
            let frames = round % 7 + 1;
            let size = 1 + round * 13 % 200;
            let writer = thread::spawn(move || {
                for i in 0..frames {
                    b.write_all(&vec![i as u8; size]).unwrap();
                }
            });
            block_on(async {
                let mut frame = vec![0u8; size];
                for i in 0..frames {
                    a.read_exact(&mut frame).await.unwrap();
                    assert!(frame.iter().all(|&x| x == i as u8));
                }
                assert_eq!(a.read(&mut frame).await.unwrap(), 0);
            });
            writer.join().unwrap();
        }
    });
    driver.stop();
}

#[test]
fn async_read_write_round_trip_through_futures_lite() {
    for oneshot in modes() {
        let reactor = Reactor::build(oneshot).unwrap();
        let handle = reactor.handle();
        let driver = Driver::spawn(reactor);
        let res = bounded(move || {
            let _g = handle.enter();
            let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
            let addr = listener.get_ref().local_addr()?;
            let mut client = Async::new(TcpStream::connect(addr)?)?;
            block_on(async {
                let (server, _) = listener.read_with(|l| l.accept()).await?;
                let server = Async::new(server)?;
                // 1 MiB each way forces many WouldBlock/wake cycles.
                let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
                let echo = async {
                    let (mut r, mut w) = (&server, &server);
                    let n = futures_lite::io::copy(&mut r, &mut w).await?;
                    server.get_ref().shutdown(Shutdown::Write)?;
                    Ok::<_, io::Error>(n)
                };
                let talk = async {
                    let (mut got, c) = (Vec::new(), &mut client);
                    let write = async {
                        c.write_all(&data).await?;
                        c.flush().await?;
                        c.get_ref().shutdown(Shutdown::Write)
                    };
                    write.await?;
                    client.read_to_end(&mut got).await?;
                    Ok::<_, io::Error>(got)
                };
                let (n, got) = futures_lite::future::zip(echo, talk).await;
                assert_eq!(n?, data.len() as u64);
                assert!(got? == data);
                Ok::<_, io::Error>(())
            })
        });
        res.unwrap();
        drop(driver);
    }
}

#[test]
fn concurrent_read_and_write_through_shared_refs() {
    for oneshot in modes() {
        let reactor = Reactor::build(oneshot).unwrap();
        let handle = reactor.handle();
        let driver = Driver::spawn(reactor);
        bounded(move || {
            let (a, b) = UnixStream::pair().unwrap();
            let a = Async::with_handle(a, &handle).unwrap();
            let b = Async::with_handle(b, &handle).unwrap();
            let data = vec![3u8; 512 * 1024];
            block_on(futures_lite::future::zip(
                async {
                    (&a).write_all(&data).await.unwrap();
                },
                async {
                    let mut got = vec![0u8; data.len()];
                    (&b).read_exact(&mut got).await.unwrap();
                    assert!(got == data);
                },
            ));
        });
        driver.stop();
    }
}

#[test]
fn unparker_wakes_a_blocked_park() {
    let mut reactor = Reactor::new().unwrap();
    let unpark = reactor.unparker();
    let (tx, rx) = mpsc::channel();
    let parker = thread::spawn(move || {
        for i in 0..200 {
            reactor.park(None).unwrap();
            if tx.send(i).is_err() {
                break;
            }
        }
    });
    // Lock-step: each unpark must end exactly one (blocked or not yet
    // started) park; a lost notify shows up as a timeout, not a hang.
    for i in 0..200 {
        unpark.unpark();
        assert_eq!(rx.recv_timeout(BOUND).expect("park(None) was not woken"), i);
    }
    parker.join().unwrap();
}

#[test]
fn unparks_racing_with_parks_are_never_lost() {
    const ITEMS: usize = 5_000;
    let mut reactor = Reactor::new().unwrap();
    let unpark = reactor.unparker();
    let sent = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let (sent2, seen2) = (sent.clone(), seen.clone());
    // The parker behaves like an executor: it checks for announced work
    // (`sent`) and parks when there is none. The unparker announces one item,
    // unparks, and waits until the parker has seen it, so the parker goes to
    // park right as the next unpark races in. A lost unpark leaves the
    // parker blocked forever, which `bounded` turns into a failure.
    let parker = thread::spawn(move || {
        let mut parks = 0usize;
        loop {
            let now = sent2.load(Ordering::SeqCst);
            if now > seen2.load(Ordering::SeqCst) {
                seen2.store(now, Ordering::SeqCst);
                if now == ITEMS {
                    return parks;
                }
                continue;
            }
            reactor.park(None).unwrap();
            parks += 1;
        }
    });
    bounded(move || {
        for i in 1..=ITEMS {
            sent.store(i, Ordering::SeqCst);
            unpark.unpark();
            while seen.load(Ordering::SeqCst) < i {
                thread::yield_now();
            }
        }
    });
    let parks = parker.join().unwrap();
    // Every item but the first is announced after the parker caught up, so
    // it parks (or finds a token) at least once per item or so.
    assert!(parks >= ITEMS / 2, "parker parked only {parks} times");
}

#[allow(clippy::disallowed_methods)] // real time: checks that a park really blocked
#[test]
fn unpark_while_idle_makes_exactly_one_park_return_early() {
    let mut reactor = Reactor::new().unwrap();
    let unpark = reactor.unparker();
    bounded(move || {
        unpark.unpark();
        unpark.unpark();
        unpark.unpark();
        reactor.park(None).unwrap(); // returns at once thanks to the token
        let t = Instant::now();
        reactor.park(Some(Duration::from_millis(150))).unwrap();
        assert!(
            t.elapsed() >= Duration::from_millis(100),
            "second park did not block"
        );
    });
}

#[test]
fn zero_timeout_park_without_sources_never_blocks() {
    let mut reactor = Reactor::new().unwrap();
    bounded(move || {
        for _ in 0..100_000 {
            reactor.park(Some(Duration::ZERO)).unwrap();
        }
        // Also with a token pending, and the token is consumed.
        reactor.unparker().unpark();
        reactor.park(Some(Duration::ZERO)).unwrap();
        assert_eq!(reactor.inner_state(), 0);
    });
}

#[test]
fn dropping_async_deregisters() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let mut all = Vec::new();
    for _ in 0..100 {
        let (a, b) = UnixStream::pair().unwrap();
        all.push(Async::with_handle(a, &handle).unwrap());
        all.push(Async::with_handle(b, &handle).unwrap());
    }
    assert_eq!(reactor.source_count(), 200);
    drop(all);
    assert_eq!(reactor.source_count(), 0);
    assert_eq!(handle.source_count(), 0);
    // into_inner deregisters too and hands back a usable non-blocking stream.
    let (x, _y) = UnixStream::pair().unwrap();
    let x = Async::with_handle(x, &handle).unwrap();
    assert_eq!(reactor.source_count(), 1);
    let x = x.into_inner().unwrap();
    assert_eq!(reactor.source_count(), 0);
    assert_eq!(
        (&x).read(&mut [0u8; 1]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
}

#[test]
fn half_close_reads_zero_and_reset_is_an_error() {
    for oneshot in modes() {
        let reactor = Reactor::build(oneshot).unwrap();
        let handle = reactor.handle();
        let driver = Driver::spawn(reactor);
        bounded(move || {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (ours, _) = listener.accept().unwrap();
            let mut ours = Async::with_handle(ours, &handle).unwrap();
            let closer = thread::spawn(move || {
                peer.shutdown(Shutdown::Write).unwrap();
                peer
            });
            let mut buf = [0u8; 16];
            assert_eq!(block_on(ours.read(&mut buf)).unwrap(), 0);
            let peer = closer.join().unwrap();

            // Reset: linger 0 makes close send RST.
            socket2::SockRef::from(&peer)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(peer);
            let err = block_on(async {
                loop {
                    // Writes after the RST fail; reads report the reset.
                    match ours.write(b"x").await {
                        Ok(_) => {}
                        Err(e) => break e,
                    }
                    if let Err(e) = ours.read(&mut buf).await {
                        break e;
                    }
                }
            });
            assert!(
                matches!(
                    err.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ),
                "{err:?}"
            );
        });
        driver.stop();
    }
}

#[test]
fn many_sources_all_wake() {
    for oneshot in modes() {
        let mut reactor = Reactor::build(oneshot).unwrap();
        let handle = reactor.handle();
        let mut readers = Vec::new();
        let mut peers = Vec::new();
        for _ in 0..200 {
            let (a, b) = UnixStream::pair().unwrap();
            readers.push(Async::with_handle(a, &handle).unwrap());
            peers.push(b);
        }
        let mut futs: Vec<_> = readers
            .iter()
            .map(|a| Box::pin(a.read_with(|mut s| s.read(&mut [0u8; 1]))))
            .collect();
        let counters: Vec<_> = (0..200).map(|_| counting_waker()).collect();
        for (f, (_, w)) in futs.iter_mut().zip(&counters) {
            assert!(poll_once(f.as_mut(), w).is_pending());
        }
        for b in &mut peers {
            b.write_all(b"!").unwrap();
        }
        let woken = |cs: &[(Arc<Counter>, Waker)]| cs.iter().filter(|(c, _)| c.get() > 0).count();
        for _ in 0..100 {
            if woken(&counters) == 200 {
                break;
            }
            reactor.park(Some(Duration::from_millis(100))).unwrap();
        }
        assert_eq!(woken(&counters), 200, "oneshot={oneshot}");
        for (f, (c, w)) in futs.iter_mut().zip(&counters) {
            assert_eq!(c.get(), 1);
            assert!(matches!(poll_once(f.as_mut(), w), Poll::Ready(Ok(1))));
        }
    }
}

#[test]
fn dropping_the_reactor_fails_waiters() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let (a, _b) = UnixStream::pair().unwrap();
    let a = Async::with_handle(a, &handle).unwrap();
    let (count, waker) = counting_waker();
    let mut fut = pin!(a.read_with(|mut s| s.read(&mut [0u8; 1])));
    assert!(poll_once(fut.as_mut(), &waker).is_pending());
    drop(reactor);
    assert_eq!(count.get(), 1);
    let Poll::Ready(Err(e)) = poll_once(fut.as_mut(), &waker) else {
        panic!("expected an error")
    };
    let inner = e.get_ref().and_then(|e| e.downcast_ref::<ReactorError>());
    assert_eq!(inner, Some(&ReactorError::Shutdown));
    let (c, _d) = UnixStream::pair().unwrap();
    assert!(Async::with_handle(c, &handle).is_err());
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

/// Throwaway microbenchmark, not a test: run with
/// `cargo test -p eddy-reactor --release -- --ignored --nocapture bench_`.
#[allow(clippy::disallowed_methods)] // measures real time
#[test]
#[ignore]
fn bench_park_zero() {
    const N: u32 = 1_000_000;
    let mut reactor = Reactor::new().unwrap();
    let t = Instant::now();
    for _ in 0..N {
        reactor.park(Some(Duration::ZERO)).unwrap();
    }
    println!(
        "park(ZERO), no sources: {:.1} ns",
        t.elapsed().as_nanos() as f64 / f64::from(N)
    );

    let handle = reactor.handle();
    let pairs: Vec<_> = (0..64)
        .map(|_| {
            let (a, b) = UnixStream::pair().unwrap();
            (Async::with_handle(a, &handle).unwrap(), b)
        })
        .collect();
    reactor.park(Some(Duration::ZERO)).unwrap(); // drain the registration edges
    let t = Instant::now();
    for _ in 0..N {
        reactor.park(Some(Duration::ZERO)).unwrap();
    }
    println!(
        "park(ZERO), 64 idle sources: {:.1} ns",
        t.elapsed().as_nanos() as f64 / f64::from(N)
    );

    let poller = polling::Poller::new().unwrap();
    let mut events = polling::Events::new();
    let t = Instant::now();
    for _ in 0..N / 10 {
        events.clear();
        poller.wait(&mut events, Some(Duration::ZERO)).unwrap();
    }
    println!(
        "bare Poller::wait(ZERO): {:.1} ns",
        t.elapsed().as_nanos() as f64 / f64::from(N / 10)
    );

    let unpark = reactor.unparker();
    let t = Instant::now();
    for _ in 0..N {
        unpark.unpark();
    }
    println!(
        "unpark while idle: {:.1} ns",
        t.elapsed().as_nanos() as f64 / f64::from(N)
    );

    let t = Instant::now();
    for _ in 0..N / 10 {
        unpark.unpark();
        reactor.park(None).unwrap();
    }
    println!(
        "unpark + park(None) same thread: {:.1} ns",
        t.elapsed().as_nanos() as f64 / f64::from(N / 10)
    );
    drop(pairs);
}

/// Throwaway microbenchmark: 64-byte TCP ping-pong on one thread, driven by a
/// minimal "executor" (poll, and park the reactor when pending).
#[allow(clippy::disallowed_methods)] // measures real time
#[test]
#[ignore]
fn bench_tcp_ping_pong() {
    struct Unparker(Arc<dyn eddy_core::Unpark>);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    const N: u32 = 50_000;
    let mut reactor = Reactor::new().unwrap();
    let handle = reactor.handle();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.set_nodelay(true).unwrap();
    server.set_nodelay(true).unwrap();
    let mut client = Async::with_handle(client, &handle).unwrap();
    let mut server = Async::with_handle(server, &handle).unwrap();
    let fut = async {
        let (mut a, mut b) = ([1u8; 64], [0u8; 64]);
        let echo = async {
            for _ in 0..N {
                server.read_exact(&mut b).await.unwrap();
                server.write_all(&b).await.unwrap();
            }
        };
        let ping = async {
            for _ in 0..N {
                client.write_all(&a).await.unwrap();
                client.read_exact(&mut a).await.unwrap();
            }
        };
        futures_lite::future::zip(echo, ping).await;
    };
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(Unparker(reactor.unparker())));
    let t = Instant::now();
    let mut parks = 0u32;
    while poll_once(fut.as_mut(), &waker).is_pending() {
        reactor.park(None).unwrap();
        parks += 1;
    }
    let el = t.elapsed();
    println!(
        "tcp ping-pong 64 B, one thread: {:.2} us/round trip, {:.2} parks/round trip",
        el.as_secs_f64() * 1e6 / f64::from(N),
        f64::from(parks) / f64::from(N)
    );
}
