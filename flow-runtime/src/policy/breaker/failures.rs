//! Failure counting: how many calls in a row have failed since the last success.
//!
//! Counting is lock-free, so a closed breaker costs an atomic load per success and an
//! atomic add per failure; only reaching the threshold takes the state machine's lock.
//! Under concurrent callers "in a row" is the order in which results are recorded.

use core::sync::atomic::{AtomicU32, Ordering};

/// Consecutive failures of a closed breaker.
#[derive(Debug)]
pub(crate) struct ConsecutiveFailures {
    count: AtomicU32,
    threshold: u32,
}

impl ConsecutiveFailures {
    /// A counter that reports reaching `threshold` failures in a row.
    pub(crate) const fn new(threshold: u32) -> Self {
        ConsecutiveFailures {
            count: AtomicU32::new(0),
            threshold,
        }
    }

    /// Counts a failure; `true` when the count has reached the threshold.
    pub(crate) fn failure(&self) -> bool {
        let before = self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(1))
            })
            // The closure always returns `Some`, so `fetch_update` cannot fail; both arms
            // carry the previous value.
            .unwrap_or_else(|n| n);
        before.saturating_add(1) >= self.threshold
    }

    /// A success ends the run of failures.
    pub(crate) fn success(&self) {
        // Skip the store while already zero, so a healthy breaker's cache line stays
        // shared between cores.
        if self.count.load(Ordering::Relaxed) != 0 {
            self.count.store(0, Ordering::Relaxed);
        }
    }

    /// Starts counting afresh, on a change of state.
    pub(crate) fn reset(&self) {
        self.count.store(0, Ordering::Relaxed);
    }

    /// Failures in a row so far.
    pub(crate) fn get(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaches_the_threshold_only_in_a_row() {
        let f = ConsecutiveFailures::new(3);
        assert!(!f.failure());
        assert!(!f.failure());
        f.success();
        assert_eq!(f.get(), 0);
        assert!(!f.failure());
        assert!(!f.failure());
        assert!(f.failure());
        assert!(f.failure(), "past the threshold it still reports it");
        f.reset();
        assert_eq!(f.get(), 0);
    }
}
