//! `tessera audit export [--since TIME]`: every group's audit trail as JSON
//! Lines on stdout, group by group, each group's events oldest first, then
//! its verification counts per hour (lines with `"event":"verifications"`).
//! Each event line has the fields `GET /api/user/{id}/audit` shows. It
//! reads the store directly: Redis while the service runs, the embedded
//! store while it is stopped.

use std::collections::BTreeSet;
use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::json;

use super::Failure;
use crate::audit::{HOURS_KEPT, entry_json, hour_text};
use crate::config::StoreArgs;
use crate::domain::GroupId;
use crate::store::GroupStore;

/// Events read per store call.
const PAGE: usize = 1000;

/// The `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write every audit event as JSON Lines to stdout.
    Export {
        /// Only events at or after this time: RFC 3339
        /// (2026-11-01T00:00:00Z) or a duration before now (24h, 7d).
        #[arg(long, value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// The store to read.
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    humantime::parse_duration(text)
        .ok()
        .and_then(|ago| chrono::TimeDelta::from_std(ago).ok())
        .and_then(|ago| Utc::now().checked_sub_signed(ago))
        .ok_or_else(|| {
            format!("{text:?} is neither an RFC 3339 time nor a duration such as 24h or 7d")
        })
}

/// Runs an `audit` subcommand.
pub async fn run(command: AuditCommand) -> Result<(), Failure> {
    let AuditCommand::Export { since, store } = command;
    let store = store.open_for_batch()?;
    let written = export(store.as_ref(), since, &mut std::io::stdout().lock()).await?;
    eprintln!("exported {written} audit lines");
    Ok(())
}

/// Writes the trail of every group (listed or with a trail of its own) at
/// or after `since` to `out`; how many lines.
pub async fn export(
    store: &dyn GroupStore,
    since: Option<DateTime<Utc>>,
    out: &mut impl Write,
) -> Result<usize, String> {
    let mut written = 0;
    for id in every_group(store).await? {
        let id = GroupId::parse(id).map_err(|err| err.to_string())?;
        let mut events = Vec::new();
        let mut before = None;
        'pages: loop {
            let page = store
                .audit_events(&id, before, PAGE)
                .await
                .map_err(|e| e.to_string())?;
            for entry in &page {
                if since.is_some_and(|since| entry.event.time().is_some_and(|at| at < since)) {
                    break 'pages;
                }
                events.push(entry_json(&id, entry));
            }
            match page.last() {
                Some(last) if page.len() == PAGE => before = Some(last.cursor),
                _ => break,
            }
        }
        let since_hour = since.map_or(i64::MIN, |since| since.timestamp() - 3599);
        let hours = store
            .verification_counts(&id, HOURS_KEPT)
            .await
            .map_err(|e| e.to_string())?;
        let hours = hours.iter().rev().filter(|(hour, _)| *hour >= since_hour);
        let lines = events
            .iter()
            .rev()
            .cloned()
            .chain(hours.map(|(hour, count)| {
                json!({
                    "user_group_id": id.as_str(),
                    "event": "verifications",
                    "hour": hour_text(*hour),
                    "count": count,
                })
            }));
        for line in lines {
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
            written += 1;
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(written)
}

/// Every group now stored, and every group the store knows had a trail
/// (deleted ones included), ordered by id.
async fn every_group(store: &dyn GroupStore) -> Result<BTreeSet<String>, String> {
    let mut ids = BTreeSet::new();
    let mut after = None;
    loop {
        let page = store.list(after, PAGE).await.map_err(|e| e.to_string())?;
        ids.extend(
            page.iter()
                .map(|record| record.provided_id.as_str().to_owned()),
        );
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.team_id),
            _ => break,
        }
    }
    let mut after: Option<GroupId> = None;
    loop {
        let page = store
            .audited_groups(after.as_ref(), PAGE)
            .await
            .map_err(|e| e.to_string())?;
        ids.extend(page.iter().map(|id| id.as_str().to_owned()));
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.clone()),
            _ => break,
        }
    }
    Ok(ids)
}
