//! `Async::byte_stream`: which short reads may skip the `WouldBlock` read,
//! counted on a Unix stream.

use super::eof::assert_eof_without_event;
use super::*;

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
