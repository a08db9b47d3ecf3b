use typedflow::prelude::*;

pub enum Kind {
    Bug(String),
    Question(String),
}

#[node]
async fn split(ticket: String) -> String {
    ticket
}

#[node]
async fn classify(ticket: String) -> Kind {
    if ticket.contains("crash") {
        Kind::Bug(ticket)
    } else {
        Kind::Question(ticket)
    }
}

#[node]
async fn file_bug(ticket: String) -> String {
    format!("bug: {ticket}")
}

#[node]
async fn answer(ticket: String) -> String {
    format!("answer: {ticket}")
}

#[node]
async fn summarize(ticket: String) -> String {
    ticket
}

#[node]
async fn join((handled, summary): (String, String)) -> String {
    format!("{handled} ({summary})")
}

graph! {
    Triage(String) -> String {
        START -> split -> (classify => { Kind::Bug -> file_bug, Kind::Question -> answer }, summarize) -> join -> END;
    }
}

fn main() {}
