//! asyncio's `Queue`, `LifoQueue` and `PriorityQueue`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use futures_lite::Stream;

use crate::waitlist::{Key, WaitList, WakeList, lock};

/// The order a [`Queue`] hands items out in.
///
/// Implemented by [`Fifo`], [`Lifo`] and [`Priority`]; you can implement it
/// for your own container.
///
/// ```
/// use eddy_sync::{Lifo, QueueOrder};
/// let mut s = Lifo::default();
/// s.push(1);
/// s.push(2);
/// assert_eq!(s.pop(), Some(2));
/// assert_eq!(s.len(), 1);
/// ```
pub trait QueueOrder<T>: Default {
    /// Adds an item.
    fn push(&mut self, item: T);
    /// Takes the next item.
    fn pop(&mut self) -> Option<T>;
    /// Number of items held.
    fn len(&self) -> usize;
    /// Whether no item is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Drops every item, returning how many there were.
    fn clear(&mut self) -> usize;
}

/// First in, first out (asyncio's `Queue`).
///
/// ```
/// use eddy_sync::{Fifo, QueueOrder};
/// let mut s = Fifo::default();
/// s.push(1);
/// s.push(2);
/// assert_eq!(s.pop(), Some(1));
/// ```
#[derive(Debug)]
pub struct Fifo<T>(VecDeque<T>);

/// Last in, first out (asyncio's `LifoQueue`).
///
/// ```
/// use eddy_sync::{Lifo, QueueOrder};
/// let mut s = Lifo::default();
/// s.push(1);
/// s.push(2);
/// assert_eq!(s.pop(), Some(2));
/// ```
#[derive(Debug)]
pub struct Lifo<T>(Vec<T>);

/// Smallest first (asyncio's `PriorityQueue`, a min-heap). Equal items come
/// out in no particular order; pair them with a sequence number for
/// stability, as asyncio's docs suggest.
///
/// ```
/// use eddy_sync::{Priority, QueueOrder};
/// let mut s = Priority::default();
/// s.push(3);
/// s.push(1);
/// s.push(2);
/// assert_eq!(s.pop(), Some(1));
/// ```
#[derive(Debug)]
pub struct Priority<T>(BinaryHeap<Reverse<T>>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}
impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(Vec::new())
    }
}
impl<T: Ord> Default for Priority<T> {
    fn default() -> Self {
        Priority(BinaryHeap::new())
    }
}

impl<T> QueueOrder<T> for Fifo<T> {
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) -> usize {
        let n = self.0.len();
        self.0.clear();
        n
    }
}

impl<T> QueueOrder<T> for Lifo<T> {
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) -> usize {
        let n = self.0.len();
        self.0.clear();
        n
    }
}

impl<T: Ord> QueueOrder<T> for Priority<T> {
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(t)| t)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) -> usize {
        let n = self.0.len();
        self.0.clear();
        n
    }
}

/// The queue was shut down (asyncio's `QueueShutDown`). From `put`, it hands
/// the item back; from `get`, it carries `()` and means "shut down and, unless
/// the shutdown was immediate, drained".
///
/// ```
/// futures_lite::future::block_on(async {
///     let q = eddy_sync::Queue::new(0);
///     q.shutdown();
///     assert_eq!(q.put(5).await.unwrap_err().0, 5);
///     assert!(q.get().await.is_err());
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueShutdown<T = ()>(pub T);

impl<T> fmt::Display for QueueShutdown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down")
    }
}

impl<T: fmt::Debug> std::error::Error for QueueShutdown<T> {}

/// Why [`GenericQueue::try_get`] failed.
///
/// ```
/// let q = eddy_sync::Queue::<u8>::new(0);
/// assert_eq!(q.try_get(), Err(eddy_sync::TryGetError::Empty));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryGetError {
    /// No item right now (asyncio's `QueueEmpty`).
    Empty,
    /// Shut down and empty (asyncio's `QueueShutDown`).
    Shutdown,
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::Empty => f.write_str("queue is empty"),
            TryGetError::Shutdown => f.write_str("queue is shut down"),
        }
    }
}

impl std::error::Error for TryGetError {}

/// Why [`GenericQueue::try_put`] failed; holds the item.
///
/// ```
/// let q = eddy_sync::Queue::new(1);
/// q.try_put(1).unwrap();
/// assert_eq!(q.try_put(2), Err(eddy_sync::TryPutError::Full(2)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// At `maxsize` (asyncio's `QueueFull`).
    Full(T),
    /// Shut down (asyncio's `QueueShutDown`).
    Shutdown(T),
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    ///
    /// ```
    /// assert_eq!(eddy_sync::TryPutError::Full(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(t) | TryPutError::Shutdown(t) => t,
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("queue is full"),
            TryPutError::Shutdown(_) => f.write_str("queue is shut down"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for TryPutError<T> {}

/// [`GenericQueue::task_done`] was called more times than items were put (asyncio
/// raises `ValueError`).
///
/// ```
/// let q = eddy_sync::Queue::<u8>::new(0);
/// assert!(q.task_done().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError(());

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}

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

/// Future returned by [`GenericQueue::put`].
#[must_use = "futures do nothing unless polled"]
pub struct Put<'a, T, S: QueueOrder<T>> {
    queue: &'a GenericQueue<T, S>,
    item: Option<T>,
    key: Option<Key>,
}

impl<T, S: QueueOrder<T>> Unpin for Put<'_, T, S> {}

impl<T, S: QueueOrder<T>> fmt::Debug for Put<'_, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put").finish_non_exhaustive()
    }
}

impl<T, S: QueueOrder<T>> Future for Put<'_, T, S> {
    type Output = Result<(), QueueShutdown<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let q = this.queue;
        let mut wakes = WakeList::new();
        let r = {
            let mut s = lock(&q.state);
            if let Some(k) = this.key {
                if !s.putters.is_notified(k) {
                    s.putters.set_waker(k, cx.waker());
                    return Poll::Pending;
                }
                s.putters.remove(k);
                this.key = None;
            }
            let item = this.item.take().expect("Put polled after completion");
            if s.shutdown {
                Poll::Ready(Err(QueueShutdown(item)))
            } else if q.full(&s) {
                this.item = Some(item);
                this.key = Some(s.putters.push_back((), Some(cx.waker().clone())));
                Poll::Pending
            } else {
                GenericQueue::<T, S>::push_locked(&mut s, item, &mut wakes);
                // Room may remain (several getters ran since we were woken):
                // keep the putter chain moving.
                if !q.full(&s) {
                    s.putters.notify_front((), &mut wakes);
                }
                Poll::Ready(Ok(()))
            }
        };
        wakes.wake_all();
        r
    }
}

impl<T, S: QueueOrder<T>> Drop for Put<'_, T, S> {
    fn drop(&mut self) {
        let Some(k) = self.key.take() else { return };
        let mut wakes = WakeList::new();
        {
            let mut s = lock(&self.queue.state);
            if s.putters.remove(k).is_some() {
                s.putters.notify_front((), &mut wakes);
            }
        }
        wakes.wake_all();
    }
}

/// Future returned by [`GenericQueue::get`].
#[must_use = "futures do nothing unless polled"]
pub struct Get<'a, T, S: QueueOrder<T>> {
    queue: &'a GenericQueue<T, S>,
    key: Option<Key>,
}

impl<T, S: QueueOrder<T>> fmt::Debug for Get<'_, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get").finish_non_exhaustive()
    }
}

impl<T, S: QueueOrder<T>> Future for Get<'_, T, S> {
    type Output = Result<T, QueueShutdown>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.queue.poll_get(&mut this.key, cx)
    }
}

impl<T, S: QueueOrder<T>> Drop for Get<'_, T, S> {
    fn drop(&mut self) {
        self.queue.drop_getter(&mut self.key);
    }
}

/// Future returned by [`GenericQueue::join`].
#[must_use = "futures do nothing unless polled"]
pub struct Join<'a, T, S: QueueOrder<T>> {
    queue: &'a GenericQueue<T, S>,
    key: Option<Key>,
}

impl<T, S: QueueOrder<T>> fmt::Debug for Join<'_, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").finish_non_exhaustive()
    }
}

impl<T, S: QueueOrder<T>> Future for Join<'_, T, S> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut s = lock(&this.queue.state);
        if let Some(k) = this.key {
            if s.joiners.is_notified(k) {
                s.joiners.remove(k);
                this.key = None;
                return Poll::Ready(());
            }
            s.joiners.set_waker(k, cx.waker());
            return Poll::Pending;
        }
        if s.unfinished == 0 {
            return Poll::Ready(());
        }
        this.key = Some(s.joiners.push_back((), Some(cx.waker().clone())));
        Poll::Pending
    }
}

impl<T, S: QueueOrder<T>> Drop for Join<'_, T, S> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            lock(&self.queue.state).joiners.remove(k);
        }
    }
}

/// A queue read as a `Stream` (see [`GenericQueue::stream`]). Cancel safe like
/// [`GenericQueue::get`]: dropping it between items loses nothing.
#[must_use = "streams do nothing unless polled"]
pub struct QueueStream<'a, T, S: QueueOrder<T>> {
    queue: &'a GenericQueue<T, S>,
    key: Option<Key>,
    done: bool,
}

impl<T, S: QueueOrder<T>> fmt::Debug for QueueStream<'_, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueStream")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T, S: QueueOrder<T>> Stream for QueueStream<'_, T, S> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match this.queue.poll_get(&mut this.key, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(item)) => Poll::Ready(Some(item)),
            Poll::Ready(Err(_)) => {
                this.done = true;
                Poll::Ready(None)
            }
        }
    }
}

impl<T, S: QueueOrder<T>> Drop for QueueStream<'_, T, S> {
    fn drop(&mut self) {
        self.queue.drop_getter(&mut self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{CountingWaker, poll_once};

    #[test]
    fn join_returns_only_after_every_task_done() {
        let q = Queue::new(0);
        let w = CountingWaker::new();
        q.try_put(1).unwrap();
        q.try_put(2).unwrap();
        let mut j = Box::pin(q.join());
        assert!(poll_once(&mut j, &w.waker()).is_pending());
        q.try_get().unwrap();
        q.task_done().unwrap();
        assert!(poll_once(&mut j, &w.waker()).is_pending());
        q.try_get().unwrap();
        q.task_done().unwrap();
        assert_eq!(w.count(), 1);
        assert!(poll_once(&mut j, &w.waker()).is_ready());
    }

    #[test]
    fn shutdown_wakes_getters_and_putters_with_errors() {
        let q = Queue::new(1);
        let w = CountingWaker::new();
        let mut g = Box::pin(q.get());
        assert!(poll_once(&mut g, &w.waker()).is_pending());
        q.try_put(1).unwrap();
        let mut p = Box::pin(q.put(2));
        assert!(poll_once(&mut p, &w.waker()).is_pending());
        q.shutdown_immediate();
        // `g` was woken by the put, but the item was discarded.
        assert_eq!(
            poll_once(&mut g, &w.waker()),
            Poll::Ready(Err(QueueShutdown(())))
        );
        assert_eq!(
            poll_once(&mut p, &w.waker()),
            Poll::Ready(Err(QueueShutdown(2)))
        );
    }

    #[test]
    fn dropped_woken_getter_passes_item_wakeup_on() {
        let q = Queue::new(0);
        let wa = CountingWaker::new();
        let wb = CountingWaker::new();
        let mut a = Box::pin(q.get());
        let mut b = Box::pin(q.get());
        assert!(poll_once(&mut a, &wa.waker()).is_pending());
        assert!(poll_once(&mut b, &wb.waker()).is_pending());
        q.try_put(7).unwrap();
        assert_eq!((wa.count(), wb.count()), (1, 0));
        drop(a);
        assert_eq!(wb.count(), 1);
        assert_eq!(poll_once(&mut b, &wb.waker()), Poll::Ready(Ok(7)));
    }
}
