//! eddy::signal end to end. Signals are process-wide, so each signal
//! number is used by one test only.

use std::time::Duration;

use eddy::signal::{SignalKind, Signals, ctrl_c};
use futures_lite::{StreamExt, future};
use rustix::process::{Signal, getpid, kill_process};

async fn within<T>(secs: u64, fut: impl std::future::Future<Output = T>) -> T {
    future::or(fut, async {
        eddy::sleep(Duration::from_secs(secs)).await;
        panic!("timed out after {secs}s");
    })
    .await
}

#[test]
fn stream_of_chosen_signals() {
    eddy::run(within(10, async {
        let mut signals = Signals::new([SignalKind::USER1, SignalKind::USER2]).unwrap();
        // A second listener on the same signal sees it too.
        let mut other = Signals::new([SignalKind::USER1]).unwrap();
        for _ in 0..3 {
            kill_process(getpid(), Signal::USR1).unwrap();
            assert_eq!(signals.next().await, Some(SignalKind::USER1));
            assert_eq!(other.next().await, Some(SignalKind::USER1));
            kill_process(getpid(), Signal::USR2).unwrap();
            assert_eq!(signals.next().await, Some(SignalKind::USER2));
        }
        // Nothing pending now: the stream waits.
        let idle = future::or(async { signals.next().await }, async {
            eddy::sleep(Duration::from_millis(30)).await;
            None
        })
        .await;
        assert_eq!(idle, None);
    }));
}

#[test]
fn ctrl_c_resolves_on_sigint() {
    eddy::run(within(10, async {
        let waiter = eddy::spawn(ctrl_c());
        // Let the waiter register before the signal is sent.
        eddy::sleep(Duration::from_millis(20)).await;
        kill_process(getpid(), Signal::INT).unwrap();
        waiter.await.unwrap().unwrap();
    }));
}

#[test]
fn uncatchable_signals_are_refused() {
    eddy::run(async {
        let err = Signals::new([SignalKind::from_raw(9)]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(SignalKind::from_raw(19).to_string(), "SIGSTOP");
    });
}
