//! Tool calls in a run's event stream: a node's `emit_tool_call` and `emit_tool_result`
//! come out as events of that node and step, in order, and cost nothing unstreamed.

use std::time::Duration;

use futures_util::StreamExt;
use typedflow::events::Event;
use typedflow::prelude::*;

#[node]
async fn prepare(city: String) -> String {
    city.trim().to_owned()
}

#[node]
async fn lookup(city: String, cx: &Context) -> String {
    let arguments = format!(r#"{{"city":"{city}"}}"#);
    cx.emit_tool_call("call_1", "get_weather", &arguments).await;
    let answer = format!("21 °C in {city}");
    cx.emit_tool_result(
        "call_1",
        "get_weather",
        &answer,
        false,
        Duration::from_millis(3),
    )
    .await;
    cx.emit_tool_call("call_2", "nope", "{}").await;
    cx.emit_tool_result("call_2", "nope", "unknown tool", true, Duration::ZERO)
        .await;
    answer
}

graph! {
    Weather(String) -> String {
        START -> prepare -> lookup -> END;
    }
}

#[tokio::test]
async fn tool_calls_and_results_are_events_of_their_node_and_step() {
    let flow = Weather::new(());
    let mut stream = flow.run(" Paris ".to_owned()).stream();
    let events: Vec<Event> = stream.by_ref().collect().await;

    let tools: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::ToolCall {
                node,
                step,
                id,
                tool,
                arguments,
            } => Some(format!("{step} {node}: call {id} {tool} {arguments}")),
            Event::ToolResult {
                node,
                step,
                id,
                tool,
                content,
                is_error,
                duration,
            } => Some(format!(
                "{step} {node}: result {id} {tool} {content:?} error={is_error} {duration:?}"
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        tools,
        [
            r#"2 lookup: call call_1 get_weather {"city":"Paris"}"#,
            r#"2 lookup: result call_1 get_weather "21 °C in Paris" error=false 3ms"#,
            "2 lookup: call call_2 nope {}",
            r#"2 lookup: result call_2 nope "unknown tool" error=true 0ns"#,
        ]
    );
    // Between the node's start and its end.
    let position = |pred: &dyn Fn(&Event) -> bool| events.iter().position(pred);
    let started = position(&|e| matches!(e, Event::NodeStarted { node: "lookup", .. }));
    let first = position(&|e| matches!(e, Event::ToolCall { .. }));
    let finished = position(&|e| matches!(e, Event::NodeFinished { node: "lookup", .. }));
    assert!(started < first && first < finished, "{events:?}");
    assert!(matches!(
        events.last(),
        Some(Event::RunFinished { error: None, .. })
    ));
    assert_eq!(stream.output().await.unwrap(), "21 °C in Paris");
}

#[tokio::test]
async fn unstreamed_the_events_go_nowhere() {
    let flow = Weather::new(());
    assert_eq!(flow.run("Lyon".to_owned()).await.unwrap(), "21 °C in Lyon");
    // Outside any flow, too.
    let cx = Context::new("by hand", RunId::from_u64(1));
    assert_eq!(lookup("Nice".to_owned(), &cx).await, "21 °C in Nice");
}
