//! Graceful shutdown: stop taking runs, let the runs in flight finish until a deadline,
//! then cancel the rest, and say how many did which.
//!
//! A [`Shutdown`] is a step hook. Give it to a flow with `with_hook` (or to some runs with
//! [`Run::hook`](crate::Run::hook)); when the service stops, call
//! [`shutdown`](Shutdown::shutdown):
//!
//! ```
//! use std::time::Duration;
//! use typedflow::prelude::*;
//! use typedflow::shutdown::Shutdown;
//!
//! #[node]
//! async fn work(secs: u64) -> u64 {
//!     tokio::time::sleep(Duration::from_secs(secs)).await;
//!     secs
//! }
//!
//! graph! {
//!     Job(u64) -> u64 {
//!         START -> work -> END;
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! let shutdown = Shutdown::new();
//! let flow = std::sync::Arc::new(Job::new(()).with_hook(shutdown.clone()));
//! let quick = tokio::spawn({ let flow = flow.clone(); async move { flow.run(1).await } });
//! let slow = tokio::spawn({ let flow = flow.clone(); async move { flow.run(60).await } });
//! tokio::task::yield_now().await; // let both start
//!
//! let report = shutdown.shutdown(Duration::from_secs(5)).await;
//! assert_eq!((report.finished, report.cut), (1, 1));
//! assert_eq!(quick.await.unwrap().unwrap(), 1);
//! assert!(slow.await.unwrap().unwrap_err().is_cancelled());
//! assert!(flow.run(1).await.unwrap_err().is_shutting_down());
//! # });
//! ```
//!
//! A flow without the hook pays nothing for it; one with it pays, per run, two atomic
//! updates of the count of runs in flight and a check of the cancellation.

use core::future::Future;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{FlowError, GraphInfo, NoHook, RunId, RunStart, StepHook};

/// Shuts down the runs that go through it: see [the module](self). Clones share one
/// shutdown, so one value can be given to several flows.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Set once: no run starts after.
    closing: AtomicBool,
    /// Cancelled at the deadline: the runs still in flight end.
    cut: CancellationToken,
    /// Runs started and not yet ended.
    in_flight: AtomicU64,
    /// Woken when the last run in flight ends.
    idle: Notify,
    /// Runs that ended on their own after the shutdown began.
    finished: AtomicU64,
    /// Runs cancelled at the deadline.
    cut_runs: AtomicU64,
}

/// What a [`Shutdown::shutdown`] did with the runs in flight when it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Runs that ended on their own (with their output or their own error) before the
    /// deadline.
    pub finished: u64,
    /// Runs still in flight at the deadline, cancelled there: they ended with
    /// [`FlowError::Cancelled`].
    pub cut: u64,
}

impl Shutdown {
    /// A shutdown not yet begun: runs go through it as through no hook.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the shutdown has begun.
    pub fn is_closing(&self) -> bool {
        self.inner.closing.load(Ordering::SeqCst)
    }

    /// How many runs are in flight.
    pub fn in_flight(&self) -> u64 {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    /// Begins the shutdown: runs started from now on end at once with
    /// [`FlowError::ShuttingDown`]; runs in flight go on for at most `grace`, then are
    /// cancelled (the step in progress dropped, as [`Run::cancel_on`](crate::Run::cancel_on)
    /// does). Returns when no run is in flight any more.
    ///
    /// Calling it again (or from a clone) waits for the same runs with the new grace
    /// period; the counts are those since the first call.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownReport {
        let deadline = Instant::now().checked_add(grace);
        self.shutdown_until(deadline).await
    }

    /// As [`shutdown`](Shutdown::shutdown), with the deadline as a time on tokio's clock.
    pub async fn shutdown_at(&self, deadline: Instant) -> ShutdownReport {
        self.shutdown_until(Some(deadline)).await
    }

    async fn shutdown_until(&self, deadline: Option<Instant>) -> ShutdownReport {
        let inner = &*self.inner;
        inner.closing.store(true, Ordering::SeqCst);
        let mut cut = false;
        loop {
            // Registered before the count is read, so an end in between is not missed.
            let idle = inner.idle.notified();
            if inner.in_flight.load(Ordering::SeqCst) == 0 {
                break;
            }
            match deadline {
                Some(at) if !cut => {
                    tokio::select! {
                        () = idle => {}
                        () = tokio::time::sleep_until(at) => {
                            inner.cut.cancel();
                            cut = true;
                        }
                    }
                }
                // Past the deadline (or none can be reached: a grace too long for the
                // clock), the cancelled runs end as soon as their tasks run.
                _ => idle.await,
            }
        }
        ShutdownReport {
            finished: inner.finished.load(Ordering::SeqCst),
            cut: inner.cut_runs.load(Ordering::SeqCst),
        }
    }
}

/// Counts a run in flight while it lives, however it ends (dropped included).
struct InFlight<'a>(&'a Inner);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl StepHook for Shutdown {
    const READS_STEP: bool = false;

    fn start<T, S: RunStart<T>>(
        &self,
        graph: &'static GraphInfo,
        _run_id: RunId,
        start: S,
    ) -> impl Future<Output = Result<T, FlowError>> {
        let inner = &*self.inner;
        async move {
            // Counted before the check: a shutdown that begins in between sees this run.
            inner.in_flight.fetch_add(1, Ordering::SeqCst);
            let _in_flight = InFlight(inner);
            if inner.closing.load(Ordering::SeqCst) {
                return Err(FlowError::ShuttingDown { flow: graph.name });
            }
            match inner.cut.run_until_cancelled(start.start(NoHook)).await {
                Some(out) => {
                    if inner.closing.load(Ordering::SeqCst) {
                        inner.finished.fetch_add(1, Ordering::SeqCst);
                    }
                    out
                }
                None => {
                    inner.cut_runs.fetch_add(1, Ordering::SeqCst);
                    Err(crate::__private::cancelled(graph.name))
                }
            }
        }
    }
}
