//! Unit tests run on a reactor alone: a driver thread parks it while the
//! test's future runs under `futures_lite::future::block_on`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use eddy_core::Park;
use eddy_reactor::Reactor;

/// Runs `fut` to completion with a fresh reactor entered on this thread.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut reactor = Reactor::new().expect("reactor");
    let handle = reactor.handle();
    let unpark = reactor.unparker();
    let done = Arc::new(AtomicBool::new(false));
    let driver = {
        let done = done.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                reactor
                    .park(Some(Duration::from_millis(100)))
                    .expect("park");
            }
        })
    };
    let out = {
        let _guard = handle.enter();
        futures_lite::future::block_on(fut)
    };
    done.store(true, Ordering::Release);
    unpark.unpark();
    driver.join().expect("driver thread");
    out
}
