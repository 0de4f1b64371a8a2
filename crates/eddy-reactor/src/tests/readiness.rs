//! Wake-ups on readiness: readers, writers, several waiters, many sources,
//! a concurrent edge during a clear, and waiters failed by a dropped reactor.

use super::*;

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
