//! Helpers shared by eddy-scope's integration tests: the virtual-time test
//! runtime, a drop counter, and two error types in asyncio's names.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eddy::Runtime;
use eddy::time::ManualClock;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// eddy's test runtime: virtual time, ready tasks run in an order drawn
/// from a seed (`EDDY_SEED`, else 0, so CI is reproducible; run with other
/// seeds to look for order dependence), and a deadlock fails the test with
/// the task table instead of hanging it.
pub fn virtual_time() -> (Runtime, ManualClock) {
    let b = eddy::test::Builder::new().seed(eddy::test::seed_from_env().unwrap_or(0));
    let clock = b.clock();
    (b.build().unwrap(), clock)
}

/// Counts drops: the `finally` blocks of cancelled futures.
#[derive(Clone, Default)]
pub struct Drops(Arc<AtomicUsize>);

impl Drops {
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Debug, PartialEq)]
pub struct ValueError(pub &'static str);

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValueError: {}", self.0)
    }
}

impl std::error::Error for ValueError {}

#[derive(Debug, PartialEq)]
pub struct KeyError(pub u32);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyError: {}", self.0)
    }
}

impl std::error::Error for KeyError {}
