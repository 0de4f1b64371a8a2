//! Every primitive, guard and waiting future is `Send + Sync` when its `T`
//! allows, so they work on multi-threaded executors. Compile-time checks.

use std::future::Future;
use std::sync::Arc;

use eddy_sync::*;

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>(_: &T) {}

#[test]
fn primitives_are_send_and_sync() {
    send_sync::<Semaphore>();
    send_sync::<BoundedSemaphore>();
    send_sync::<BoundedSemaphorePermit<'static>>();
    send_sync::<SemaphorePermit<'static>>();
    send_sync::<OwnedSemaphorePermit>();
    send_sync::<OwnedBoundedSemaphorePermit>();
    send_sync::<Mutex<Vec<u8>>>();
    send_sync::<MutexGuard<'static, Vec<u8>>>();
    send_sync::<OwnedMutexGuard<Vec<u8>>>();
    send_sync::<RwLock<Vec<u8>>>();
    send_sync::<RwLockReadGuard<'static, Vec<u8>>>();
    send_sync::<RwLockWriteGuard<'static, Vec<u8>>>();
    send_sync::<Event>();
    send_sync::<Condition<Vec<u8>>>();
    send_sync::<OwnedConditionGuard<Vec<u8>>>();
    send_sync::<Barrier>();
    send_sync::<BrokenBarrier>();
    send_sync::<BarrierWaitResult>();
    send_sync::<Queue<Vec<u8>>>();
    send_sync::<LifoQueue<Vec<u8>>>();
    send_sync::<PriorityQueue<u32>>();
    send_sync::<OnceCell<Vec<u8>>>();
    send_sync::<CapacityLimiter>();
    send_sync::<mpsc::Sender<Vec<u8>>>();
    send_sync::<mpsc::UnboundedSender<Vec<u8>>>();
    send_sync::<mpsc::Receiver<Vec<u8>>>();
    send_sync::<oneshot::Sender<Vec<u8>>>();
    send_sync::<oneshot::Receiver<Vec<u8>>>();
    send_sync::<broadcast::Sender<Vec<u8>>>();
    send_sync::<broadcast::Receiver<Vec<u8>>>();
    send_sync::<watch::Sender<Vec<u8>>>();
    send_sync::<watch::Receiver<Vec<u8>>>();
}

#[test]
fn waiting_futures_are_send() {
    fn check<F: Future + Send>(f: F) -> F {
        f
    }
    let sem = Arc::new(Semaphore::new(1));
    send(&check(sem.acquire()));
    send(&check(sem.clone().acquire_owned()));
    let bsem = Arc::new(BoundedSemaphore::new(1));
    send(&check(bsem.acquire()));
    send(&check(bsem.clone().acquire_owned()));
    let m = Arc::new(Mutex::new(String::new()));
    send(&check(m.lock()));
    send(&check(m.clone().lock_owned()));
    let l = RwLock::new(0u8);
    send(&check(l.read()));
    send(&check(l.write()));
    let c = Condition::new(0u8);
    send(&check(async {
        let g = c.lock().await;
        drop(c.wait_for(g, |v| *v > 0).await);
    }));
    let c = Arc::new(Condition::new(0u8));
    send(&check(c.clone().lock_owned()));
    fn spawnable<F: Future + Send + 'static>(f: F) -> F {
        f
    }
    let g = c.clone().try_lock_owned().unwrap();
    drop(spawnable(Condition::wait_for_owned(g, |v| *v > 0)));
    let q = Queue::new(1);
    send(&check(q.put(String::new())));
    send(&check(q.get()));
    send(&check(q.join()));
    let e = Event::new();
    send(&check(e.wait()));
    let b = Barrier::new(1);
    send(&check(b.wait()));
    let cell = OnceCell::new();
    send(&check(cell.get_or_init(|| async { 1u8 })));
    let (tx, mut rx) = mpsc::channel::<String>(1);
    send(&check(tx.send(String::new())));
    send(&check(rx.recv()));
    let lim = CapacityLimiter::new(1);
    send(&check(lim.acquire_on_behalf_of(eddy_core::TaskId::next())));
}
