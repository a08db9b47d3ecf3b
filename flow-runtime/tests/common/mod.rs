//! Helpers shared by the policy tests.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Counts, in `dropped_early`, the futures dropped before they set `done`.
pub struct DropGuard<'a> {
    pub dropped_early: &'a AtomicU32,
    pub done: bool,
}

impl Drop for DropGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.dropped_early.fetch_add(1, Ordering::Relaxed);
        }
    }
}
