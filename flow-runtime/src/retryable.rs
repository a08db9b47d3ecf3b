//! Whether an error is worth another attempt: the error decides, policies only read it.

use core::convert::Infallible;
use std::time::Duration;

/// An error that says whether trying again may succeed, and how long to wait first.
///
/// Retry policies retry only errors whose [`is_retryable`](Retryable::is_retryable) is
/// `true`, and wait at least their [`retry_after`](Retryable::retry_after) hint (never
/// beyond the policy's cap). Provider errors implement it from the HTTP status and
/// headers; implement it for your own node errors to control retries.
///
/// # Default
///
/// `is_retryable` returns `true` (an error that does not say otherwise is assumed to be
/// transient, as a timeout or a dropped connection is) and `retry_after` returns `None`.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use typedflow::Retryable;
///
/// #[derive(Debug)]
/// enum FetchError {
///     NotFound,
///     Busy { wait: Duration },
/// }
///
/// impl Retryable for FetchError {
///     fn is_retryable(&self) -> bool {
///         matches!(self, FetchError::Busy { .. })
///     }
///     fn retry_after(&self) -> Option<Duration> {
///         match self {
///             FetchError::Busy { wait } => Some(*wait),
///             FetchError::NotFound => None,
///         }
///     }
/// }
/// assert!(!FetchError::NotFound.is_retryable());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say whether a failed attempt may be retried",
    label = "the node's error must implement `Retryable` for `retry(..)`",
    note = "implement `typedflow::Retryable` for `{Self}` (its defaults retry every error), or remove `retry(..)` from the node"
)]
pub trait Retryable {
    /// Whether another attempt may succeed.
    fn is_retryable(&self) -> bool {
        true
    }

    /// How long the error asks the caller to wait before the next attempt.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl Retryable for Infallible {}

impl Retryable for std::io::Error {
    fn is_retryable(&self) -> bool {
        use std::io::ErrorKind::*;
        matches!(
            self.kind(),
            TimedOut
                | Interrupted
                | WouldBlock
                | ConnectionReset
                | ConnectionAborted
                | ConnectionRefused
                | BrokenPipe
                | UnexpectedEof
                | NotConnected
        )
    }
}

impl<E: Retryable + ?Sized> Retryable for Box<E> {
    fn is_retryable(&self) -> bool {
        (**self).is_retryable()
    }
    fn retry_after(&self) -> Option<Duration> {
        (**self).retry_after()
    }
}
