//! The call trait every policy mechanism implements and wraps, so mechanisms stack like
//! tower layers; the node call at the bottom of a stack; and the cancellation layer.

use core::future::Future;

use tokio_util::sync::CancellationToken;

use super::PolicyError;

/// One call of something that may fail, made by a policy mechanism: the node function
/// at the bottom ([`FnCall`]), or a mechanism wrapping another ([`Retry`](super::Retry),
/// [`Breaker`](super::Breaker), [`Limit`](super::Limit), [`Timeout`](super::Timeout),
/// [`Cancel`]).
///
/// Every layer has the same error type, [`PolicyError`] of the node's error, and adds the
/// variants it is responsible for. Stacking order has meaning; [`NodePolicies`] uses,
/// from the outside in: retry, circuit breaker, concurrency limit, per-attempt timeout,
/// node. A stack is built per call on the caller's stack frame: no boxing, and a layer
/// whose policy is `None` only passes the call through.
///
/// [`NodePolicies`]: super::NodePolicies
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::policy::{Call, Events, FnCall, PolicyError, Timeout, TimeoutPolicy};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut stack = Timeout::new(
///     FnCall::new(|x: u32| async move { Ok::<_, std::io::Error>(x + 1) }),
///     Some(TimeoutPolicy::new(Duration::from_secs(1))?),
///     Events::node("add_one"),
/// );
/// assert_eq!(stack.call(41).await?, 42);
/// assert_eq!(stack.attempts(), 1);
/// # Ok(()) }
/// ```
pub trait Call<I> {
    /// The node's output.
    type Output;
    /// The node's own error.
    type Error;

    /// Makes one call through this layer and the layers it wraps.
    fn call(
        &mut self,
        input: I,
    ) -> impl Future<Output = Result<Self::Output, PolicyError<Self::Error>>>;

    /// How many times the node at the bottom of the stack has been called so far.
    fn attempts(&self) -> u32;
}

/// The bottom of a stack: calls a function that returns the node's future, once per
/// attempt, and counts the calls.
///
/// The function's error becomes [`PolicyError::Node`].
///
/// Built with [`traced`](FnCall::traced), each attempt runs in a `flow.attempt` span
/// (fields `node`, `attempt`, and `outcome` at the end) when a subscriber wants it.
#[derive(Debug, Clone)]
pub struct FnCall<F> {
    f: F,
    calls: u32,
    node: Option<&'static str>,
}

impl<F> FnCall<F> {
    /// Wraps `f`, a function from the input to the node's future.
    pub const fn new(f: F) -> Self {
        FnCall {
            f,
            calls: 0,
            node: None,
        }
    }

    /// Wraps `f`, running each attempt in a `flow.attempt` span of `node`.
    pub const fn traced(node: &'static str, f: F) -> Self {
        FnCall {
            f,
            calls: 0,
            node: Some(node),
        }
    }
}

impl<I, T, E, F, Fut> Call<I> for FnCall<F>
where
    F: FnMut(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Output = T;
    type Error = E;

    #[inline]
    fn call(&mut self, input: I) -> impl Future<Output = Result<T, PolicyError<E>>> {
        self.calls = self.calls.saturating_add(1);
        let attempts = self.calls;
        let attempt = (self.f)(input);
        // The span is built inside the enabled branch only, and the traced attempt is
        // boxed with its span: with nobody listening the attempt's future holds no span,
        // and is the node's future and a few words (a span and its clone held inline
        // made every policed call's future 96 bytes larger, bytes moved on each call).
        let traced = self
            .node
            .filter(|_| tracing::enabled!(tracing::Level::INFO));
        async move {
            let result = match traced {
                None => attempt.await,
                Some(node) => {
                    Box::pin(async move {
                        let span = tracing::info_span!(
                            "flow.attempt",
                            node,
                            attempt = attempts,
                            outcome = tracing::field::Empty
                        );
                        let result = tracing::Instrument::instrument(attempt, span.clone()).await;
                        span.record("outcome", if result.is_ok() { "ok" } else { "error" });
                        result
                    })
                    .await
                }
            };
            result.map_err(|source| PolicyError::Node { source, attempts })
        }
    }

    #[inline]
    fn attempts(&self) -> u32 {
        self.calls
    }
}

/// Ends the call with [`PolicyError::Cancelled`] when a [`CancellationToken`] is
/// cancelled.
///
/// Put it outermost. When the token is cancelled (or already was), the wrapped call's
/// future is dropped at once: the attempt in progress is dropped, a backoff wait ends, and
/// no further attempt starts. Dropping the future of any layer has the same effect without
/// a token.
///
/// ```
/// use typedflow::policy::{Call, Cancel, FnCall, PolicyError};
/// use tokio_util::sync::CancellationToken;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let token = CancellationToken::new();
/// token.cancel();
/// let mut call = Cancel::new(FnCall::new(|()| async { Ok::<_, std::io::Error>(()) }), &token);
/// assert!(matches!(call.call(()).await, Err(PolicyError::Cancelled { attempts: 0 })));
/// # }
/// ```
#[derive(Debug)]
pub struct Cancel<'a, C> {
    inner: C,
    token: &'a CancellationToken,
}

impl<'a, C> Cancel<'a, C> {
    /// Wraps `inner`, cancelled by `token`.
    pub const fn new(inner: C, token: &'a CancellationToken) -> Self {
        Cancel { inner, token }
    }
}

impl<I, C: Call<I>> Call<I> for Cancel<'_, C> {
    type Output = C::Output;
    type Error = C::Error;

    async fn call(&mut self, input: I) -> Result<C::Output, PolicyError<C::Error>> {
        if !self.token.is_cancelled() {
            let finished = tokio::select! {
                biased;
                () = self.token.cancelled() => None,
                result = self.inner.call(input) => Some(result),
            };
            if let Some(result) = finished {
                return result;
            }
        }
        Err(PolicyError::Cancelled {
            attempts: self.inner.attempts(),
        })
    }

    fn attempts(&self) -> u32 {
        self.inner.attempts()
    }
}
