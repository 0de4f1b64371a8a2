//! Async generators on stable Rust: a closure that yields items, seen from
//! outside as a `Stream`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_lite::Stream;
use pin_project_lite::pin_project;

use crate::set::lock;

/// The generator's side of an [`async_gen`]: [`yield_`](Yielder::yield_)
/// hands an item to the consumer and suspends until it asks for the next.
///
/// ```
/// use futures_lite::StreamExt;
///
/// let countdown = eddy_scope::async_gen(|y: eddy_scope::Yielder<u32>| async move {
///     for i in (1..=3).rev() {
///         y.yield_(i).await;
///     }
/// });
/// assert_eq!(eddy::run(countdown.collect::<Vec<_>>()), [3, 2, 1]);
/// ```
pub struct Yielder<T> {
    slot: Arc<Mutex<Option<T>>>,
}

impl<T> Yielder<T> {
    /// Yields `item` (Python's `yield item` in an `async def`). Await it
    /// directly in the generator's body: the generator resumes when the
    /// consumer asks for the next item.
    ///
    /// ```
    /// use futures_lite::StreamExt;
    ///
    /// let squares = eddy_scope::async_gen(|y| async move {
    ///     for i in 1..=3u32 {
    ///         y.yield_(i * i).await;
    ///     }
    /// });
    /// let all: Vec<u32> = eddy::run(squares.collect());
    /// assert_eq!(all, [1, 4, 9]);
    /// ```
    pub fn yield_(&self, item: T) -> YieldItem<'_, T> {
        YieldItem {
            yielder: self,
            item: Some(item),
        }
    }
}

impl<T> fmt::Debug for Yielder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Yielder").finish_non_exhaustive()
    }
}

/// Future returned by [`Yielder::yield_`].
///
/// ```
/// use futures_lite::StreamExt;
///
/// let greetings = eddy_scope::async_gen(|y| async move {
///     let item: eddy_scope::YieldItem<'_, &str> = y.yield_("hello");
///     item.await; // resumes when the consumer asks for the next item
/// });
/// assert_eq!(eddy::run(greetings.collect::<Vec<_>>()), ["hello"]);
/// ```
#[must_use = "a yield does nothing unless awaited"]
pub struct YieldItem<'a, T> {
    yielder: &'a Yielder<T>,
    item: Option<T>,
}

impl<T> Unpin for YieldItem<'_, T> {}

impl<T> Future for YieldItem<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut slot = lock(&this.yielder.slot);
        match this.item.take() {
            // First poll: hand the item over and suspend. No waker is needed:
            // the stream returns the item now and polls the body again when
            // the consumer wants the next one.
            Some(item) => {
                *slot = Some(item);
                Poll::Pending
            }
            None if slot.is_none() => Poll::Ready(()),
            None => Poll::Pending,
        }
    }
}

pin_project! {
    /// The [`Stream`] made by [`async_gen`].
    ///
    /// ```
    /// use futures_lite::StreamExt;
    ///
    /// eddy::run(async {
    ///     let mut evens = std::pin::pin!(eddy_scope::async_gen(|y| async move {
    ///         for i in 0..3u8 { y.yield_(i * 2).await; }
    ///     }));
    ///     assert_eq!(evens.next().await, Some(0));
    ///     assert_eq!(evens.next().await, Some(2));
    ///     assert_eq!(evens.next().await, Some(4));
    ///     assert_eq!(evens.next().await, None);
    /// });
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct AsyncGen<T, Fut> {
        #[pin]
        body: Option<Fut>,
        slot: Arc<Mutex<Option<T>>>,
    }
}

/// Writes a stream as an async function that yields: the stable-Rust form
/// of Python's async generators (`async def f(): ... yield x`).
///
/// `body` gets a [`Yielder`]; every `y.yield_(item).await` produces one
/// item of the stream. The body runs only while the consumer polls (it is
/// lazy, like a Python generator) and the stream ends when the body returns.
/// Consume it with `while let Some(x) = stream.next().await` (the `async
/// for` loop) or any `StreamExt` combinator.
///
/// # Cancellation
///
/// Dropping the stream drops the body at its current `.await`; its
/// destructors run (Python's `aclose()`).
///
/// # Example: the asyncio note's `stream_records`
///
/// ```
/// use futures_lite::StreamExt;
///
/// #[derive(Debug, PartialEq)]
/// struct Record { id: u32, value: u32 }
///
/// fn stream_records(limit: u32) -> impl futures_lite::Stream<Item = Record> {
///     eddy_scope::async_gen(move |y| async move {
///         for i in 0..limit {
///             eddy::yield_now().await; // yield control to the event loop
///             y.yield_(Record { id: i, value: i * 2 }).await;
///         }
///     })
/// }
///
/// eddy::run(async {
///     let mut records = std::pin::pin!(stream_records(100));
///     let mut n = 0;
///     while let Some(record) = records.next().await {
///         assert_eq!(record, Record { id: n, value: n * 2 });
///         n += 1;
///     }
///     assert_eq!(n, 100);
/// });
/// ```
pub fn async_gen<T, F, Fut>(body: F) -> AsyncGen<T, Fut>
where
    F: FnOnce(Yielder<T>) -> Fut,
    Fut: Future<Output = ()>,
{
    let slot = Arc::new(Mutex::new(None));
    let body = body(Yielder { slot: slot.clone() });
    AsyncGen {
        body: Some(body),
        slot,
    }
}

impl<T, Fut: Future<Output = ()>> Stream for AsyncGen<T, Fut> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut this = self.project();
        let Some(body) = this.body.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let done = body.poll(cx).is_ready();
        if done {
            this.body.set(None);
        }
        match lock(this.slot).take() {
            Some(item) => Poll::Ready(Some(item)),
            None if done => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}

impl<T, Fut> fmt::Debug for AsyncGen<T, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncGen")
            .field("finished", &self.body.is_none())
            .finish()
    }
}

/// [`async_gen`] for generators that can fail: the body returns
/// `Result<(), E>`, and an `Err` becomes the stream's last item. Use `?`
/// freely inside the body.
///
/// # Cancellation
///
/// As [`async_gen`].
///
/// ```
/// use futures_lite::StreamExt;
///
/// eddy::run(async {
///     let lines = eddy_scope::try_async_gen(|y| async move {
///         y.yield_("first".to_string()).await;
///         let n: u32 = "not a number".parse().map_err(|_| "bad line")?;
///         y.yield_(n.to_string()).await;
///         Ok(())
///     });
///     let items: Vec<Result<String, &str>> = lines.collect().await;
///     assert_eq!(items, [Ok("first".to_string()), Err("bad line")]);
/// });
/// ```
pub fn try_async_gen<T, E, F, Fut>(body: F) -> TryAsyncGen<T, E, Fut>
where
    F: FnOnce(Yielder<T>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let slot = Arc::new(Mutex::new(None));
    let body = body(Yielder { slot: slot.clone() });
    TryAsyncGen {
        body: Some(body),
        slot,
        _err: std::marker::PhantomData,
    }
}

pin_project! {
    /// The [`Stream`] made by [`try_async_gen`].
    ///
    /// ```
    /// use futures_lite::StreamExt;
    ///
    /// let lines = eddy_scope::try_async_gen(|y| async move {
    ///     y.yield_("first line").await;
    ///     Err::<(), _>("connection reset")
    /// });
    /// let all: Vec<Result<&str, &str>> = eddy::run(lines.collect());
    /// assert_eq!(all, [Ok("first line"), Err("connection reset")]);
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct TryAsyncGen<T, E, Fut> {
        #[pin]
        body: Option<Fut>,
        slot: Arc<Mutex<Option<T>>>,
        _err: std::marker::PhantomData<fn() -> E>,
    }
}

impl<T, E, Fut: Future<Output = Result<(), E>>> Stream for TryAsyncGen<T, E, Fut> {
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T, E>>> {
        let mut this = self.project();
        let Some(body) = this.body.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let result = match body.poll(cx) {
            Poll::Ready(r) => {
                this.body.set(None);
                Some(r)
            }
            Poll::Pending => None,
        };
        if let Some(item) = lock(this.slot).take() {
            // A body cannot yield and return on the same poll, so `result`
            // is `None` here.
            return Poll::Ready(Some(Ok(item)));
        }
        match result {
            Some(Err(e)) => Poll::Ready(Some(Err(e))),
            Some(Ok(())) => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}

impl<T, E, Fut> fmt::Debug for TryAsyncGen<T, E, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryAsyncGen")
            .field("finished", &self.body.is_none())
            .finish()
    }
}
