//! Output for people (aligned tables) and for scripts (`-o json`: the server's JSON as is).

use serde_json::Value;

/// How a command prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Output {
    /// Tables and sentences for people.
    #[default]
    Table,
    /// JSON on standard output, for scripts.
    Json,
}

/// Prints `value` as pretty JSON.
pub(crate) fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// Prints rows under `headers`, columns aligned, two blanks apart; `(none)` for no rows.
pub(crate) fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    print!("{}", render(headers, rows));
}

/// The table [`print_table`] prints.
pub(crate) fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return "(none)\n".into();
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A JSON field as table text: strings bare, null as `-`, others as JSON.
pub(crate) fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A Unix-ms time as `YYYY-MM-DD HH:MM:SS` (UTC), `-` when absent.
pub(crate) fn time(value: &Value) -> String {
    let seconds = |text: &str| text.get(..19).unwrap_or(text).replace('T', " ");
    match value {
        Value::Number(n) => n.as_i64().map(|ms| seconds(&fleet_core::clock::rfc3339(ms))).unwrap_or_default(),
        Value::String(s) => seconds(s),
        _ => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align() {
        let rows = vec![vec!["edge".into(), "1".into()], vec!["a-much-longer-name".into(), "22".into()]];
        assert_eq!(render(&["NAME", "ID"], &rows), "NAME                ID\nedge                1\na-much-longer-name  22\n");
        assert_eq!(render(&["NAME"], &[]), "(none)\n");
        assert_eq!(cell(&Value::Null), "-");
        assert_eq!(time(&serde_json::json!(86_400_000)), "1970-01-02 00:00:00");
    }
}
