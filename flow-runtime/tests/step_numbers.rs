//! The step number that nodes and hooks read (`Context::step`) and that a failed step
//! reports. Two kinds of flow are covered. In an acyclic flow where each step is always
//! reached after the same number of steps, the run loop numbers the steps in advance and
//! writes the number only where it may be read. A flow whose paths differ in length
//! counts its steps instead.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use core::future::Future;
use std::sync::{Arc, Mutex};

use typedflow::prelude::*;
use typedflow::{Failed, NodeInfo};

/// The nodes each leave a mark on the trail they pass on: their name, and the step they
/// read if they take the context.
type Trail = Vec<String>;

fn mark(mut trail: Trail, mark: String) -> Trail {
    trail.push(mark);
    trail
}

#[node]
async fn first(trail: Trail) -> Trail {
    mark(trail, "first".into())
}

#[node]
async fn second(trail: Trail, cx: &Context) -> Trail {
    mark(trail, format!("second@{}", cx.step()))
}

#[node]
async fn third(trail: Trail) -> Trail {
    mark(trail, "third".into())
}

#[node]
async fn fourth(trail: Trail, cx: &Context) -> Trail {
    let key = cx.idempotency_key();
    mark(trail, format!("fourth@{}", &key[key.len() - 2..]))
}

#[node]
async fn fails(trail: Trail) -> Result<Trail, std::io::Error> {
    let _ = trail;
    Err(std::io::Error::other("no"))
}

#[node]
async fn rescue(failed: Failed<Trail, std::io::Error>, cx: &Context) -> Trail {
    mark(failed.input, format!("rescue@{}", cx.step()))
}

graph! {
    /// Numbered in advance: some nodes read the context, some do not.
    Mixed(Trail) -> Trail {
        START -> first -> second -> third -> fourth -> END;
    }
}

graph! {
    /// Numbered in advance: no node reads the context.
    Plain(Trail) -> Trail {
        START -> first -> third -> END;
    }
}

graph! {
    /// Numbered in advance: its third step fails.
    FailsThird(Trail) -> Trail {
        START -> first -> third -> fails -> END;
    }
}

graph! {
    /// Numbered in advance through an error edge: `rescue` is always step 3.
    Rescued(Trail) -> Trail {
        START -> first -> fails -> END;
        fails !-> rescue;
        rescue -> third -> fourth -> END;
    }
}

graph! {
    /// Counted: `third` is step 3 after `fails`, and step 4 after `rescue`.
    RescuedBack(Trail) -> Trail {
        START -> first -> fails -> third -> second -> END;
        fails !-> rescue;
        rescue -> third;
    }
}

/// Which way `pick` sends the trail.
enum Way {
    Short(Trail),
    Long(Trail),
}

#[node]
async fn pick(trail: Trail) -> Way {
    if trail.is_empty() {
        Way::Short(mark(trail, "pick".into()))
    } else {
        Way::Long(mark(trail, "pick".into()))
    }
}

graph! {
    /// Counted: `second` is step 2 on the short path and step 3 on the long one.
    TwoPaths(Trail) -> Trail {
        START -> pick;
        pick => {
            Way::Short -> second,
            Way::Long -> first,
        }
        first -> second -> END;
    }
}

/// Records the step of each node call it wraps. It reads the step, as hooks do unless
/// they say otherwise (`StepHook::READS_STEP`).
#[derive(Clone, Default)]
struct Steps(Arc<Mutex<Vec<String>>>);

impl Steps {
    fn seen(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl StepHook for Steps {
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        self.0
            .lock()
            .unwrap()
            .push(format!("{}@{}", node.name, cx.step()));
        call
    }
}

/// As `Steps`, but it says that it does not read the step: what it sees is then not
/// kept up to date.
#[derive(Clone, Default)]
struct Blind(Steps);

impl StepHook for Blind {
    const READS_STEP: bool = false;

    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        self.0.step::<N, F>(cx, node, call)
    }
}

#[tokio::test]
async fn nodes_that_take_the_context_read_their_own_step() {
    let trail = Mixed::new(()).run(Vec::new()).await.unwrap();
    assert_eq!(trail, ["first", "second@2", "third", "fourth@-4"]);
}

#[tokio::test]
async fn a_hook_reads_the_step_of_every_node() {
    let hook = Steps::default();
    let flow = Plain::new(()).with_hook(hook.clone());
    assert_eq!(flow.run(Vec::new()).await.unwrap(), ["first", "third"]);
    assert_eq!(hook.seen(), ["first@1", "third@2"]);

    // A run's own hook too, and with it the flow's nodes that take the context.
    let hook = Steps::default();
    let trail = Mixed::new(())
        .run(Vec::new())
        .hook(hook.clone())
        .await
        .unwrap();
    assert_eq!(trail, ["first", "second@2", "third", "fourth@-4"]);
    assert_eq!(hook.seen(), ["first@1", "second@2", "third@3", "fourth@4"]);
}

#[tokio::test]
async fn a_hook_that_does_not_read_the_step_is_not_given_it() {
    // This shows the step is not written when nothing reads it. If the flow counted, or
    // numbered every step, the hook would see 1 and 2.
    let hook = Blind::default();
    let flow = Plain::new(()).with_hook(hook.clone());
    assert_eq!(flow.run(Vec::new()).await.unwrap(), ["first", "third"]);
    assert_eq!(hook.0.seen(), ["first@0", "third@0"]);

    // The nodes that read it still get theirs, and the hook sees those.
    let hook = Blind::default();
    let flow = Mixed::new(()).with_hook(hook.clone());
    let trail = flow.run(Vec::new()).await.unwrap();
    assert_eq!(trail, ["first", "second@2", "third", "fourth@-4"]);
    assert_eq!(
        hook.0.seen(),
        ["first@0", "second@2", "third@2", "fourth@4"]
    );
}

#[tokio::test]
async fn a_failed_step_reports_its_number() {
    let plain = FailsThird::new(()).run(Vec::new()).await.unwrap_err();
    let flow = FailsThird::new(()).with_hook(Blind::default());
    let blind = flow.run(Vec::new()).await.unwrap_err();
    for err in [plain, blind] {
        assert!(
            matches!(
                err,
                FlowError::Node {
                    node: "fails",
                    step: 3,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn an_error_edge_leads_to_the_next_step() {
    let trail = Rescued::new(()).run(Vec::new()).await.unwrap();
    assert_eq!(trail, ["first", "rescue@3", "third", "fourth@-5"]);
    let trail = RescuedBack::new(()).run(Vec::new()).await.unwrap();
    assert_eq!(trail, ["first", "rescue@3", "third", "second@5"]);
}

#[tokio::test]
async fn a_run_s_step_limit_holds_on_a_flow_numbered_in_advance() {
    let flow = Plain::new(());
    let err = flow.run(Vec::new()).max_steps(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            FlowError::StepLimit {
                max_steps: 1,
                node: "third",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        flow.run(Vec::new()).max_steps(2).await.unwrap(),
        ["first", "third"]
    );
}

#[tokio::test]
async fn a_flow_whose_paths_differ_in_length_counts_its_steps() {
    let flow = TwoPaths::new(());
    let short = flow.run(Vec::new()).await.unwrap();
    assert_eq!(short, ["pick", "second@2"]);
    let long = flow.run(vec!["start".into()]).await.unwrap();
    assert_eq!(long, ["start", "pick", "first", "second@3"]);
}
