//! The one place where the generated run loop hands each node call to outside code.

use core::future::Future;

use crate::{Context, NodeInfo};

/// Wraps every node call of a run.
///
/// The generated run loop calls each node as `hook.step(cx, node, call)`. The default,
/// [`NoHook`], returns the call unchanged and compiles away; checkpointing, event
/// streams or a durable engine wrap a step here without a second code generator.
///
/// # Example
///
/// ```
/// use core::future::Future;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use flow_runtime::{Context, NodeInfo, StepHook};
///
/// /// Counts the steps of every run.
/// #[derive(Default)]
/// struct CountSteps(AtomicU32);
///
/// impl StepHook for CountSteps {
///     fn step<F: Future>(
///         &self,
///         _cx: &Context,
///         _node: &'static NodeInfo,
///         call: F,
///     ) -> impl Future<Output = F::Output> {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         call
///     }
/// }
/// ```
pub trait StepHook {
    /// Wraps the call of `node` at the step `cx.step()`.
    fn step<F: Future>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output>;
}

/// The default hook: does nothing and costs nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHook;

impl StepHook for NoHook {
    #[inline(always)]
    fn step<F: Future>(
        &self,
        _cx: &Context,
        _node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        call
    }
}

impl<H: StepHook + ?Sized> StepHook for &H {
    #[inline(always)]
    fn step<F: Future>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        (**self).step(cx, node, call)
    }
}
