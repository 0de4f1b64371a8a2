//! The queue's futures ([`Put`], [`Get`], [`Join`]) and its stream
//! ([`QueueStream`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::Stream;

use super::{GenericQueue, QueueOrder, QueueShutdown};
use crate::waitlist::{Key, WakeList, lock};

/// Future returned by [`GenericQueue::put`].
#[must_use = "futures do nothing unless polled"]
pub struct Put<'a, T, S: QueueOrder<T>> {
    pub(super) queue: &'a GenericQueue<T, S>,
    pub(super) item: Option<T>,
    pub(super) key: Option<Key>,
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
    pub(super) queue: &'a GenericQueue<T, S>,
    pub(super) key: Option<Key>,
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
    pub(super) queue: &'a GenericQueue<T, S>,
    pub(super) key: Option<Key>,
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
    pub(super) queue: &'a GenericQueue<T, S>,
    pub(super) key: Option<Key>,
    pub(super) done: bool,
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
