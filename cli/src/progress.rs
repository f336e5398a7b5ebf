//! Progress while a job runs: a redrawn bar on a terminal, one line per event
//! otherwise (logs, CI), both on stderr so stdout stays clean for tables and JSON.

use std::io::{IsTerminal, Write};

use serde_json::Value;

use crate::output;

const WIDTH: usize = 30;

/// Renders a job's events.
#[derive(Debug)]
pub struct Progress {
    terminal: bool,
    drawn: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }
}

impl Progress {
    pub fn event(&mut self, event: &Value) {
        let Some(kind) = event.get("type").and_then(Value::as_str) else {
            return;
        };
        let progress = event.get("progress").cloned().unwrap_or(Value::Null);
        let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        match kind {
            "round" => {
                let (round, rounds) = (n(event, "round"), n(event, "rounds"));
                let line = format!(
                    "{} {} round {round:>3}/{rounds:<3} train loss {} ({:.1} s)",
                    combination(&progress),
                    bar(round, rounds),
                    output::number(event.get("train_loss")),
                    event.get("seconds").and_then(Value::as_f64).unwrap_or(0.0)
                );
                self.show(&line, round == rounds);
            }
            "evaluated" => {
                let line = format!(
                    "{} evaluated {} on {} rows",
                    combination(&progress),
                    event
                        .get("participant_id")
                        .and_then(Value::as_str)
                        .unwrap_or("?"),
                    n(event, "sample_count")
                );
                self.show(&line, true);
            }
            "completed" => self.finish("done"),
            "failed" => self.finish(&format!(
                "failed: {}",
                event
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason recorded")
            )),
            _ => {
                if let Some(message) = progress.get("message").and_then(Value::as_str)
                    && !message.is_empty()
                {
                    self.show(message, true);
                }
            }
        }
    }

    /// Prints `line`; on a terminal a non-final line is redrawn in place.
    fn show(&mut self, line: &str, last: bool) {
        let mut err = std::io::stderr();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
            if last {
                let _ = writeln!(err);
            }
            self.drawn = !last;
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    fn finish(&mut self, line: &str) {
        if self.drawn {
            let _ = writeln!(std::io::stderr());
            self.drawn = false;
        }
        self.show(line, true);
    }
}

fn combination(progress: &Value) -> String {
    let n = |k: &str| progress.get(k).and_then(Value::as_u64).unwrap_or(0);
    if n("combinations") > 1 {
        format!("[{}/{}]", n("combination"), n("combinations"))
    } else {
        String::new()
    }
}

/// `[#####.....]` for `done` of `total`.
pub fn bar(done: u64, total: u64) -> String {
    let filled = if total == 0 {
        0
    } else {
        (done.min(total) as usize * WIDTH) / total as usize
    };
    format!("[{}{}]", "#".repeat(filled), ".".repeat(WIDTH - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_in_proportion() {
        assert_eq!(bar(0, 10), format!("[{}]", ".".repeat(WIDTH)));
        assert_eq!(bar(10, 10), format!("[{}]", "#".repeat(WIDTH)));
        assert_eq!(bar(5, 10).matches('#').count(), WIDTH / 2);
        assert_eq!(bar(3, 0).matches('#').count(), 0);
    }
}
