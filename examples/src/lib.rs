//! Runnable examples of `typedflow`: see the `examples` targets. This library holds each
//! example's flow, so its test in `tests/` runs the same flow offline, and what the
//! examples share: the model they call and the progress line they print.

pub mod agent;
pub mod approval;
pub mod essay;
pub mod llm;
pub mod observe;
pub mod pipeline;
pub mod progress;
pub mod research;
pub mod triage;

/// The README's program, compiled and run as a doctest: what a new user copies first
/// keeps to types and attributes that exist.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
