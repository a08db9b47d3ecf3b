//! The run deadline: one bound on a whole run, every node, retry and wait included.

use core::future::Future;
use std::time::Duration;

use super::observe::TRACING_TARGET;
use crate::FlowError;

/// Runs `run`, a whole run of flow `flow`, for at most `timeout`.
///
/// When `timeout` passes first, the run's future is dropped (the node in progress, its
/// retries and waits with it; no further step starts) and the result is
/// [`FlowError::Timeout`]. Put it outermost: per-attempt timeouts and retry policies
/// inside still apply, and this bound cuts across them.
///
/// # Errors
///
/// The run's own error, or [`FlowError::Timeout`] when the deadline passes first.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::FlowError;
/// use typedflow::policy::deadline;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let slow = async {
///     tokio::time::sleep(Duration::from_secs(60)).await;
///     Ok::<u32, FlowError>(1)
/// };
/// let result = deadline("essay", Duration::from_secs(5), slow).await;
/// assert!(matches!(result, Err(FlowError::Timeout { .. })));
/// # }
/// ```
pub async fn deadline<T, F>(flow: &'static str, timeout: Duration, run: F) -> Result<T, FlowError>
where
    F: Future<Output = Result<T, FlowError>>,
{
    match tokio::time::timeout(timeout, run).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(target: TRACING_TARGET, flow, timeout = ?timeout, "run deadline passed");
            Err(FlowError::timeout(flow, timeout))
        }
    }
}
