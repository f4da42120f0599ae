//! Opportunities deleted in Lever: their records are removed (not tombstoned), using the
//! stored opportunity → application lookup, so nothing of a deleted candidate stays behind.

use super::request::{Mode, RunRequest};
use super::{Run, Syncer};
use crate::error::SyncError;
use tracing::info;

impl Syncer {
    /// Pages through `/opportunities/deleted` since `since` and removes each one's records.
    pub(super) async fn remove_deleted(
        &self,
        run: &mut Run<'_>,
        since: i64,
        dry_run: bool,
    ) -> Result<(), SyncError> {
        let mut offset: Option<String> = None;

        loop {
            let page = run.ctx.lever.deleted_page(since, offset.as_deref()).await?;
            for deleted in &page.data {
                let removed = match dry_run {
                    true => 0,
                    false => {
                        self.store
                            .remove_opportunity(&run.ctx.tenant, &deleted.id)
                            .await?
                    }
                };
                run.summary.offers_deleted += removed as u64;
                run.summary.opportunities_deleted += u64::from(removed > 0);
            }

            offset = page.next.filter(|_| page.has_next);
            if offset.is_none() {
                break;
            }
        }
        info!(event = "deletions_applied", tenant = %run.ctx.tenant, since, opportunities = run.summary.opportunities_deleted);
        Ok(())
    }
}

/// Since when a plan reads deletions: the whole history for an unbounded full run, the
/// watermark (minus the overlap) for an incremental one, none for a windowed run.
pub(super) fn deletions_since(
    request: &RunRequest,
    watermark: Option<i64>,
    overlap: i64,
) -> Option<i64> {
    if request.since.is_some() || request.until.is_some() {
        return None;
    }
    match (request.mode, watermark) {
        (Mode::Incremental, Some(watermark)) => Some(watermark - overlap),
        _ => Some(0),
    }
}
