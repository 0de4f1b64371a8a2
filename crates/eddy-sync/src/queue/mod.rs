//! asyncio's `Queue`, `LifoQueue` and `PriorityQueue`.
//!
//! This file holds [`GenericQueue`] and its aliases; `order` the orders it
//! can hand items out in, `error` its errors and `future` its futures and
//! stream.

use std::fmt;
use std::sync::Mutex;
use std::task::{Context, Poll};

use crate::waitlist::{Key, WaitList, WakeList, lock};

mod error;
mod future;
mod order;
#[cfg(test)]
mod tests;

pub use error::{QueueShutdown, TaskDoneError, TryGetError, TryPutError};
pub use future::{Get, Join, Put, QueueStream};
pub use order::{Fifo, Lifo, Priority, QueueOrder};

struct State<S> {
    items: S,
    unfinished: usize,
    shutdown: bool,
    getters: WaitList<()>,
    putters: WaitList<()>,
    joiners: WaitList<()>,
}

/// An async queue like `asyncio.Queue`, with the order chosen by `S`
/// (use the aliases):
/// [`Queue<T>`] is FIFO, [`LifoQueue<T>`] LIFO, [`PriorityQueue<T>`]
/// smallest-first.
///
/// * `maxsize == 0` means unbounded; otherwise [`put`](Self::put) waits while
///   the queue holds `maxsize` items (backpressure).
/// * Every item put counts as an unfinished task until a consumer calls
///   [`task_done`](Self::task_done); [`join`](Self::join) waits for zero.
/// * [`shutdown`](Self::shutdown) (Python 3.13): puts fail at once, gets
///   drain what is left then fail; [`shutdown_immediate`](Self::shutdown_immediate)
///   also discards the items. Blocked getters and putters wake with
///   [`QueueShutdown`].
/// * [`stream`](Self::stream) reads it as a `Stream` that ends at shutdown.
///
/// Waiting getters and putters are woken first-in first-out, but a caller
/// that finds an item (or room) at once takes it without queueing, as in
/// asyncio.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// let q = Arc::new(eddy_sync::Queue::new(2));
/// let producer = {
///     let q = q.clone();
///     std::thread::spawn(move || futures_lite::future::block_on(async {
///         for i in 0..10 {
///             q.put(i).await.unwrap();
///         }
///         q.join().await; // until the consumer has marked all done
///         q.shutdown();
///     }))
/// };
/// let sum = futures_lite::future::block_on(async {
///     let mut sum = 0;
///     while let Ok(i) = q.get().await {
///         sum += i;
///         q.task_done().unwrap();
///     }
///     sum
/// });
/// producer.join().unwrap();
/// assert_eq!(sum, 45);
/// ```
pub struct GenericQueue<T, S> {
    maxsize: usize,
    state: Mutex<State<S>>,
    _items: std::marker::PhantomData<fn(T) -> T>,
}

/// A first-in first-out queue (asyncio's `Queue`); see [`GenericQueue`].
///
/// ```
/// let q = eddy_sync::Queue::new(0);
/// q.try_put(1).unwrap();
/// q.try_put(2).unwrap();
/// assert_eq!(q.try_get(), Ok(1));
/// ```
pub type Queue<T> = GenericQueue<T, Fifo<T>>;

/// A last-in first-out queue (asyncio's `LifoQueue`); see [`GenericQueue`].
///
/// ```
/// let q = eddy_sync::LifoQueue::new(0);
/// q.try_put(1).unwrap();
/// q.try_put(2).unwrap();
/// assert_eq!(q.try_get(), Ok(2));
/// ```
pub type LifoQueue<T> = GenericQueue<T, Lifo<T>>;

/// A smallest-first queue (asyncio's `PriorityQueue`); see [`GenericQueue`].
///
/// ```
/// let q = eddy_sync::PriorityQueue::new(0);
/// q.try_put((2, "b")).unwrap();
/// q.try_put((1, "a")).unwrap();
/// assert_eq!(q.try_get(), Ok((1, "a")));
/// ```
pub type PriorityQueue<T> = GenericQueue<T, Priority<T>>;

impl<T> GenericQueue<T, Fifo<T>> {
    /// A FIFO queue; `maxsize == 0` means unbounded.
    ///
    /// ```
    /// let q = eddy_sync::Queue::<u8>::new(4);
    /// assert_eq!(q.maxsize(), 4);
    /// ```
    pub fn new(maxsize: usize) -> Self {
        Self::with_order(maxsize)
    }
}

impl<T> GenericQueue<T, Lifo<T>> {
    /// A LIFO queue; `maxsize == 0` means unbounded.
    ///
    /// ```
    /// let q = eddy_sync::LifoQueue::<u8>::new(0);
    /// assert!(q.is_empty());
    /// ```
    pub fn new(maxsize: usize) -> Self {
        Self::with_order(maxsize)
    }
}

impl<T: Ord> GenericQueue<T, Priority<T>> {
    /// A priority queue; `maxsize == 0` means unbounded.
    ///
    /// ```
    /// let q = eddy_sync::PriorityQueue::<u8>::new(1);
    /// assert!(!q.is_full());
    /// ```
    pub fn new(maxsize: usize) -> Self {
        Self::with_order(maxsize)
    }
}

impl<T, S: QueueOrder<T>> fmt::Debug for GenericQueue<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("Queue")
            .field("len", &s.items.len())
            .field("maxsize", &self.maxsize)
            .field("unfinished", &s.unfinished)
            .field("shutdown", &s.shutdown)
            .finish()
    }
}

impl<T, S: QueueOrder<T>> GenericQueue<T, S> {
    /// A queue with a custom [`QueueOrder`]; `maxsize == 0` means unbounded.
    ///
    /// ```
    /// use eddy_sync::{GenericQueue, Lifo};
    /// let q: GenericQueue<u8, Lifo<u8>> = GenericQueue::with_order(0);
    /// assert_eq!(q.len(), 0);
    /// ```
    pub fn with_order(maxsize: usize) -> Self {
        GenericQueue {
            maxsize,
            state: Mutex::new(State {
                items: S::default(),
                unfinished: 0,
                shutdown: false,
                getters: WaitList::new(),
                putters: WaitList::new(),
                joiners: WaitList::new(),
            }),
            _items: std::marker::PhantomData,
        }
    }

    /// The capacity given at construction (0 = unbounded).
    ///
    /// ```
    /// assert_eq!(eddy_sync::Queue::<u8>::new(0).maxsize(), 0);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// Items in the queue now.
    ///
    /// ```
    /// let q = eddy_sync::Queue::new(0);
    /// q.try_put('a').unwrap();
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        lock(&self.state).items.len()
    }

    /// Whether the queue holds no item.
    ///
    /// ```
    /// assert!(eddy_sync::Queue::<u8>::new(0).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue holds `maxsize` items (never for an unbounded one).
    ///
    /// ```
    /// let q = eddy_sync::Queue::new(1);
    /// q.try_put(()).unwrap();
    /// assert!(q.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.maxsize != 0 && self.len() >= self.maxsize
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    ///
    /// ```
    /// let q = eddy_sync::Queue::<u8>::new(0);
    /// q.shutdown();
    /// assert!(q.is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        lock(&self.state).shutdown
    }

    /// Items put but not yet marked done with [`task_done`](Self::task_done).
    ///
    /// ```
    /// let q = eddy_sync::Queue::new(0);
    /// q.try_put(1).unwrap();
    /// q.try_get().unwrap();
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// ```
    pub fn unfinished_tasks(&self) -> usize {
        lock(&self.state).unfinished
    }

    fn full(&self, s: &State<S>) -> bool {
        self.maxsize != 0 && s.items.len() >= self.maxsize
    }

    /// Puts without waiting.
    ///
    /// # Errors
    ///
    /// [`TryPutError::Full`] at `maxsize`, [`TryPutError::Shutdown`] after
    /// shutdown; both hand the item back.
    ///
    /// ```
    /// let q = eddy_sync::Queue::new(1);
    /// assert!(q.try_put(1).is_ok());
    /// assert!(q.try_put(2).is_err());
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        let mut wakes = WakeList::new();
        {
            let mut s = lock(&self.state);
            if s.shutdown {
                return Err(TryPutError::Shutdown(item));
            }
            if self.full(&s) {
                return Err(TryPutError::Full(item));
            }
            Self::push_locked(&mut s, item, &mut wakes);
        }
        wakes.wake_all();
        Ok(())
    }

    fn push_locked(s: &mut State<S>, item: T, wakes: &mut WakeList) {
        s.items.push(item);
        s.unfinished += 1;
        s.getters.notify_front((), wakes);
    }

    /// Gets without waiting.
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`] if there is no item; [`TryGetError::Shutdown`]
    /// if there is none and the queue is shut down.
    ///
    /// ```
    /// let q = eddy_sync::Queue::new(0);
    /// q.try_put(1).unwrap();
    /// assert_eq!(q.try_get(), Ok(1));
    /// assert!(q.try_get().is_err());
    /// ```
    pub fn try_get(&self) -> Result<T, TryGetError> {
        let mut wakes = WakeList::new();
        let r = {
            let mut s = lock(&self.state);
            match s.items.pop() {
                Some(item) => {
                    s.putters.notify_front((), &mut wakes);
                    Ok(item)
                }
                None if s.shutdown => Err(TryGetError::Shutdown),
                None => Err(TryGetError::Empty),
            }
        };
        wakes.wake_all();
        r
    }

    /// Puts `item`, waiting while the queue is full.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before completing, the item was not put and
    /// is dropped with the future; nothing in the queue changes. A dropped
    /// putter that had been woken for free room passes the wake-up to the
    /// next putter.
    ///
    /// # Errors
    ///
    /// [`QueueShutdown`] holding the item if the queue is (or becomes, while
    /// waiting) shut down.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let q = eddy_sync::Queue::new(1);
    ///     q.put("x").await.unwrap();
    ///     assert!(q.is_full());
    /// });
    /// ```
    pub fn put(&self, item: T) -> Put<'_, T, S> {
        Put {
            queue: self,
            item: Some(item),
            key: None,
        }
    }

    /// Removes and returns the next item, waiting while the queue is empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an item is only removed in the poll that returns it, so a
    /// dropped `get` loses no item; a dropped getter that had been woken for
    /// a new item passes the wake-up to the next getter.
    ///
    /// # Errors
    ///
    /// [`QueueShutdown`] once the queue is shut down and empty.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let q = eddy_sync::Queue::new(0);
    ///     q.put(1).await.unwrap();
    ///     assert_eq!(q.get().await, Ok(1));
    /// });
    /// ```
    pub fn get(&self) -> Get<'_, T, S> {
        Get {
            queue: self,
            key: None,
        }
    }

    /// Marks one item taken from the queue as processed.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] if there are no unfinished tasks.
    ///
    /// ```
    /// let q = eddy_sync::Queue::new(0);
    /// q.try_put(1).unwrap();
    /// q.try_get().unwrap();
    /// q.task_done().unwrap();
    /// assert!(q.task_done().is_err());
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut wakes = WakeList::new();
        {
            let mut s = lock(&self.state);
            if s.unfinished == 0 {
                return Err(TaskDoneError(()));
            }
            s.unfinished -= 1;
            if s.unfinished == 0 {
                s.joiners.notify_all((), &mut wakes);
            }
        }
        wakes.wake_all();
        Ok(())
    }

    /// Waits until every item put has been marked done with
    /// [`task_done`](Self::task_done); returns at once if none is pending.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: all joiners are woken together, so a dropped one has
    /// nothing to pass on.
    ///
    /// ```
    /// futures_lite::future::block_on(async {
    ///     let q = eddy_sync::Queue::<u8>::new(0);
    ///     q.join().await; // nothing pending
    /// });
    /// ```
    pub fn join(&self) -> Join<'_, T, S> {
        Join {
            queue: self,
            key: None,
        }
    }

    /// Shuts the queue down (Python 3.13's `shutdown()`): further puts fail,
    /// blocked putters wake with [`QueueShutdown`], getters drain the
    /// remaining items and then get [`QueueShutdown`].
    ///
    /// ```
    /// let q = eddy_sync::Queue::new(0);
    /// q.try_put(1).unwrap();
    /// q.shutdown();
    /// assert_eq!(q.try_get(), Ok(1));
    /// assert_eq!(q.try_get(), Err(eddy_sync::TryGetError::Shutdown));
    /// ```
    pub fn shutdown(&self) {
        self.shutdown_inner(false);
    }

    /// Like [`shutdown`](Self::shutdown) but also discards the queued items,
    /// counting each as done (so [`join`](Self::join) can return), as in
    /// Python's `shutdown(immediate=True)`.
    ///
    /// ```
    /// let q = eddy_sync::Queue::new(0);
    /// q.try_put(1).unwrap();
    /// q.shutdown_immediate();
    /// assert!(q.is_empty());
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// ```
    pub fn shutdown_immediate(&self) {
        self.shutdown_inner(true);
    }

    fn shutdown_inner(&self, immediate: bool) {
        let mut wakes = WakeList::new();
        let discarded;
        {
            let mut s = lock(&self.state);
            s.shutdown = true;
            discarded = if immediate {
                // Move the items out so their destructors run after unlock.
                Some(std::mem::take(&mut s.items))
            } else {
                None
            };
            if let Some(items) = &discarded {
                s.unfinished = s.unfinished.saturating_sub(items.len());
                if s.unfinished == 0 {
                    s.joiners.notify_all((), &mut wakes);
                }
            }
            s.getters.notify_all((), &mut wakes);
            s.putters.notify_all((), &mut wakes);
        }
        wakes.wake_all();
        drop(discarded);
    }

    /// A `Stream` of items that ends when the queue is shut down and drained.
    /// Each item still counts as an unfinished task.
    ///
    /// ```
    /// use futures_lite::StreamExt;
    /// futures_lite::future::block_on(async {
    ///     let q = eddy_sync::Queue::new(0);
    ///     q.put(1).await.unwrap();
    ///     q.put(2).await.unwrap();
    ///     q.shutdown();
    ///     let all: Vec<i32> = q.stream().collect().await;
    ///     assert_eq!(all, [1, 2]);
    /// });
    /// ```
    pub fn stream(&self) -> QueueStream<'_, T, S> {
        QueueStream {
            queue: self,
            key: None,
            done: false,
        }
    }

    fn poll_get(
        &self,
        key: &mut Option<Key>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, QueueShutdown>> {
        let mut wakes = WakeList::new();
        let r = {
            let mut s = lock(&self.state);
            if let Some(k) = *key {
                if !s.getters.is_notified(k) {
                    s.getters.set_waker(k, cx.waker());
                    return Poll::Pending;
                }
                s.getters.remove(k);
                *key = None;
            }
            match s.items.pop() {
                Some(item) => {
                    s.putters.notify_front((), &mut wakes);
                    Poll::Ready(Ok(item))
                }
                None if s.shutdown => Poll::Ready(Err(QueueShutdown(()))),
                None => {
                    *key = Some(s.getters.push_back((), Some(cx.waker().clone())));
                    Poll::Pending
                }
            }
        };
        wakes.wake_all();
        r
    }

    fn drop_getter(&self, key: &mut Option<Key>) {
        let Some(k) = key.take() else { return };
        let mut wakes = WakeList::new();
        {
            let mut s = lock(&self.state);
            if s.getters.remove(k).is_some() {
                s.getters.notify_front((), &mut wakes);
            }
        }
        wakes.wake_all();
    }
}
