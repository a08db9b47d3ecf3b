//! How checkpoints are shown: the runs table, a run's steps, their JSON forms, times,
//! ages, and a state that is JSON or not.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use typedflow::checkpoint::Checkpoint;

/// A run's status for a person: `waiting (Approval)` names the question.
pub fn status(cp: &Checkpoint) -> String {
    match cp.status.question() {
        Some(question) => format!("{} ({question})", cp.status.name()),
        None => cp.status.name().to_owned(),
    }
}

/// How long ago `time` was, in its largest whole unit: `42s`, `5m`, `3h`, `10d`. A time
/// in the future (another machine's clock) is `0s`.
pub fn age(now: SystemTime, time: SystemTime) -> String {
    let secs = now.duration_since(time).unwrap_or(Duration::ZERO).as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{}m", secs / 60),
        3_600..86_400 => format!("{}h", secs / 3_600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// A checkpoint's time in UTC, RFC 3339 to the microsecond:
/// `2026-12-01T19:10:23.123456Z`.
pub fn timestamp(cp: &Checkpoint) -> String {
    let micros = cp.time_unix_micros();
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, exact for every `i64` day a checkpoint can hold).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A state as the flow saved it: JSON (a durable flow's `{"step":..,"input":..}`, or a
/// finished run's output), or bytes that are not JSON.
pub enum State {
    /// The state is JSON: its text on one line, as saved (keys in the flow's order).
    Json(String),
    /// Not JSON, but UTF-8 text.
    Text(String),
    /// Neither JSON nor UTF-8.
    Bytes(Vec<u8>),
}

impl State {
    /// Reads a checkpoint's state bytes.
    pub fn of(bytes: &[u8]) -> State {
        match (
            serde_json::from_slice::<Value>(bytes),
            std::str::from_utf8(bytes),
        ) {
            // Shown as saved: a `Value` would sort the keys (serde_json without
            // `preserve_order`, which this tool does not impose on the workspace).
            (Ok(_), Ok(text)) if !text.contains('\n') => State::Json(text.trim().to_owned()),
            (Ok(value), _) => State::Json(value.to_string()),
            (Err(_), Ok(text)) => State::Text(text.to_owned()),
            (Err(_), Err(_)) => State::Bytes(bytes.to_vec()),
        }
    }

    /// One line for a person: the JSON; otherwise what it is, quoted.
    pub fn line(&self) -> String {
        match self {
            State::Json(json) => json.clone(),
            State::Text(text) => format!("(not JSON, {} bytes) {text:?}", text.len()),
            State::Bytes(bytes) => format!("(not JSON, {} bytes) {}", bytes.len(), hex(bytes)),
        }
    }

    /// The JSON fields of the state in `--json` output: `state` (the value, or `null`
    /// when it is not JSON), and `state_text` or `state_hex` when it is not.
    fn fields(&self, object: &mut Object) {
        match self {
            State::Json(json) => object.raw("state", json.clone()),
            State::Text(text) => {
                object.raw("state", "null".to_owned());
                object.field("state_text", text.as_str());
            }
            State::Bytes(bytes) => {
                object.raw("state", "null".to_owned());
                object.field("state_hex", hex(bytes));
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A JSON object written field by field, in the order given (a `serde_json::Map` would
/// sort the keys).
pub struct Object {
    fields: Vec<(&'static str, String)>,
}

impl Object {
    fn new() -> Self {
        Object { fields: Vec::new() }
    }

    /// A field whose value is already JSON text.
    fn raw(&mut self, key: &'static str, json: String) {
        self.fields.push((key, json));
    }

    /// A field of any value `serde_json` writes.
    fn field(&mut self, key: &'static str, value: impl Into<Value>) {
        self.raw(key, value.into().to_string());
    }

    /// The object on one line.
    pub fn to_json(&self) -> String {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(key, value)| format!("{}:{value}", Value::from(*key)))
            .collect();
        format!("{{{}}}", fields.join(","))
    }
}

/// Objects as a JSON array, one object a line (readable, and a line per item for grep).
pub fn array(objects: &[Object]) -> String {
    if objects.is_empty() {
        return "[]".to_owned();
    }
    let lines: Vec<String> = objects
        .iter()
        .map(|o| format!("  {}", o.to_json()))
        .collect();
    format!("[\n{}\n]", lines.join(",\n"))
}

/// The fields every JSON form of a checkpoint has.
fn envelope(cp: &Checkpoint) -> Object {
    let mut object = Object::new();
    object.field("flow", cp.flow.as_str());
    object.field("run_id", cp.run_id.to_string());
    object.field("status", cp.status.name());
    object.field("question", cp.status.question());
    object.field("step", cp.step);
    object.field("node", cp.node.as_str());
    object.field("attempt", cp.attempt);
    object.field("fingerprint", format!("{:016x}", cp.fingerprint));
    object.field("time", timestamp(cp));
    object
}

/// A run in `typedflow runs --json`: its latest checkpoint's envelope and its age.
pub fn run_json(cp: &Checkpoint, now: SystemTime) -> Object {
    let mut object = envelope(cp);
    let age = now.duration_since(cp.time).unwrap_or(Duration::ZERO);
    object.field("age_seconds", age.as_secs());
    object
}

/// A step in `typedflow history --json`: the envelope and the state.
pub fn step_json(cp: &Checkpoint) -> Object {
    let mut object = envelope(cp);
    State::of(&cp.state).fields(&mut object);
    object
}

/// Rows of cells as a table: each column as wide as its widest cell, two spaces apart,
/// without trailing spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            let pad = width.saturating_sub(cell.chars().count());
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', pad + 2));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use typedflow::RunId;
    use typedflow::checkpoint::RunStatus;

    use super::*;

    fn at(micros: i64) -> Checkpoint {
        Checkpoint::new("F", 0xab, RunId::from_u64(1), 2, "n", vec![]).with_time_unix_micros(micros)
    }

    #[test]
    fn times_are_rfc3339_in_utc() {
        assert_eq!(timestamp(&at(0)), "1970-01-01T00:00:00.000000Z");
        assert_eq!(timestamp(&at(-1)), "1969-12-31T23:59:59.999999Z");
        // 2026-12-01T19:10:23.123456Z
        assert_eq!(
            timestamp(&at(1_796_152_223_123_456)),
            "2026-12-01T19:10:23.123456Z"
        );
        assert_eq!(
            timestamp(&at(951_782_400_000_000)),
            "2000-02-29T00:00:00.000000Z"
        );
    }

    #[test]
    fn ages_are_in_their_largest_unit() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let ago = |secs| age(now, now - Duration::from_secs(secs));
        assert_eq!(ago(0), "0s");
        assert_eq!(ago(59), "59s");
        assert_eq!(ago(60), "1m");
        assert_eq!(ago(3_599), "59m");
        assert_eq!(ago(7_200), "2h");
        assert_eq!(ago(10 * 86_400 + 5), "10d");
        assert_eq!(age(now, now + Duration::from_secs(5)), "0s");
    }

    #[test]
    fn a_state_is_json_text_or_bytes() {
        let json = State::of(br#"{"step":"review","input":{"rounds":1}}"#);
        assert_eq!(json.line(), r#"{"step":"review","input":{"rounds":1}}"#);
        assert_eq!(
            State::of(b"{\"trunc").line(),
            r#"(not JSON, 7 bytes) "{\"trunc""#
        );
        assert_eq!(State::of(&[0xff, 0x00]).line(), "(not JSON, 2 bytes) ff00");
        assert_eq!(State::of(b"").line(), r#"(not JSON, 0 bytes) """#);
    }

    #[test]
    fn a_step_in_json_keeps_a_state_that_is_not_json_apart() {
        let mut cp = at(0).with_status(RunStatus::Waiting {
            question: "Approval".into(),
        });
        cp.state = vec![0xff];
        let value: Value = serde_json::from_str(&step_json(&cp).to_json()).unwrap();
        assert_eq!(value["state"], Value::Null);
        assert_eq!(value["state_hex"], "ff");
        assert_eq!(value["status"], "waiting");
        assert_eq!(value["question"], "Approval");
        assert_eq!(value["fingerprint"], "00000000000000ab");
        assert_eq!(value["run_id"], "0000000000000001");
    }

    #[test]
    fn json_keeps_the_order_of_the_fields_and_of_the_state() {
        let mut cp = at(0);
        cp.state = br#"{"step":"review","input":{"z":1,"a":[true,null]}}"#.to_vec();
        let json = step_json(&cp).to_json();
        assert!(
            json.starts_with(r#"{"flow":"F","run_id":"0000000000000001","status":"running","#),
            "{json}"
        );
        assert!(
            json.ends_with(r#","state":{"step":"review","input":{"z":1,"a":[true,null]}}}"#),
            "{json}"
        );
        // A state saved over several lines is put on one, still JSON.
        cp.state = b"{\n  \"b\": 1,\n  \"a\": 2\n}\n".to_vec();
        assert_eq!(State::of(&cp.state).line(), r#"{"a":2,"b":1}"#);
        let list = array(&[step_json(&cp), run_json(&cp, UNIX_EPOCH)]);
        let parsed: Value = serde_json::from_str(&list).unwrap();
        assert_eq!(parsed[1]["age_seconds"], 0);
        assert_eq!(array(&[]), "[]");
    }

    #[test]
    fn tables_align_their_columns() {
        let rows = vec![
            vec!["Essay".to_owned(), "1".to_owned()],
            vec!["E".to_owned(), "12345".to_owned()],
        ];
        assert_eq!(
            table(&["FLOW", "STEP"], &rows),
            "FLOW   STEP\nEssay  1\nE      12345\n"
        );
    }
}
