//! The examples' progress line leaves nothing behind on a terminal, and writes plain lines
//! elsewhere.

use std::sync::Arc;

use typedflow_examples::essay::{self, Essay, EssayDeps};
use typedflow_examples::progress::{Progress, run_with_progress};

/// What a terminal shows after `bytes`, line by line: printable characters overwrite the
/// cell under the cursor, `\r` goes back to column 0, `\n` to the next line, and
/// `ESC [ 2 K` erases the line. Any other escape sequence fails the test.
fn screen(bytes: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let mut lines = vec![Vec::<char>::new()];
    let mut column = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let line = lines.last_mut().expect("a line");
        match c {
            '\r' => column = 0,
            '\n' => {
                lines.push(Vec::new());
                column = 0;
            }
            '\x1b' => {
                let sequence: String = chars.by_ref().take(3).collect();
                assert_eq!(sequence, "[2K", "an escape sequence the test does not know");
                line.clear();
            }
            c => {
                if column < line.len() {
                    line[column] = c;
                } else {
                    line.resize(column, ' ');
                    line.push(c);
                }
                column += 1;
            }
        }
    }
    lines.into_iter().map(|l| l.into_iter().collect()).collect()
}

#[test]
fn a_shorter_line_leaves_nothing_of_a_longer_one() {
    let mut progress = Progress::new(Vec::new(), true);
    progress.update("step 12: a rather long node name");
    progress.update("step 13: short");
    assert_eq!(screen(&progress.into_inner()), ["step 13: short"]);
}

#[test]
fn notes_stay_and_the_line_is_cleared_at_the_end() {
    let mut progress = Progress::new(Vec::new(), true);
    progress.update("step 1: write");
    progress.note("`write` attempt 1 failed, next in 300ms");
    progress.update("step 2: review");
    progress.clear();
    assert_eq!(
        screen(&progress.into_inner()),
        ["`write` attempt 1 failed, next in 300ms", ""]
    );
}

#[test]
fn off_a_terminal_each_step_is_a_plain_line() {
    let mut progress = Progress::new(Vec::new(), false);
    progress.update("step 1: write");
    progress.note("a note");
    progress.update("step 2: review");
    progress.clear();
    let out = String::from_utf8(progress.into_inner()).expect("UTF-8");
    assert_eq!(out, "step 1: write\na note\nstep 2: review\n");
}

#[tokio::test(start_paused = true)]
async fn a_run_shows_its_steps_and_retries_then_clears_its_line() {
    let flow = Essay::new(EssayDeps {
        llm: Arc::new(essay::scripted()),
    });
    let mut progress = Progress::new(Vec::new(), true);

    let draft = run_with_progress(&flow, "kites".to_owned(), "essay", &mut progress)
        .await
        .expect("the essay is written");
    assert_eq!(draft.revisions, 2);

    let bytes = progress.into_inner();
    let shown = String::from_utf8_lossy(&bytes);
    for step in [
        "essay: step 1, outline",
        "essay: step 2, write",
        "essay: step 7, review",
    ] {
        assert!(shown.contains(step), "{step} not shown: {shown:?}");
    }
    // The retry stays on screen; the progress line is gone.
    assert_eq!(
        screen(&bytes),
        ["essay: `write` attempt 1 failed, next in 300ms", ""]
    );
}
