//! Parking and unparking the reactor: no lost unparks, tokens, zero
//! timeouts.

use super::*;

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
