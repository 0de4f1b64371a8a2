//! The seeded scheduler: the current-thread loop takes its next task from a
//! position drawn from a seeded generator instead of the front of the queue.
//!
//! Only the choice among *ready* tasks is randomised; what is ready when is
//! decided by the program (and, on a manual clock, by virtual time), so one
//! seed gives one schedule. Tasks woken from other threads join the queue at
//! points that depend on real timing, which a seed cannot replay: tests that
//! want exact replay keep their work on the runtime's thread.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

/// splitmix64: tiny, fast, and every seed (zero included) gives a good stream.
pub(crate) struct SeededRng {
    state: AtomicU64,
}

impl SeededRng {
    pub(crate) fn new(seed: u64) -> SeededRng {
        SeededRng {
            state: AtomicU64::new(seed),
        }
    }

    fn next_u64(&self) -> u64 {
        // Only the thread running the current-thread loop draws, so a plain
        // load and store suffice; the atomic only makes `Shared` `Sync`.
        let s = self
            .state
            .load(Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.store(s, Ordering::Relaxed);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (`n > 0`).
    fn below(&self, n: usize) -> usize {
        // Lemire's multiply-shift: no modulo bias worth caring about here.
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Takes a task from a seeded position of `queue`.
    pub(crate) fn pop<T>(&self, queue: &mut VecDeque<T>) -> Option<T> {
        match queue.len() {
            0 => None,
            1 => queue.pop_front(),
            n => queue.remove(self.below(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Popping at seeded positions is a permutation of the queue, and
        /// the same seed gives the same permutation.
        #[test]
        fn seeded_pop_is_a_replayable_permutation(seed: u64, n in 0usize..50) {
            let run = |seed| {
                let rng = SeededRng::new(seed);
                let mut q: VecDeque<usize> = (0..n).collect();
                let mut out = Vec::new();
                while let Some(x) = rng.pop(&mut q) {
                    out.push(x);
                }
                out
            };
            let a = run(seed);
            let mut sorted = a.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            prop_assert_eq!(a, run(seed));
        }
    }

    #[test]
    fn different_seeds_give_different_orders() {
        let order = |seed| {
            let rng = SeededRng::new(seed);
            let mut q: VecDeque<usize> = (0..16).collect();
            std::iter::from_fn(|| rng.pop(&mut q)).collect::<Vec<_>>()
        };
        let distinct: std::collections::HashSet<_> = (0..20).map(order).collect();
        assert!(distinct.len() > 15);
    }
}
