//! `tessera export` and `tessera import`: every group as JSON Lines, to
//! move between stores (embedded to Redis, one Redis to another) or to
//! back up. Records keep their `team_id`, `gen` and timestamps.

use std::io::{BufRead, Write};

use crate::config::StoreArgs;
use crate::domain::GroupRecord;
use crate::store::GroupStore;

/// Records read from the store per round trip.
const PAGE: usize = 1000;

/// Writes every group of `store` to `out`, one JSON object a line, in
/// `team_id` order. Returns how many.
pub async fn export(store: &dyn GroupStore, out: &mut impl Write) -> Result<usize, String> {
    let mut after = None;
    let mut count = 0;
    loop {
        let page = store.list(after, PAGE).await.map_err(|e| e.to_string())?;
        for record in &page {
            let line = serde_json::to_string(record).map_err(|e| e.to_string())?;
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
        }
        count += page.len();
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.team_id),
            _ => break,
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(count)
}

/// Reads JSON Lines; a malformed line fails the whole input, naming it.
/// Blank lines are skipped.
pub fn parse_lines(input: impl BufRead) -> Result<Vec<GroupRecord>, String> {
    let mut records = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|err| format!("line {number}: {err}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str::<GroupRecord>(&line)
            .map_err(|err| format!("line {number}: not a valid group record: {err}"))?;
        records.push(record);
    }
    Ok(records)
}

/// `tessera export`.
pub async fn run_export(store: &StoreArgs) -> Result<(), String> {
    let store = store.open()?;
    let count = export(store.as_ref(), &mut std::io::stdout().lock()).await?;
    eprintln!("exported {count} groups");
    Ok(())
}

/// `tessera import`.
pub async fn run_import(store: &StoreArgs, overwrite: bool) -> Result<(), String> {
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
