//! `tessera export` and `tessera import`: every group as JSON Lines, to
//! move between stores (embedded to Redis, one Redis to another) or to
//! back up. Records keep their `team_id`, `gen` and timestamps.
//!
//! Both stream: export writes a page of the store at a time, import reads
//! and writes [`IMPORT_BATCH`] lines at a time, so memory stays flat
//! whatever the number of groups. When stderr is a terminal, a progress
//! line is printed there every second.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use super::Failure;
use crate::config::StoreArgs;
use crate::domain::GroupRecord;
use crate::store::{GroupStore, ImportReport, export_page};

/// Lines imported per batch: each batch is checked and written all or
/// nothing, as one [`GroupStore::import`] call.
pub const IMPORT_BATCH: usize = 10_000;

/// A progress line on stderr every second, only when stderr is a terminal.
struct Progress {
    verb: &'static str,
    shown: bool,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new(verb: &'static str) -> Self {
        let now = Instant::now();
        Self {
            verb,
            shown: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            started: now,
            last: now,
        }
    }

    fn update(&mut self, count: usize) {
        if !self.shown || self.last.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last = Instant::now();
        let seconds = self.started.elapsed().as_secs_f64().max(f64::EPSILON);
        // Display only: the rate is rounded anyway.
        #[allow(clippy::cast_precision_loss)]
        let rate = count as f64 / seconds;
        eprint!("\r{} {count} groups ({rate:.0}/s)\x1b[K", self.verb);
    }

    fn finish(&self) {
        if self.shown {
            eprint!("\r\x1b[K");
        }
    }
}

/// Writes every group of `store` to `out`, one JSON object a line, in
/// `team_id` order. Returns how many.
pub async fn export(store: &dyn GroupStore, out: &mut impl Write) -> Result<usize, String> {
    let mut progress = Progress::new("exported");
    let mut after = None;
    let mut count = 0;
    loop {
        let (lines, written, next) = export_page(store, after).await.map_err(|e| e.to_string())?;
        out.write_all(lines.as_bytes()).map_err(|e| e.to_string())?;
        count += written;
        progress.update(count);
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    progress.finish();
    out.flush().map_err(|e| e.to_string())?;
    Ok(count)
}

/// A line of an import that does not hold a valid group record; the
/// message says what is wrong with it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a valid group record: {0}")]
pub struct BadLine(String);

/// One line of an import: blank (skipped) or a record. The line is read
/// as the API reads a request (duplicate member names at any depth are
/// refused) and must hold a valid record (see [`GroupRecord`]).
pub fn parse_line(line: &str) -> Result<Option<GroupRecord>, BadLine> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    crate::json_strict::from_slice(line.as_bytes())
        .and_then(serde_json::from_value::<GroupRecord>)
        .map(Some)
        .map_err(|err| BadLine(err.to_string()))
}

/// Reads JSON Lines from `input` and imports them into `store` a batch of
/// [`IMPORT_BATCH`] lines at a time. A malformed line or a clash stops the
/// import before its batch is written; the error names the line or the
/// records, and which lines were imported before it. Batches already
/// written stay: running the same import again skips them as already there.
pub async fn import(
    store: &dyn GroupStore,
    input: impl BufRead,
    overwrite: bool,
) -> Result<ImportReport, String> {
    import_in_batches(store, input, overwrite, IMPORT_BATCH).await
}

async fn import_in_batches(
    store: &dyn GroupStore,
    input: impl BufRead,
    overwrite: bool,
    size: usize,
) -> Result<ImportReport, String> {
    let mut progress = Progress::new("imported");
    let mut total = ImportReport::default();
    let mut batch = Vec::with_capacity(size);
    // The number of the first line of the batch being read.
    let mut first = 1;
    let mut lines = input.lines().enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        let number = index + 1;
        let done = |total: &ImportReport| imported_before(first, total);
        let line = line.map_err(|err| format!("line {number}: {err}{}", done(&total)))?;
        if let Some(record) =
            parse_line(&line).map_err(|err| format!("line {number}: {err}{}", done(&total)))?
        {
            batch.push(record);
        }
        if batch.len() == size || lines.peek().is_none() {
            let report = store
                .import(&batch, overwrite)
                .await
                .map_err(|err| format!("lines {first}-{number}: {err}{}", done(&total)))?;
            total.written += report.written;
            total.unchanged += report.unchanged;
            progress.update(total.written + total.unchanged);
            batch.clear();
            first = number + 1;
        }
    }
    progress.finish();
    Ok(total)
}

/// What a failed import says was kept: the lines before the failing batch.
fn imported_before(first: usize, total: &ImportReport) -> String {
    if first == 1 {
        "; nothing was imported".to_owned()
    } else {
        format!(
            "; lines 1-{} were imported ({} written, {} already there), nothing after",
            first - 1,
            total.written,
            total.unchanged
        )
    }
}

/// `tessera export`.
pub async fn run_export(store: &StoreArgs) -> Result<(), Failure> {
    let store = store.open_for_batch()?;
    let count = export(store.as_ref(), &mut std::io::stdout().lock()).await?;
    eprintln!("exported {count} groups");
    Ok(())
}

/// `tessera import`.
pub async fn run_import(store: &StoreArgs, overwrite: bool) -> Result<(), Failure> {
    let store = store.open_for_batch()?;
    let report = import(store.as_ref(), std::io::stdin().lock(), overwrite).await?;
    eprintln!(
        "imported {} groups ({} written, {} already there)",
        report.written + report.unchanged,
        report.written,
        report.unchanged
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{import_in_batches, parse_line};
    use crate::domain::GroupId;
    use crate::store::{EmbeddedStore, GroupStore};

    const GOOD: &str = r#"{"team_id":3,"provided_id":"g","name":"G","mapping":{},"properties":{"a":1},"gen":1,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-02T00:00:00Z"}"#;

    fn line(team: u64) -> String {
        GOOD.replace(r#""team_id":3"#, &format!(r#""team_id":{team}"#))
            .replace(
                r#""provided_id":"g""#,
                &format!(r#""provided_id":"g{team}""#),
            )
    }

    #[test]
    fn a_valid_line_parses_and_a_blank_one_is_skipped() {
        assert!(matches!(parse_line(GOOD), Ok(Some(_))));
        assert_eq!(parse_line("  "), Ok(None));
    }

    #[test]
    fn lines_the_api_would_refuse_are_refused() {
        let bad = [
            GOOD.replace(r#""properties":{"a":1}"#, r#""properties":{"a":1,"a":2}"#),
            GOOD.replace(r#""gen":1"#, r#""gen":0"#),
            GOOD.replace(r#""team_id":3"#, r#""team_id":1152921504606846977"#),
            GOOD.replace("2026-01-02", "2025-01-02"),
            GOOD.replace(r#""name":"G""#, r#""name":"G","name":"H""#),
            GOOD.replace(r#""gen":1"#, r#""gen":1,"extra":true"#),
        ];
        for line in bad {
            assert!(parse_line(&line).is_err(), "{line}");
        }
    }

    #[tokio::test]
    async fn a_bad_line_stops_the_import_at_its_batch_and_a_rerun_completes_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let mut lines: Vec<String> = (1..=7).map(line).collect();
        lines[4] = "{not json".into();
        let input = lines.join("\n");
        let err = import_in_batches(&store, input.as_bytes(), false, 2)
            .await
            .unwrap_err();
        assert!(
            err.starts_with("line 5: not a valid group record")
                && err.ends_with(
                    "lines 1-4 were imported (4 written, 0 already there), nothing after"
                ),
            "{err}"
        );
        assert!(
            store
                .get(&GroupId::parse("g4").unwrap())
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .get(&GroupId::parse("g6").unwrap())
                .await
                .unwrap()
                .is_none()
        );

        lines[4] = line(5);
        let report = import_in_batches(&store, lines.join("\n").as_bytes(), false, 2)
            .await
            .unwrap();
        assert_eq!((report.written, report.unchanged), (3, 4));
    }

    #[tokio::test]
    async fn a_clash_in_a_later_batch_names_its_lines() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        // Line 4 gives g1's team_id to another group.
        let lines = [
            line(1),
            line(2),
            line(3),
            line(1).replace(r#""g1""#, r#""other""#),
        ];
        let err = import_in_batches(&store, lines.join("\n").as_bytes(), false, 2)
            .await
            .unwrap_err();
        assert!(err.starts_with("lines 3-4: "), "{err}");
        assert!(
            err.ends_with("lines 1-2 were imported (2 written, 0 already there), nothing after"),
            "{err}"
        );
        assert!(
            store
                .get(&GroupId::parse("g3").unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_bad_first_batch_imports_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let input = format!("{}\n[]\n", line(1));
        let err = import_in_batches(&store, input.as_bytes(), false, 10)
            .await
            .unwrap_err();
        assert!(
            err.starts_with("line 2: ") && err.ends_with("; nothing was imported"),
            "{err}"
        );
        assert!(
            store
                .get(&GroupId::parse("g1").unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
}
