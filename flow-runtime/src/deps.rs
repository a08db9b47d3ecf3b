//! How a node's `&T` parameters are taken from the flow's dependencies value.

/// A flow's dependencies value hands out a `&T` to the nodes that ask for one.
///
/// Every type provides itself, so a flow whose dependencies are just an `Llm` can run
/// nodes that take `&Llm`. For a struct of several dependencies, derive [`Deps`]: it
/// implements `Provides<Field>` for the type of every field.
///
/// [`Deps`]: derive@crate::Deps
///
/// # Example
///
/// ```
/// use typedflow::Provides;
///
/// struct Llm;
/// struct Pool;
///
/// #[derive(typedflow::Deps)]
/// struct AppDeps {
///     llm: Llm,
///     pool: Pool,
/// }
///
/// fn llm_of<D: Provides<Llm>>(deps: &D) -> &Llm {
///     deps.provide()
/// }
/// let deps = AppDeps { llm: Llm, pool: Pool };
/// let _: &Llm = llm_of(&deps);
/// let _: &Pool = deps.provide();
/// ```
#[diagnostic::on_unimplemented(
    message = "the flow's dependencies `{Self}` do not provide `{T}`",
    label = "`{T}` is not provided by `{Self}`",
    note = "add a field of type `{T}` to `{Self}` and `#[derive(Deps)]` on it, or implement `Provides<{T}>` for `{Self}`"
)]
pub trait Provides<T: ?Sized> {
    /// Returns the dependency.
    fn provide(&self) -> &T;
}

impl<T: ?Sized> Provides<T> for T {
    #[inline(always)]
    fn provide(&self) -> &T {
        self
    }
}
