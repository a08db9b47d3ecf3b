//! A small retry loop for provider calls.
//!
//! It exists so this crate can be used (and tested against fault-injecting servers)
//! before the runtime's retry policy is wired in; the runtime's policy, which reads the
//! same [`Retryable`](typedflow::Retryable) facts, can replace it.

use std::future::Future;
use std::time::Duration;

use crate::error::ProviderError;

/// When to try a failed call again, and how long to wait.
///
/// Only retryable errors are retried ([`ProviderError::is_retryable`]). The wait before
/// attempt `n + 1` is the backoff `initial_backoff * factor^(n-1)`, capped at
/// `max_backoff`, or the server's retry-after hint if that is longer. A server asking
/// for more than `max_backoff` ends the retries: waiting that long is the caller's
/// decision, not a policy's.
///
/// ```
/// use std::time::Duration;
/// use typedflow_providers::{ApiError, ProviderError, RetryConfig};
///
/// let retry = RetryConfig::default()
///     .with_attempts(4)
///     .with_initial_backoff(Duration::from_millis(100))
///     .with_max_backoff(Duration::from_secs(5));
///
/// let timeout = ProviderError::timeout("openai");
/// assert_eq!(retry.delay_after(1, &timeout), Some(Duration::from_millis(100)));
/// assert_eq!(retry.delay_after(3, &timeout), Some(Duration::from_millis(400)));
/// assert_eq!(retry.delay_after(4, &timeout), None); // attempts used up
///
/// let limited = |secs| ProviderError::from_api(
///     ApiError::new("openai", 429, "slow down").with_retry_after(Duration::from_secs(secs)), "m");
/// assert_eq!(retry.delay_after(1, &limited(2)), Some(Duration::from_secs(2)));
/// assert_eq!(retry.delay_after(1, &limited(60)), None); // beyond the cap: stop
///
/// let refused = ProviderError::from_api(ApiError::new("openai", 401, "no"), "m");
/// assert_eq!(retry.delay_after(1, &refused), None);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// The most attempts in all, the first included.
    pub attempts: u32,
    /// The wait after the first failure.
    pub initial_backoff: Duration,
    /// The growth of the wait per failure.
    pub factor: f64,
    /// The longest wait; a longer retry-after hint stops the retries.
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    /// # Default
    ///
    /// 3 attempts, 500 ms initial backoff, factor 2, 30 s cap.
    fn default() -> Self {
        RetryConfig {
            attempts: 3,
            initial_backoff: Duration::from_millis(500),
            factor: 2.0,
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryConfig {
    /// Sets the most attempts in all (at least 1).
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// Sets the wait after the first failure.
    #[must_use]
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Sets the growth of the wait per failure (at least 1).
    #[must_use]
    pub fn with_factor(mut self, factor: f64) -> Self {
        self.factor = if factor.is_finite() {
            factor.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// Sets the longest wait.
    #[must_use]
    pub fn with_max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff = max;
        self
    }

    /// How long to wait after attempt `attempt` (counting from 1) failed with `error`,
    /// or `None` to give up.
    pub fn delay_after(&self, attempt: u32, error: &ProviderError) -> Option<Duration> {
        if !error.is_retryable() || attempt >= self.attempts {
            return None;
        }
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let backoff = self
            .initial_backoff
            .mul_f64(self.factor.powi(exponent).min(1e9))
            .min(self.max_backoff);
        match error.retry_after() {
            Some(hint) if hint > self.max_backoff => None,
            Some(hint) => Some(hint.max(backoff)),
            None => Some(backoff),
        }
    }

    /// Calls `call` (with the attempt number, from 1) until it succeeds or
    /// [`delay_after`](Self::delay_after) says to stop, sleeping on tokio's clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use typedflow_providers::{ChatModel, ChatRequest, ProviderError, RetryConfig, ScriptedModel, ScriptedReply};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let model = ScriptedModel::new([
    ///     ScriptedReply::error(ProviderError::timeout("scripted")),
    ///     ScriptedReply::text("ok"),
    /// ]);
    /// let retry = RetryConfig::default().with_initial_backoff(Duration::from_millis(1));
    /// let request = ChatRequest::new().user("hi");
    /// let reply = retry.run(|_attempt| model.chat(&request)).await.unwrap();
    /// assert_eq!((reply.text.as_str(), model.calls()), ("ok", 2));
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// The last attempt's error.
    pub async fn run<T, F, Fut>(&self, call: F) -> Result<T, ProviderError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.run_with_sleep(call, tokio::time::sleep).await
    }

    /// As [`run`](Self::run), sleeping with `sleep`: a test can record the delays
    /// it was asked for instead of waiting.
    ///
    /// # Errors
    ///
    /// The last attempt's error.
    pub async fn run_with_sleep<T, F, Fut, S, SFut>(
        &self,
        mut call: F,
        mut sleep: S,
    ) -> Result<T, ProviderError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
        S: FnMut(Duration) -> SFut,
        SFut: Future<Output = ()>,
    {
        let mut attempt = 1;
        loop {
            let error = match call(attempt).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let Some(delay) = self.delay_after(attempt, &error) else {
                return Err(error);
            };
            tracing::info!(
                attempt,
                kind = error.kind().as_str(),
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "retrying llm request"
            );
            sleep(delay).await;
            attempt += 1;
        }
    }
}
