//! Runnable examples of `flow`: see the `examples` targets.
