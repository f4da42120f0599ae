//! Opportunities deleted in Lever: their records are removed (not tombstoned), using the
//! stored opportunity → application lookup, so nothing of a deleted candidate stays behind.

use super::request::{Mode, RunRequest};
use super::{Run, Syncer};
use crate::error::SyncError;
use crate::lever::model::DeletedOpportunity;
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
            let removed = match dry_run {
                true => self.stored_offer_counts(run, &page.data).await?,
                false => self.remove_each(run, &page.data).await?,
            };
            for count in removed {
                run.summary.offers_deleted += count as u64;
                run.summary.opportunities_deleted += u64::from(count > 0);
            }

            offset = page.next.filter(|_| page.has_next);
            if offset.is_none() {
                break;
            }
        }
        info!(event = "deletions_applied", tenant = %run.ctx.tenant, since, opportunities = run.summary.opportunities_deleted);
        Ok(())
    }

    /// Removes the records of each deleted opportunity; returns the offer items removed, each.
    async fn remove_each(
        &self,
        run: &Run<'_>,
        deleted: &[DeletedOpportunity],
    ) -> Result<Vec<usize>, SyncError> {
        let mut removed = Vec::with_capacity(deleted.len());
        for opportunity in deleted {
            let count = self
                .store
                .remove_opportunity(&run.ctx.tenant, &opportunity.id)
                .await?;
            removed.push(count);
        }
        Ok(removed)
    }

    /// A dry run's preview: how many offer items each deleted opportunity has stored.
    async fn stored_offer_counts(
        &self,
        run: &Run<'_>,
        deleted: &[DeletedOpportunity],
    ) -> Result<Vec<usize>, SyncError> {
        let mut ids: Vec<String> = deleted.iter().map(|d| d.id.clone()).collect();
        ids.sort();
        ids.dedup();
        let lookups = self.store.lookups(&run.ctx.tenant, &ids).await?;
        Ok(lookups.iter().map(|l| l.offers.len()).collect())
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
