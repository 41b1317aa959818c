//! `tessera export` and `tessera import`: every group as JSON Lines, to
//! move between stores (embedded to Redis, one Redis to another) or to
//! back up. Records keep their `team_id`, `gen` and timestamps.

use std::io::{BufRead, Write};

use super::Failure;
use crate::config::StoreArgs;
use crate::domain::GroupRecord;
use crate::store::{GroupStore, export_page};

/// Writes every group of `store` to `out`, one JSON object a line, in
/// `team_id` order. Returns how many.
pub async fn export(store: &dyn GroupStore, out: &mut impl Write) -> Result<usize, String> {
    let mut after = None;
    let mut count = 0;
    loop {
        let (lines, written, next) = export_page(store, after).await.map_err(|e| e.to_string())?;
        out.write_all(lines.as_bytes()).map_err(|e| e.to_string())?;
        count += written;
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(count)
}

/// Reads JSON Lines; a malformed line fails the whole input, naming it.
/// Each line is read as the API reads a request (duplicate member names at
/// any depth are refused) and must hold a valid record (see
/// [`GroupRecord`]). Blank lines are skipped.
pub fn parse_lines(input: impl BufRead) -> Result<Vec<GroupRecord>, String> {
    let mut records = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|err| format!("line {number}: {err}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let record = crate::json_strict::from_slice(line.as_bytes())
            .and_then(serde_json::from_value::<GroupRecord>)
            .map_err(|err| format!("line {number}: not a valid group record: {err}"))?;
        records.push(record);
    }
    Ok(records)
}

/// `tessera export`.
pub async fn run_export(store: &StoreArgs) -> Result<(), Failure> {
    let store = store.open()?;
    let count = export(store.as_ref(), &mut std::io::stdout().lock()).await?;
    eprintln!("exported {count} groups");
    Ok(())
}

/// `tessera import`.
pub async fn run_import(store: &StoreArgs, overwrite: bool) -> Result<(), Failure> {
    let records = parse_lines(std::io::stdin().lock())?;
    let store = store.open()?;
    let report = store
        .import(&records, overwrite)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!(
        "imported {} groups ({} written, {} already there)",
        records.len(),
        report.written,
        report.unchanged
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_lines;

    const GOOD: &str = r#"{"team_id":3,"provided_id":"g","name":"G","mapping":{},"properties":{"a":1},"gen":1,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-02T00:00:00Z"}"#;

    #[test]
    fn a_valid_line_imports() {
        let records = parse_lines(format!("{GOOD}\n\n").as_bytes());
        assert_eq!(records.map(|r| r.len()), Ok(1));
    }

    #[test]
    fn lines_the_api_would_refuse_are_refused_by_number() {
        let bad = [
            GOOD.replace(r#""properties":{"a":1}"#, r#""properties":{"a":1,"a":2}"#),
            GOOD.replace(r#""gen":1"#, r#""gen":0"#),
            GOOD.replace(r#""team_id":3"#, r#""team_id":1152921504606846977"#),
            GOOD.replace("2026-01-02", "2025-01-02"),
            GOOD.replace(r#""name":"G""#, r#""name":"G","name":"H""#),
            GOOD.replace(r#""gen":1"#, r#""gen":1,"extra":true"#),
        ];
        for line in bad {
            let err = parse_lines(format!("{GOOD}\n{line}\n").as_bytes()).unwrap_err();
            assert!(err.starts_with("line 2:"), "{line}: {err}");
        }
    }
}
