//! Export as JSON Lines, a page at a time: shared by `tessera export` and
//! the online `GET /api/users/export`, so both write the same format that
//! `tessera import` reads.

use super::{GroupStore, StoreError};
use crate::domain::TeamId;

/// Records read from the store per page.
pub const EXPORT_PAGE: usize = 1000;

/// The page of groups after `after` as JSON Lines (one record a line, in
/// `team_id` order), how many, and where the next page starts (`None`
/// after the last).
pub async fn export_page(
    store: &dyn GroupStore,
    after: Option<TeamId>,
) -> Result<(String, usize, Option<TeamId>), StoreError> {
    let page = store.list(after, EXPORT_PAGE).await?;
    let mut lines = String::with_capacity(page.len() * 256);
    for record in &page {
        let line = serde_json::to_string(record)
            .map_err(|err| StoreError::Corrupt(format!("cannot encode a record: {err}")))?;
        lines.push_str(&line);
        lines.push('\n');
    }
    let next = match page.last() {
        Some(last) if page.len() == EXPORT_PAGE => Some(last.team_id),
        _ => None,
    };
    Ok((lines, page.len(), next))
}
