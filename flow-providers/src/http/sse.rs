//! A server-sent events parser over raw bytes, bounded in memory.
//!
//! Lines are split on bytes (`\n`, `\r\n`, `\r`), which never occur inside a UTF-8
//! sequence, so a character split across network chunks is reassembled before it is
//! decoded; an invalid sequence is an error rather than a silently replaced character.
//! An event cut off by the end of the body is discarded, as the SSE specification says;
//! the provider's decoder then notices the missing finish event.

use std::collections::VecDeque;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field, if any.
    pub(crate) event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub(crate) data: String,
}

/// Incremental parser state.
#[derive(Debug)]
pub(crate) struct SseParser {
    /// Bytes of the current, unterminated line.
    line: Vec<u8>,
    /// A `\r` ended the last chunk: a `\n` starting the next one belongs to it.
    after_cr: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    at_start: bool,
    max_line: usize,
    max_event: usize,
}

impl SseParser {
    /// A parser refusing lines longer than `max_line` bytes and events whose data
    /// exceeds `max_event` bytes.
    pub(crate) fn new(max_line: usize, max_event: usize) -> Self {
        SseParser {
            line: Vec::new(),
            after_cr: false,
            event: None,
            data: String::new(),
            has_data: false,
            at_start: true,
            max_line,
            max_event,
        }
    }

    /// Feeds the next chunk of the body, appending complete events to `out`.
    pub(crate) fn push(
        &mut self,
        chunk: &[u8],
        out: &mut VecDeque<SseEvent>,
    ) -> Result<(), String> {
        let mut rest = chunk;
        // An empty chunk says nothing about the byte after a trailing `\r`.
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if let Some(stripped) = rest.strip_prefix(b"\n") {
                rest = stripped;
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.extend_line(&rest[..end])?;
            let terminator = rest[end];
            rest = &rest[end + 1..];
            if terminator == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out)?;
        }
        self.extend_line(rest)
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), String> {
        if self.line.len() + bytes.len() > self.max_line {
            return Err(format!(
                "a line of the event stream exceeds {} bytes",
                self.max_line
            ));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, line: &[u8], out: &mut VecDeque<SseEvent>) -> Result<(), String> {
        let mut line = std::str::from_utf8(line)
            .map_err(|e| format!("the event stream is not valid utf-8: {e}"))?;
        if self.at_start {
            self.at_start = false;
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.is_empty() {
            if self.has_data {
                out.push_back(SseEvent {
                    event: self.event.take(),
                    data: std::mem::take(&mut self.data),
                });
            }
            self.event = None;
            self.data.clear();
            self.has_data = false;
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.data.len() + value.len() + 1 > self.max_event {
                    return Err(format!(
                        "an event of the stream exceeds {} bytes",
                        self.max_event
                    ));
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            // `id` and `retry` serve reconnection, which a chat reply does not use.
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_chunks(body: &[u8], split: &[usize]) -> Result<Vec<SseEvent>, String> {
        let mut parser = SseParser::new(1 << 20, 1 << 20);
        let mut out = VecDeque::new();
        let mut start = 0;
        for &at in split.iter().chain(std::iter::once(&body.len())) {
            parser.push(&body[start..at], &mut out)?;
            start = at;
        }
        Ok(out.into_iter().collect())
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let body = "\u{feff}: comment\nevent: message_start\ndata: {\"a\":\"é😀\"}\n\n\
                    data: line one\r\ndata:line two\r\n\r\nid: 7\nretry: 10\ndata: [DONE]\r\r"
            .as_bytes();
        let expected = vec![
            ev(Some("message_start"), "{\"a\":\"é😀\"}"),
            ev(None, "line one\nline two"),
            ev(None, "[DONE]"),
        ];
        assert_eq!(parse_in_chunks(body, &[]).unwrap(), expected);
        for a in 0..=body.len() {
            assert_eq!(
                parse_in_chunks(body, &[a]).unwrap(),
                expected,
                "split at {a}"
            );
            for b in a..=body.len() {
                assert_eq!(
                    parse_in_chunks(body, &[a, b]).unwrap(),
                    expected,
                    "split at {a},{b}"
                );
            }
        }
    }

    #[test]
    fn an_unterminated_event_is_not_dispatched() {
        let events = parse_in_chunks(b"data: one\n\ndata: tw", &[]).unwrap();
        assert_eq!(events, vec![ev(None, "one")]);
    }

    #[test]
    fn an_event_without_data_is_not_dispatched() {
        let events = parse_in_chunks(b"event: ping\n\n", &[]).unwrap();
        assert!(events.is_empty());
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let err = parse_in_chunks(b"data: \xff\xfe\n\n", &[]).unwrap_err();
        assert!(err.contains("utf-8"), "{err}");
    }

    #[test]
    fn long_lines_and_events_are_refused() {
        let mut parser = SseParser::new(16, 1024);
        let mut out = VecDeque::new();
        let err = parser.push(&[b'x'; 17], &mut out).unwrap_err();
        assert!(err.contains("exceeds 16 bytes"), "{err}");

        let mut parser = SseParser::new(1024, 8);
        let err = parser
            .push(b"data: 12345\ndata: 6789\n", &mut out)
            .unwrap_err();
        assert!(err.contains("exceeds 8 bytes"), "{err}");
    }
}
