//! The `triage` example's flow, offline: each kind of ticket reaches its own queue, and
//! what comes out follows what the ticket says.

use typedflow_examples::triage::{self, Resolution, Ticket, Triage, TriageDeps};

async fn triage(id: u32, text: &str) -> Resolution {
    let flow = Triage::new(TriageDeps {
        llm: std::sync::Arc::new(triage::scripted()),
    });
    let ticket = Ticket {
        id,
        text: text.to_owned(),
    };
    flow.run(ticket).await.expect("the ticket is triaged")
}

#[tokio::test]
async fn each_kind_of_ticket_reaches_its_queue() {
    let bug = triage(1, "Saving fails with error 500. Production is down!").await;
    assert_eq!(bug.ticket, 1);
    assert_eq!(bug.queue, "bugs");
    assert_eq!(bug.action, "filed as P1: Saving fails with error 500.");

    let billing = triage(2, "I was charged twice in May.").await;
    assert_eq!(billing.queue, "billing");
    assert_eq!(
        billing.action,
        "handed to billing (P3): I was charged twice in May."
    );

    let question = triage(3, "Can I share a dashboard with a guest? Thanks").await;
    assert_eq!(question.queue, "answered");
    assert!(
        question
            .action
            .contains("\"Can I share a dashboard with a guest?\""),
        "{}",
        question.action
    );
}

#[tokio::test]
async fn a_classification_that_does_not_parse_fails_the_run_at_classify() {
    let model = typedflow_providers::ScriptedModel::new(
        std::iter::repeat_with(|| typedflow_providers::ScriptedReply::text("not JSON")).take(3),
    );
    let flow = Triage::new(TriageDeps {
        llm: std::sync::Arc::new(model),
    });

    let err = flow
        .run(Ticket {
            id: 9,
            text: "anything".to_owned(),
        })
        .await
        .unwrap_err();

    assert_eq!(err.node(), Some("classify"), "{err}");
}
