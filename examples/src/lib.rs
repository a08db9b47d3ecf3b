//! Runnable examples of `flow`: see the `examples` targets. This library holds what an
//! example shares with its integration test.

pub mod observe;
