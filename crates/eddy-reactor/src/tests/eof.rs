//! EOF and peer close (`EPOLLRDHUP`): data and close sharing one edge, and
//! reads that must still find the EOF behind them.

use super::*;

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
pub(super) fn assert_eof_without_event<T: std::os::fd::AsFd + Read>(a: &mut Async<T>, why: &str) {
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
