//! The metric keys of a flow and of each of its nodes, each hashed once.
//!
//! The flow's keys are built at compile time, in a static the generated `GRAPH` holds
//! (through [`flow_keys!`](crate::__flow_keys)). The nodes' keys are built at run time,
//! all of a flow's at once when [`Metered`](crate::telemetry::Metered) first asks for one
//! (a [`KeyTable`] in one static per flow): hashing three keys per node at compile time
//! cost more than half the compile time of a 100-node graph's description. Either way
//! the recorder gets a ready key, its hash computed once, instead of a label list to
//! build and hash at every node call. Without the `metrics` feature they are empty.

#[cfg(feature = "metrics")]
pub use with_metrics::*;

#[cfg(feature = "metrics")]
mod with_metrics {
    use core::fmt;

    use metrics::{Key, Label, Level, Metadata};

    use crate::FlowError;

    /// What the recorder is told about every series the hooks register.
    pub(crate) static METADATA: Metadata<'static> =
        Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

    /// The labels of a node's series: `flow` and `node`.
    pub type NodeLabels = [Label; 2];

    /// The keys of one node's series that carry no more labels than `flow` and `node`.
    #[derive(PartialEq, Eq)]
    pub struct NodeKeys {
        /// `flow` and `node`, for series that add a label of their own.
        pub(crate) labels: NodeLabels,
        /// `flow_node_duration_seconds`.
        pub(crate) duration: Key,
        /// `flow_node_retries_total`.
        pub(crate) retries: Key,
        /// `flow_circuit_state`.
        pub(crate) circuit: Key,
    }

    impl NodeKeys {
        /// The keys of node `node` of flow `flow`.
        fn new(flow: &'static str, node: &'static str) -> Self {
            let labels = [
                Label::from_static_parts("flow", flow),
                Label::from_static_parts("node", node),
            ];
            let key = |name: &'static str| Key::from_parts(name, labels.to_vec());
            NodeKeys {
                duration: key("flow_node_duration_seconds"),
                retries: key("flow_node_retries_total"),
                circuit: key("flow_circuit_state"),
                labels,
            }
        }
    }

    /// The keys of every node of one flow, built on first use: the generated code keeps
    /// one in a static per flow.
    pub struct KeyTable(std::sync::OnceLock<Box<[NodeKeys]>>);

    impl KeyTable {
        /// An empty table.
        #[allow(clippy::new_without_default)] // reason: used in statics, where only `const fn` works
        pub const fn new() -> Self {
            KeyTable(std::sync::OnceLock::new())
        }

        /// The keys of `graph`'s nodes, in the order of `graph.nodes`.
        pub fn get(&'static self, graph: &'static crate::GraphInfo) -> &'static [NodeKeys] {
            self.nodes(graph.name, graph.nodes)
        }

        /// The keys of `nodes` of flow `flow`, in their order: for a flow's nested nodes.
        pub fn nodes(
            &'static self,
            flow: &'static str,
            nodes: &'static [crate::NodeInfo],
        ) -> &'static [NodeKeys] {
            self.0.get_or_init(|| {
                nodes
                    .iter()
                    .map(|node| NodeKeys::new(flow, node.name))
                    .collect()
            })
        }
    }

    impl fmt::Debug for NodeKeys {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("NodeKeys").finish_non_exhaustive()
        }
    }

    /// The labels of a flow's series: `flow`, and `flow` with each run outcome.
    pub struct FlowLabels {
        flow: [Label; 1],
        outcomes: [[Label; 2]; OUTCOMES.len()],
    }

    /// The values of `outcome` on `flow_runs_total`, in the order of [`FlowKeys::runs`].
    pub(crate) const OUTCOMES: [&str; 8] = [
        "ok",
        "node_failed",
        "step_limit",
        "timeout",
        "cancelled",
        "merge_conflict",
        "refused",
        "durable",
    ];

    impl FlowLabels {
        /// The labels of flow `flow`.
        pub const fn new(flow: &'static str) -> Self {
            FlowLabels {
                flow: [Label::from_static_parts("flow", flow)],
                outcomes: [
                    outcome_labels(flow, 0),
                    outcome_labels(flow, 1),
                    outcome_labels(flow, 2),
                    outcome_labels(flow, 3),
                    outcome_labels(flow, 4),
                    outcome_labels(flow, 5),
                    outcome_labels(flow, 6),
                    outcome_labels(flow, 7),
                ],
            }
        }
    }

    const fn outcome_labels(flow: &'static str, outcome: usize) -> [Label; 2] {
        [
            Label::from_static_parts("flow", flow),
            Label::from_static_parts("outcome", OUTCOMES[outcome]),
        ]
    }

    /// The keys of a flow's run series.
    #[derive(PartialEq, Eq)]
    pub struct FlowKeys {
        /// `flow_runs_in_flight`.
        pub(crate) in_flight: Key,
        /// `flow_run_duration_seconds`.
        pub(crate) duration: Key,
        /// `flow_runs_total`, one per outcome, in the order of `OUTCOMES`.
        pub(crate) runs: [Key; OUTCOMES.len()],
    }

    impl FlowKeys {
        /// The `flow_runs_total` key of a run that ended with `out`.
        pub(crate) fn runs<T>(&self, out: &Result<T, FlowError>) -> &Key {
            // In the order of `OUTCOMES`.
            let outcome = match out {
                Ok(_) => 0,
                Err(FlowError::Node { .. }) => 1,
                Err(FlowError::StepLimit { .. }) => 2,
                Err(FlowError::Timeout { .. }) => 3,
                Err(FlowError::Cancelled { .. }) => 4,
                Err(FlowError::MergeConflict { .. }) => 5,
                Err(FlowError::ShuttingDown { .. }) => 6,
                Err(FlowError::Durable { .. }) => 7,
            };
            &self.runs[outcome]
        }

        /// The keys of a flow with these labels.
        pub const fn new(labels: &'static FlowLabels) -> Self {
            let runs = &labels.outcomes;
            FlowKeys {
                in_flight: Key::from_static_parts("flow_runs_in_flight", &labels.flow),
                duration: Key::from_static_parts("flow_run_duration_seconds", &labels.flow),
                runs: [
                    Key::from_static_parts("flow_runs_total", &runs[0]),
                    Key::from_static_parts("flow_runs_total", &runs[1]),
                    Key::from_static_parts("flow_runs_total", &runs[2]),
                    Key::from_static_parts("flow_runs_total", &runs[3]),
                    Key::from_static_parts("flow_runs_total", &runs[4]),
                    Key::from_static_parts("flow_runs_total", &runs[5]),
                    Key::from_static_parts("flow_runs_total", &runs[6]),
                    Key::from_static_parts("flow_runs_total", &runs[7]),
                ],
            }
        }
    }

    impl fmt::Debug for FlowKeys {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("FlowKeys").finish_non_exhaustive()
        }
    }

    /// The keys of flow `$flow`, in a static.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __flow_keys {
        ($flow:expr) => {{
            static LABELS: $crate::__private::FlowLabels =
                $crate::__private::FlowLabels::new($flow);
            static KEYS: $crate::__private::FlowKeys = $crate::__private::FlowKeys::new(&LABELS);
            &KEYS
        }};
    }
}

#[cfg(not(feature = "metrics"))]
pub use without_metrics::*;

#[cfg(not(feature = "metrics"))]
mod without_metrics {
    /// No keys: the `metrics` feature is off.
    #[derive(Debug, PartialEq, Eq)]
    pub struct NodeKeys;

    /// No keys: the `metrics` feature is off.
    #[derive(Debug, PartialEq, Eq)]
    pub struct FlowKeys;

    /// No keys: the `metrics` feature is off.
    pub struct KeyTable;

    impl KeyTable {
        /// An empty table.
        #[allow(clippy::new_without_default)] // reason: as with the `metrics` feature
        pub const fn new() -> Self {
            KeyTable
        }

        /// No keys.
        pub fn get(&'static self, _graph: &'static crate::GraphInfo) -> &'static [NodeKeys] {
            &[]
        }

        /// No keys.
        pub fn nodes(
            &'static self,
            _flow: &'static str,
            _nodes: &'static [crate::NodeInfo],
        ) -> &'static [NodeKeys] {
            &[]
        }
    }

    /// No keys: the `metrics` feature is off.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __flow_keys {
        ($flow:expr) => {
            &$crate::__private::FlowKeys
        };
    }
}
