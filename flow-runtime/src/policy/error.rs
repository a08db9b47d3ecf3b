//! The two errors of the policy module: a policy that cannot be built, and a node call
//! that a policy ended.

use std::time::Duration;

use super::CircuitOpen;
use crate::Retryable;

/// A policy setting that cannot work, reported when the policy is built.
///
/// Every constructor and `with_*` method that can reject a value returns it, so a policy
/// value that exists is valid and nothing is checked again while calls run.
///
/// ```
/// use typedflow::policy::{ConfigError, RetryPolicy};
///
/// assert_eq!(RetryPolicy::new(0).unwrap_err(), ConfigError::ZeroAttempts);
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A retry policy with no attempts would never call the node.
    #[error("`attempts` must be at least 1 (1 means no retry)")]
    ZeroAttempts,
    /// An exponential backoff's factor is below 1, infinite or not a number.
    #[error(
        "the factor of an exponential backoff must be a finite number of at least 1.0, not {factor}"
    )]
    BadFactor {
        /// The rejected factor.
        factor: f64,
    },
    /// A maximum below the value it bounds.
    #[error("`{max_name}` ({max:?}) must not be below `{min_name}` ({min:?})")]
    MaxBelowMin {
        /// The name of the lower setting, e.g. `cool_down`.
        min_name: &'static str,
        /// Its value.
        min: Duration,
        /// The name of the upper setting, e.g. `max_cool_down`.
        max_name: &'static str,
        /// Its value.
        max: Duration,
    },
    /// A duration that must be positive is zero.
    #[error("`{setting}` must be longer than zero")]
    ZeroDuration {
        /// The name of the setting, e.g. `timeout`.
        setting: &'static str,
    },
    /// A circuit breaker that opens after zero failures would never close.
    #[error("`failures` must be at least 1")]
    ZeroFailures,
    /// A rate limit of zero calls per period would never let a call through.
    #[error("`rate_limit` must allow at least 1 call per period")]
    ZeroRate,
    /// A concurrency limit of zero would never let a call through.
    #[error("`concurrency` must be at least 1")]
    ZeroConcurrency,
    /// A concurrency limit larger than a semaphore can count.
    #[error("`concurrency` must be at most {max}, not {limit}")]
    ConcurrencyTooHigh {
        /// The rejected limit.
        limit: usize,
        /// The largest limit supported.
        max: usize,
    },
}

/// Why a call through [`NodePolicies`](super::NodePolicies) (or a stack of policy layers)
/// did not produce the node's output.
///
/// The variant says what ended the call; [`attempts`](PolicyError::attempts) says how many
/// times the node was called. The node's own error, when there is one, is the
/// [`source`](std::error::Error::source), and [`node_error`](PolicyError::node_error)
/// borrows it with its type. An error edge receives this value, so a handler can route on
/// the variant (for example serve a cached answer while the circuit is open).
///
/// ```
/// use std::error::Error as _;
/// use typedflow::policy::PolicyError;
///
/// let err: PolicyError<std::io::Error> = PolicyError::Exhausted {
///     source: std::io::Error::other("connection reset"),
///     attempts: 3,
/// };
/// assert_eq!(err.attempts(), 3);
/// assert!(err.retries_exhausted());
/// assert_eq!(err.source().unwrap().to_string(), "connection reset");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError<E> {
    /// The node returned an error that is not retried: no retry policy is configured, or
    /// the error says it is not retryable.
    #[error("attempt {attempts} failed")]
    Node {
        /// The node's error.
        #[source]
        source: E,
        /// Attempts made, this one included.
        attempts: u32,
    },
    /// The node returned a retryable error and the retry policy allows no further
    /// attempt: all attempts are used, the error's retry-after hint is above the policy's
    /// cap, or the next delay would end after the policy's `max_elapsed`.
    #[error("attempt {attempts} failed and the retry policy allows no more")]
    Exhausted {
        /// The error of the last attempt.
        #[source]
        source: E,
        /// Attempts made.
        attempts: u32,
    },
    /// The last attempt did not finish within the per-attempt timeout, and no further
    /// attempt was allowed.
    #[error("attempt {attempts} timed out after {timeout:?}")]
    Timeout {
        /// The per-attempt timeout.
        timeout: Duration,
        /// Attempts made, the timed-out one included.
        attempts: u32,
    },
    /// The circuit breaker is open (or half-open with its probe in flight) and refused the
    /// attempt without calling the node.
    #[error("the circuit breaker refused the call after {attempts} attempt(s)")]
    CircuitOpen {
        /// Which breaker refused, and for how long it stays open.
        #[source]
        source: CircuitOpen,
        /// Attempts made before the refusal (0 when the first attempt was refused).
        attempts: u32,
    },
    /// The retry policy's `max_elapsed` passed while an attempt was running; the attempt
    /// was dropped.
    #[error("the node did not succeed within {max_elapsed:?} ({attempts} attempt(s))")]
    Elapsed {
        /// The retry policy's `max_elapsed`.
        max_elapsed: Duration,
        /// Attempts made, the dropped one included.
        attempts: u32,
    },
    /// The cancellation token was cancelled; the attempt in progress was dropped.
    #[error("cancelled after {attempts} attempt(s)")]
    Cancelled {
        /// Attempts made, the dropped one included.
        attempts: u32,
    },
}

impl<E> PolicyError<E> {
    /// How many times the node was called: the count for `FlowError::Node { attempts }`.
    ///
    /// An attempt refused by the circuit breaker is not counted, since the node was not
    /// called.
    pub fn attempts(&self) -> u32 {
        match self {
            PolicyError::Node { attempts, .. }
            | PolicyError::Exhausted { attempts, .. }
            | PolicyError::Timeout { attempts, .. }
            | PolicyError::CircuitOpen { attempts, .. }
            | PolicyError::Elapsed { attempts, .. }
            | PolicyError::Cancelled { attempts } => *attempts,
        }
    }

    /// What kind of failure this is: the node's own error (retried or not), a timeout
    /// (per attempt or `max_elapsed`), an open circuit, or a cancellation.
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            PolicyError::Node { .. } | PolicyError::Exhausted { .. } => crate::ErrorKind::Node,
            PolicyError::Timeout { .. } | PolicyError::Elapsed { .. } => crate::ErrorKind::Timeout,
            PolicyError::CircuitOpen { .. } => crate::ErrorKind::CircuitOpen,
            PolicyError::Cancelled { .. } => crate::ErrorKind::Cancelled,
        }
    }

    /// The node's own error, if the node's error ended the call.
    pub fn node_error(&self) -> Option<&E> {
        match self {
            PolicyError::Node { source, .. } | PolicyError::Exhausted { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }

    /// Takes the node's own error, if the node's error ended the call.
    pub fn into_node_error(self) -> Option<E> {
        match self {
            PolicyError::Node { source, .. } | PolicyError::Exhausted { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }

    /// Whether the last attempt timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, PolicyError::Timeout { .. })
    }

    /// Whether the circuit breaker refused the call.
    pub fn is_circuit_open(&self) -> bool {
        matches!(self, PolicyError::CircuitOpen { .. })
    }

    /// Whether the call was cancelled through its token.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, PolicyError::Cancelled { .. })
    }

    /// Whether a retry policy gave up on a failure it would otherwise have retried:
    /// [`Exhausted`](PolicyError::Exhausted) or [`Elapsed`](PolicyError::Elapsed).
    pub fn retries_exhausted(&self) -> bool {
        matches!(
            self,
            PolicyError::Exhausted { .. } | PolicyError::Elapsed { .. }
        )
    }

    /// Converts the node's error, keeping the variant and the attempt count.
    pub fn map_node_error<F, E2>(self, f: F) -> PolicyError<E2>
    where
        F: FnOnce(E) -> E2,
    {
        match self {
            PolicyError::Node { source, attempts } => PolicyError::Node {
                source: f(source),
                attempts,
            },
            PolicyError::Exhausted { source, attempts } => PolicyError::Exhausted {
                source: f(source),
                attempts,
            },
            PolicyError::Timeout { timeout, attempts } => {
                PolicyError::Timeout { timeout, attempts }
            }
            PolicyError::CircuitOpen { source, attempts } => {
                PolicyError::CircuitOpen { source, attempts }
            }
            PolicyError::Elapsed {
                max_elapsed,
                attempts,
            } => PolicyError::Elapsed {
                max_elapsed,
                attempts,
            },
            PolicyError::Cancelled { attempts } => PolicyError::Cancelled { attempts },
        }
    }
}

/// Whether an outer caller (another retry loop, a subgraph's caller) may try again.
///
/// A node error keeps its own answer; a timeout is retryable; an open circuit is not, and
/// its retry-after is the time left in its cool-down; a call whose retries are exhausted
/// or that was cancelled is not.
impl<E: Retryable> Retryable for PolicyError<E> {
    fn is_retryable(&self) -> bool {
        match self {
            PolicyError::Node { source, .. } => source.is_retryable(),
            PolicyError::Timeout { .. } => true,
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            PolicyError::Node { source, .. } => source.retry_after(),
            PolicyError::CircuitOpen { source, .. } => source.retry_in(),
            _ => None,
        }
    }
}
