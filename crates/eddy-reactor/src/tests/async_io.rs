//! I/O through `Async`: futures-lite round trips, shared references,
//! deregistration, half-close and reset.

use super::*;

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

/// The stale-readiness trap and its fix: a hand-written loop of
/// `readable().await` + a read on `get_ref()` never clears readiness and
/// spins; the same loop over `read_ready()` + `try_io` parks after one
/// `WouldBlock` and reads the data once it comes, in both poll modes.
#[test]
fn a_read_loop_over_readiness_guards_parks_instead_of_spinning() {
    use std::cell::Cell;
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    for oneshot in modes() {
        let reactor = Reactor::build(oneshot).unwrap();
        let handle = reactor.handle();
        let driver = Driver::spawn(reactor);
        let res = bounded(move || {
            let (a, mut b) = UnixStream::pair()?;
            let a = Async::with_handle(a, &handle)?;
            let attempts = Cell::new(0u32);
            let read_some = async {
                let mut buf = [0u8; 4];
                loop {
                    let guard = a.read_ready().await?;
                    attempts.set(attempts.get() + 1);
                    if let Ok(r) = guard.try_io(|s| (&*s).read(&mut buf)) {
                        return r.map(|n| buf[..n].to_vec());
                    }
                }
            };
            let mut read_some = std::pin::pin!(read_some);
            // Nothing to read: one attempt, then the future parks however
            // often it is polled.
            for _ in 0..10 {
                assert!(block_on(futures_lite::future::poll_once(read_some.as_mut())).is_none());
            }
            assert_eq!(attempts.get(), 1, "the guard loop spun");
            b.write_all(b"data")?;
            assert_eq!(block_on(read_some)?, b"data");

            // The trap, for contrast: readiness is never cleared, so
            // `readable()` keeps returning at once.
            let spins = Cell::new(0u32);
            let mut trap = std::pin::pin!(async {
                loop {
                    a.readable().await?;
                    spins.set(spins.get() + 1);
                    match a.get_ref().read(&mut [0u8; 4]) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock && spins.get() < 100 => {}
                        other => return other,
                    }
                }
            });
            let r = block_on(futures_lite::future::poll_once(trap.as_mut()));
            assert!(
                r.is_some() && spins.get() == 100,
                "expected the readable() loop to spin"
            );
            Ok::<_, io::Error>(())
        });
        driver.stop();
        res.unwrap();
    }
}
