//! A durable flow's expansion depends on nothing the user imported, and its generic
//! parameters do not shadow the user's types (here named `C` and `S`). (A flow's input
//! or output named `R`, `K` or `H` is shadowed by the generic parameters of every flow's
//! run: a known limit of the flow expansion, not of durable flows.)
#![deny(warnings)]

/// Values that can be saved.
pub mod values {
    /// A count.
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct C(pub u32);
    /// A state.
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct S(pub u32);
    /// A result.
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct Out(pub u32);
}

mod flows {
    #![no_implicit_prelude]
    #![deny(warnings, missing_docs)]
    //! A durable flow written without the prelude.

    use super::values::{C, Out, S};

    /// C to S.
    #[::typedflow::node]
    pub async fn first(c: C) -> S {
        S(c.0 + 1)
    }

    /// S to Out.
    #[::typedflow::node]
    pub async fn second(s: S) -> Out {
        Out(s.0 + 1)
    }

    #[::typedflow::flow(durable, max_steps = 10)]
    ::typedflow::graph! {
        /// Two steps, each saved.
        pub Saved(C) -> Out {
            START -> first -> second -> END;
        }
    }
}

fn main() {
    let store = typedflow::checkpoint::MemoryStore::new();
    let flow = flows::Saved::new(());
    let run = typedflow::RunId::from_u64(1);
    let out = futures_lite_block_on(flow.run(values::C(1)).checkpoint(&store).run_id(run));
    assert_eq!(out.map(|r| r.0).ok(), Some(3));
    let again = futures_lite_block_on(flow.fork(&store, run, 1));
    assert_eq!(again.map(|r| r.0).ok(), Some(3));
    assert!(futures_lite_block_on(flow.resume(&store, run)).is_err());
}

/// Runs a future to its end on a tokio runtime of one thread.
fn futures_lite_block_on<F: std::future::IntoFuture>(f: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt.block_on(f.into_future()),
        Err(e) => panic!("no runtime: {e}"),
    }
}
