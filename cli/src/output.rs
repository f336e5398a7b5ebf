//! Printing: aligned text tables for people, JSON for scripts.

use serde_json::Value;

/// Prints rows as a table with a header line.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.len());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:<w$}", c, w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!("{}", line(headers.to_vec()));
    println!(
        "{}",
        line(
            widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect()
        )
    );
    for row in rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}

/// Prints a value as pretty JSON.
pub fn json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// A short text for a record: its key's values joined by `/`.
pub fn key_text(record: &Value) -> String {
    match record.get("key").and_then(Value::as_object) {
        Some(key) => key
            .values()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect::<Vec<_>>()
            .join("/"),
        None => record.to_string(),
    }
}

/// The record's own fields (not its key, relations or bookkeeping), short.
pub fn fields_text(record: &Value) -> String {
    const SKIP: [&str; 7] = [
        "key",
        "relations",
        "doc_id",
        "kind",
        "created_at",
        "link",
        "links",
    ];
    let Some(object) = record.as_object() else {
        return String::new();
    };
    let text: Vec<String> = object
        .iter()
        .filter(|(k, _)| !SKIP.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let joined = text.join(" ");
    if joined.chars().count() > 80 {
        format!("{}...", joined.chars().take(77).collect::<String>())
    } else {
        joined
    }
}

/// Formats a number for a table cell.
pub fn number(value: Option<&Value>) -> String {
    match value.and_then(Value::as_f64) {
        Some(v) => format!("{v:.4}"),
        None => "-".into(),
    }
}

/// Mean of a per-class list, or the scalar itself.
pub fn mean_of(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Array(items) => {
            let values: Vec<f64> = items.iter().filter_map(Value::as_f64).collect();
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        }
        other => other.as_f64(),
    }
}
