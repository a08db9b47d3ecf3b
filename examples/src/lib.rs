//! Runnable examples of `flow`: see the `examples` targets. This library holds what an
//! example shares with its integration test.

pub mod observe;

/// The README's program, compiled and run as a doctest: what a new user copies first
/// keeps to types and attributes that exist.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
