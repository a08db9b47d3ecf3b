//! What each command must print and do on a store filled by `common::fill`, written once
//! and run against SQLite and Postgres. A Postgres database is shared: the checks look
//! only at the fixture's own runs, and prune only the fixture's flow.

use serde_json::Value;
use typedflow::RunId;

use crate::common::{OLD, Runs, Store};

/// The lines of `text` that name one of `ids`, in order, as each id and the line.
fn lines_of<'t>(text: &'t str, ids: &[RunId]) -> Vec<(RunId, &'t str)> {
    text.lines()
        .filter_map(|line| {
            let id = ids.iter().find(|id| line.contains(&id.to_string()))?;
            Some((*id, line))
        })
        .collect()
}

/// An age of a run made during the test: seconds, and few of them.
fn is_fresh(age: &str) -> bool {
    age.strip_suffix('s')
        .and_then(|n| n.parse::<u64>().ok())
        .is_some_and(|n| n < 60)
}

pub fn runs_table(store: &Store, runs: &Runs) {
    let out = store.run(&["runs"]).ok();
    let header: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["FLOW", "RUN", "ID", "STATUS", "STEP", "NODE", "AGE"],
        "{out}"
    );
    let rows = lines_of(&out, &runs.newest_first());
    let order: Vec<RunId> = rows.iter().map(|(id, _)| *id).collect();
    assert_eq!(order, runs.newest_first(), "newest first:\n{out}");
    for (id, line) in rows {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let run = id.to_string();
        let (age, rest) = cells.split_last().expect("cells");
        let expected: Vec<&str> = match id {
            _ if id == runs.legacy => vec!["CliLegacy", &run, "running", "2", "parse"],
            _ if id == runs.waiting => {
                vec!["CliApproval", &run, "waiting", "(Approval)", "1", "approve"]
            }
            _ if id == runs.unfinished => vec!["CliEssay", &run, "running", "2", "review"],
            _ if id == runs.failed => vec!["CliEssay", &run, "failed", "4", "publish"],
            _ => vec!["CliEssay", &run, "finished", "4", "END"],
        };
        assert_eq!(rest, expected, "{line}");
        if id == runs.old {
            assert_eq!(*age, "10d", "{line}");
        } else {
            assert!(is_fresh(age), "{line}");
        }
    }
}

pub fn runs_json(store: &Store, runs: &Runs) {
    let all = store.run(&["runs", "--json"]).json();
    let ids = runs.newest_first();
    let mine: Vec<&Value> = all
        .as_array()
        .expect("an array")
        .iter()
        .filter(|run| ids.iter().any(|id| run["run_id"] == id.to_string()))
        .collect();
    let order: Vec<&str> = mine
        .iter()
        .map(|r| r["run_id"].as_str().unwrap_or(""))
        .collect();
    let expected: Vec<String> = ids.iter().map(RunId::to_string).collect();
    assert_eq!(order, expected);
    let [legacy, waiting, unfinished, failed, finished, old] = mine[..] else {
        panic!("six runs: {mine:?}")
    };
    let fields = |run: &Value| {
        (
            run["flow"].as_str().map(str::to_owned),
            run["status"].as_str().map(str::to_owned),
            run["step"].as_u64(),
            run["node"].as_str().map(str::to_owned),
        )
    };
    let f = |flow: &str, status: &str, step, node: &str| {
        (
            Some(flow.to_owned()),
            Some(status.to_owned()),
            Some(step),
            Some(node.to_owned()),
        )
    };
    assert_eq!(fields(legacy), f("CliLegacy", "running", 2, "parse"));
    assert_eq!(fields(waiting), f("CliApproval", "waiting", 1, "approve"));
    assert_eq!(waiting["question"], "Approval");
    assert_eq!(fields(unfinished), f("CliEssay", "running", 2, "review"));
    assert_eq!(fields(failed), f("CliEssay", "failed", 4, "publish"));
    assert_eq!(failed["question"], Value::Null);
    assert_eq!(fields(finished), f("CliEssay", "finished", 4, "END"));
    assert_eq!(fields(old), f("CliEssay", "finished", 4, "END"));
    assert_eq!(finished["attempt"], 1);
    assert_eq!(legacy["fingerprint"], "0000000000000009");
    assert_eq!(failed["fingerprint"], old["fingerprint"]);
    let time = finished["time"].as_str().unwrap_or("");
    assert!(
        time.len() == 27 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{time}"
    );
    let age = |run: &Value| run["age_seconds"].as_u64().expect("an age");
    assert!(age(finished) < 60, "{finished}");
    assert!(
        (OLD.as_secs()..OLD.as_secs() + 60).contains(&age(old)),
        "{old}"
    );
}

pub fn runs_filtered(store: &Store, runs: &Runs) {
    let ids = |args: &[&str]| -> Vec<RunId> {
        lines_of(&store.run(args).ok(), &runs.newest_first())
            .iter()
            .map(|(id, _)| *id)
            .collect()
    };
    assert_eq!(
        ids(&["runs", "--flow", "CliEssay", "--status", "failed"]),
        [runs.failed]
    );
    assert_eq!(
        ids(&["runs", "--status", "running", "--status", "waiting"]),
        [runs.legacy, runs.waiting, runs.unfinished]
    );
    assert_eq!(
        ids(&["runs", "--flow", "CliEssay", "--status", "finished"]),
        [runs.finished, runs.old]
    );
    assert_eq!(ids(&["runs", "--limit", "2"]), [runs.legacy, runs.waiting]);
}

pub fn history(store: &Store, runs: &Runs) {
    let out = store.run(&["history", &runs.finished.to_string()]).ok();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "run {} of flow CliEssay (graph fingerprint ",
            runs.finished
        )) && lines[0].ends_with("): finished, 4 checkpoints"),
        "{out}"
    );
    assert_eq!(lines[1], "");
    let header: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "STEP", "NODE", "STATUS", "ATTEMPT", "TIME", "(UTC)", "STATE"
        ]
    );
    let steps = [
        (
            "1 review running 1",
            r#"{"step":"review","input":{"text":"on rust","rounds":0}}"#,
        ),
        (
            "2 review running 1",
            r#"{"step":"review","input":{"text":"on rust","rounds":1}}"#,
        ),
        (
            "3 publish running 1",
            r#"{"step":"publish","input":{"text":"on rust","rounds":2}}"#,
        ),
        ("4 END finished 1", r#""on rust (2 rounds)""#),
    ];
    assert_eq!(lines.len(), 3 + steps.len(), "{out}");
    for (line, (start, state)) in lines[3..].iter().zip(steps) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[..4].join(" "), start, "{line}");
        assert!(cells[4].ends_with('Z'), "{line}");
        assert!(line.ends_with(&format!("Z  {state}")), "{line}");
    }

    let failed = store
        .run(&["history", &runs.failed.to_string(), "--json"])
        .json();
    let last = &failed[3];
    assert_eq!(
        (last["step"].as_u64(), last["status"].as_str()),
        (Some(4), Some("failed"))
    );
    assert_eq!(last["node"], "publish");
    assert_eq!(last["state"]["step"], "publish");
    assert_eq!(last["state"]["input"]["text"], "on broken");
    assert_eq!(failed.as_array().map(Vec::len), Some(4));

    let finished = store
        .run(&["history", &runs.finished.to_string(), "--json"])
        .json();
    assert_eq!(finished[3]["state"], "on rust (2 rounds)");
    assert_eq!(finished[0]["state"]["input"]["rounds"], 0);

    // States that are not JSON are shown for what they are.
    let legacy = runs.legacy.to_string();
    let out = store.run(&["history", &legacy]).ok();
    assert!(out.contains("): running, 2 checkpoints"), "{out}");
    assert!(out.contains("Z  (not JSON, 5 bytes) ff0062696e\n"), "{out}");
    assert!(
        out.contains(r#"Z  (not JSON, 7 bytes) "{\"trunc""#),
        "{out}"
    );
    let json = store.run(&["history", &legacy, "--json"]).json();
    assert_eq!(json[0]["state"], Value::Null);
    assert_eq!(json[0]["state_hex"], "ff0062696e");
    assert_eq!(json[1]["state_text"], "{\"trunc");

    let out = store.run(&["history", &runs.waiting.to_string()]).ok();
    assert!(
        out.contains(": waiting (Approval), 1 checkpoint\n"),
        "{out}"
    );
}

pub fn delete(store: &Store, runs: &Runs) {
    let (finished, unfinished) = (runs.finished.to_string(), runs.unfinished.to_string());
    // A run named twice is deleted once.
    let out = store
        .run(&["delete", &finished, &unfinished, &finished])
        .ok();
    assert_eq!(out, "deleted 2 runs (6 checkpoints)\n");
    assert_eq!(
        store.remaining(&runs.newest_first()),
        [runs.legacy, runs.waiting, runs.failed, runs.old]
    );
    // An unknown run is reported, and the others still deleted.
    let unknown = RunId::from_u64(runs.old.as_u64() + 0x80).to_string();
    let ran = store.run(&["delete", &runs.failed.to_string(), &unknown]);
    assert_eq!(ran.stdout, "deleted 1 run (4 checkpoints)\n");
    let err = ran.failed();
    assert_eq!(
        err,
        format!("typedflow: error: no run {unknown} in the store\n")
    );
    assert_eq!(
        store.remaining(&runs.newest_first()),
        [runs.legacy, runs.waiting, runs.old]
    );
}

pub fn prune(store: &Store, runs: &Runs) {
    let all = runs.newest_first();
    let out = store
        .run(&["prune", "--flow", "CliEssay", "--dry-run"])
        .ok();
    let listed: Vec<RunId> = lines_of(&out, &all).iter().map(|(id, _)| *id).collect();
    assert_eq!(listed, [runs.failed, runs.finished, runs.old], "{out}");
    assert!(
        out.ends_with("would delete 3 runs (dry run: nothing deleted)\n"),
        "{out}"
    );
    assert_eq!(store.remaining(&all), all, "a dry run deletes nothing");

    let ran = store.run(&[
        "prune",
        "--flow",
        "CliEssay",
        "--finished",
        "--older-than",
        "7d",
        "--progress",
    ]);
    assert_eq!(ran.stderr, "pruning runs: 1/1\n");
    assert_eq!(ran.ok(), "deleted 1 run (4 checkpoints)\n");
    let left = [
        runs.legacy,
        runs.waiting,
        runs.unfinished,
        runs.failed,
        runs.finished,
    ];
    assert_eq!(store.remaining(&all), left);

    let out = store.run(&["prune", "--flow", "CliEssay", "--failed"]).ok();
    assert_eq!(out, "deleted 1 run (4 checkpoints)\n");
    let ran = store.run(&[
        "prune",
        "--flow",
        "CliEssay",
        "--status",
        "running",
        "--progress",
    ]);
    assert_eq!(ran.stderr, "pruning runs: 1/1\n");
    assert_eq!(ran.ok(), "deleted 1 run (2 checkpoints)\n");
    assert_eq!(
        store.remaining(&all),
        [runs.legacy, runs.waiting, runs.finished]
    );

    // Too young to prune; and without --progress, nothing on stderr.
    let ran = store.run(&["prune", "--flow", "CliEssay", "--older-than", "7d"]);
    assert_eq!(ran.stderr, "");
    assert_eq!(ran.ok(), "deleted 0 runs (0 checkpoints)\n");
    assert_eq!(
        store.remaining(&all),
        [runs.legacy, runs.waiting, runs.finished]
    );
}
