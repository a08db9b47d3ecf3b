//! Compile-time checked workflow graphs, compiled into plain `enum` state machines.
//!
//! This is the crate a user depends on. It re-exports the macros:
//!
//! - [`#[node]`](macro@node) turns an `async fn` into a node of a graph;
//! - [`graph!`] (with [`#[flow(..)]`](macro@flow) for settings) names a flow, its
//!   input and output types and its edges, checks them at compile time, and generates the
//!   flow type with its state `enum` and run loop.
//!
//! ```
//! use typedflow::prelude::*;
//!
//! #[node]
//! async fn parse(text: String) -> Result<i64, std::num::ParseIntError> {
//!     text.trim().parse()
//! }
//!
//! #[node]
//! async fn double(n: i64) -> i64 {
//!     n * 2
//! }
//!
//! graph! {
//!     Doubler(String) -> i64 {
//!         START -> parse -> double -> END;
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let flow = Doubler::new(());
//! assert_eq!(flow.run(" 21 ".to_string()).await.unwrap(), 42);
//! assert!(flow.run("x".to_string()).await.is_err());
//! # });
//! ```

pub mod checkpoint;
pub mod checks;
mod context;
mod deps;
pub mod durable;
mod error;
pub mod events;
mod graph;
mod hook;
mod interrupt;
mod keys;
mod merge;
mod node;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod policy;
mod report;
mod retryable;
pub mod run;
mod scope;
pub mod shutdown;
pub mod telemetry;

pub use context::{Context, ParseRunIdError, RunId};
pub use deps::Provides;
pub use error::{BoxError, ErrorKind, Failed, FlowError};
pub use graph::{EdgeInfo, EdgeKind, Endpoint, Flow, GraphInfo, NodeInfo};
pub use hook::{NoHook, RunStart, StepHook};
pub use merge::{Merge, MergeConflict, strategy};
pub use node::{Node, NodeFn};
pub use policy::{CircuitOpen, NodePolicies, PolicyError};
pub use report::{Report, report};
pub use retryable::Retryable;
pub use run::Run;
pub use scope::StepObserver;

pub use typedflow_macros::{Deps, Merge, flow, graph, node};

/// The default step limit of a run when `#[flow(max_steps = ..)]` does not set one.
pub const DEFAULT_MAX_STEPS: u32 = 1000;

/// How many items of a map `[node]` run at once when the map does not say (`[node; 4]`).
pub const DEFAULT_MAP_LIMIT: u32 = 16;

/// Everything a module that writes nodes and flows needs.
pub mod prelude {
    pub use crate::{
        Context, Deps, Flow, FlowError, Merge, Node, NodeFn, Provides, Retryable, RunId, StepHook,
        flow, graph, node,
    };
}

/// The guides in `docs/`, compiled here so their examples are tested.
pub mod docs {
    #[doc = include_str!("../docs/getting-started.md")]
    pub mod getting_started {}
    #[doc = include_str!("../docs/reference.md")]
    pub mod reference {}
    #[doc = include_str!("../docs/errors.md")]
    pub mod errors {}
    #[doc = include_str!("../docs/observability.md")]
    pub mod observability {}
}

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
