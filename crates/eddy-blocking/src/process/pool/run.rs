//! The futures of process-pool jobs: [`Run`] for one job, [`Map`] for many.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crossbeam_channel::Sender;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ProcessPool;
use crate::oneshot;
use crate::process::PoolError;
use crate::process::registry::ProcessJob;

/// The future of one process-pool job; see [`ProcessPool::run`].
#[must_use = "dropping a Run cancels its job"]
pub struct Run<O> {
    pub(super) reply: oneshot::Receiver<Result<Vec<u8>, PoolError>>,
    pub(super) _cancel: Sender<()>,
    pub(super) early: Option<PoolError>,
    pub(super) _out: PhantomData<fn() -> O>,
}

impl<O> Run<O> {
    pub(super) fn fail(mut self, e: PoolError) -> Run<O> {
        self.early = Some(e);
        self
    }
}

impl<O: DeserializeOwned> Future for Run<O> {
    type Output = Result<O, PoolError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(e) = this.early.take() {
            return Poll::Ready(Err(e));
        }
        match Pin::new(&mut this.reply).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(oneshot::Closed)) => Poll::Ready(Err(PoolError::ShutDown)),
            Poll::Ready(Ok(Err(e))) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(Ok(bytes))) => Poll::Ready(
                postcard::from_bytes(&bytes).map_err(|e| PoolError::BadOutput(e.to_string())),
            ),
        }
    }
}

impl<O> fmt::Debug for Run<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Run")
    }
}

/// The future of [`ProcessPool::map`].
#[must_use = "futures do nothing unless awaited"]
pub struct Map<'a, I: 'static, O: 'static, It> {
    pub(super) pool: &'a ProcessPool,
    pub(super) job: &'static ProcessJob<I, O>,
    pub(super) inputs: It,
    pub(super) max_in_flight: usize,
    pub(super) in_flight: VecDeque<(usize, Run<O>)>,
    pub(super) results: Vec<Option<Result<O, PoolError>>>,
    pub(super) next_index: usize,
    pub(super) exhausted: bool,
}

// Nothing in a `Map` is pinned structurally: results and runs are moved
// freely, so it is `Unpin` whatever the output type.
impl<I, O, It: Unpin> Unpin for Map<'_, I, O, It> {}

impl<I, O, It> Future for Map<'_, I, O, It>
where
    I: Serialize,
    O: DeserializeOwned,
    It: Iterator<Item = I> + Unpin,
{
    type Output = Vec<Result<O, PoolError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            while !this.exhausted && this.in_flight.len() < this.max_in_flight {
                let Some(input) = this.inputs.next() else {
                    this.exhausted = true;
                    break;
                };
                let i = this.next_index;
                this.next_index += 1;
                this.results.push(None);
                this.in_flight
                    .push_back((i, this.pool.run(this.job, input)));
            }
            let before = this.in_flight.len();
            let mut k = 0;
            while k < this.in_flight.len() {
                let (i, run) = &mut this.in_flight[k];
                match Pin::new(run).poll(cx) {
                    Poll::Ready(r) => {
                        this.results[*i] = Some(r);
                        this.in_flight.remove(k);
                    }
                    Poll::Pending => k += 1,
                }
            }
            if this.in_flight.is_empty() && this.exhausted {
                let results = std::mem::take(&mut this.results);
                return Poll::Ready(
                    results
                        .into_iter()
                        .map(|r| r.unwrap_or(Err(PoolError::ShutDown)))
                        .collect(),
                );
            }
            if this.in_flight.len() == before && !this.in_flight.is_empty() {
                return Poll::Pending;
            }
        }
    }
}

impl<I, O, It> fmt::Debug for Map<'_, I, O, It> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}
