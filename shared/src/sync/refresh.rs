//! Refreshing single opportunities through the backfill's own path: a webhook delivery asks
//! for one, and a backfill run first finishes the ones webhooks could not (pending markers).
//!
//! A refresh reads `GET /opportunities/{id}?expand=applications`, applies the tenant's
//! eligibility rule, reads the opportunity's offers and hands both to the same
//! normalize → diff → write step as a backfill page. An opportunity Lever no longer has (404)
//! loses its records.

use super::{RunSummary, Syncer, TenantContext, is_transient, past_deadline};
use crate::error::SyncError;
use crate::lever::model::{Offer, Opportunity};
use crate::normalize::Dimensions;
use crate::normalize::mapping::{JOB_POSTING, REQUISITION};
use crate::record::Source;
use crate::store::PendingRefresh;
use crate::sync::request::Mode;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;
use tracing::{info, warn};

/// What a refresh did to the stored records of one opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Offers were written or deleted.
    Written,
    /// Everything stored was already current.
    Unchanged,
    /// The tenant's eligibility rule excludes the opportunity: its offers were not read.
    Ineligible,
    /// Lever answered 404 for the opportunity: its records were removed.
    Removed,
    /// Lever answered 404 for the opportunity's offers: nothing was changed.
    OffersNotFound,
}

impl RefreshOutcome {
    /// The outcome as a log value.
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshOutcome::Written => "written",
            RefreshOutcome::Unchanged => "unchanged",
            RefreshOutcome::Ineligible => "ineligible",
            RefreshOutcome::Removed => "removed",
            RefreshOutcome::OffersNotFound => "offers_not_found",
        }
    }
}

/// The result of one refresh, with its write counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    pub outcome: RefreshOutcome,
    pub offers_written: u64,
    pub offers_deleted: u64,
}

impl Syncer {
    /// Refreshes one opportunity with the tenant's cached context (see [`super::ContextCache`]),
    /// reloading the dimensions when the opportunity or its offers name one the cache lacks.
    pub async fn refresh_opportunity(
        &self,
        tenant: &str,
        opportunity_id: &str,
        source: Source,
    ) -> Result<Refreshed, SyncError> {
        let ctx = self.contexts.get(self, tenant).await?;
        let mut summary = RunSummary::new(tenant, Mode::Incremental, false);

        self.refresh_steps(ctx, opportunity_id, source, &mut summary, true)
            .await
    }

    /// Refreshes the opportunities of the tenant's pending markers, clearing each marker only
    /// after its refresh succeeded. A marker that fails again stays for the next run; only a
    /// non-transient failure (credentials, configuration) stops the run.
    pub(super) async fn drain_pending(
        &self,
        ctx: &Arc<TenantContext>,
        summary: &mut RunSummary,
        seen: &mut HashSet<String>,
        dry_run: bool,
        deadline: Option<Instant>,
    ) -> Result<(), SyncError> {
        let markers = self.store.pending(&ctx.tenant).await?;
        if dry_run {
            summary.pending_left = markers.len() as u64;
            return Ok(());
        }

        for marker in markers {
            if past_deadline(deadline, self.options.deadline_margin) {
                summary.pending_left += 1;
                continue;
            }
            if self.drain_one(ctx, summary, &marker).await? {
                summary.pending_drained += 1;
                seen.insert(marker.opportunity_id);
            } else {
                summary.pending_left += 1;
            }
        }

        if summary.pending_drained + summary.pending_left > 0 {
            info!(
                event = "pending_drained",
                tenant = %ctx.tenant,
                drained = summary.pending_drained,
                left = summary.pending_left,
            );
        }
        Ok(())
    }

    /// Refreshes one marked opportunity; `Ok(true)` when the marker was cleared.
    async fn drain_one(
        &self,
        ctx: &Arc<TenantContext>,
        summary: &mut RunSummary,
        marker: &PendingRefresh,
    ) -> Result<bool, SyncError> {
        let id = marker.opportunity_id.as_str();
        let refreshed = self
            .refresh_steps(ctx.clone(), id, Source::Backfill, summary, false)
            .await;

        match refreshed {
            Ok(_) => self
                .store
                .clear_pending(&ctx.tenant, marker)
                .await
                .map_err(Into::into),
            Err(err) if is_transient(&err) => {
                warn!(
                    event = "pending_failed",
                    tenant = %ctx.tenant,
                    opportunity_id = id,
                    error = %err,
                );
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }

    /// Reads, checks and writes one opportunity. With `may_reload`, a reference the context
    /// does not know triggers a (rate-limited) reload of the cached context first.
    async fn refresh_steps(
        &self,
        mut ctx: Arc<TenantContext>,
        opportunity_id: &str,
        source: Source,
        summary: &mut RunSummary,
        may_reload: bool,
    ) -> Result<Refreshed, SyncError> {
        let before = (summary.offers_written, summary.offers_deleted);
        let Some(opportunity) = ctx.lever.opportunity(opportunity_id).await? else {
            return self.remove(&ctx.tenant, opportunity_id).await;
        };
        summary.opportunities_read += 1;

        if may_reload && !knows_opportunity(&ctx.dimensions, &opportunity) {
            ctx = self.contexts.reload(self, &ctx.tenant).await?;
        }
        if !ctx.eligibility.allows(&opportunity, &ctx.dimensions) {
            summary.skipped.ineligible += 1;
            return Ok(refreshed(RefreshOutcome::Ineligible, 0, 0));
        }
        summary.opportunities_eligible += 1;

        let offers = ctx.lever.offers(opportunity_id).await?;
        if may_reload && !knows_offers(&ctx.dimensions, offers.as_deref().unwrap_or_default()) {
            ctx = self.contexts.reload(self, &ctx.tenant).await?;
        }
        let found = offers.is_some();

        self.write_opportunities(&ctx, summary, vec![(opportunity, offers)], source, false)
            .await?;
        let written = summary.offers_written - before.0;
        let deleted = summary.offers_deleted - before.1;
        let outcome = match (found, written + deleted) {
            (false, _) => RefreshOutcome::OffersNotFound,
            (true, 0) => RefreshOutcome::Unchanged,
            (true, _) => RefreshOutcome::Written,
        };
        Ok(refreshed(outcome, written, deleted))
    }

    /// Removes every record of an opportunity Lever no longer has.
    async fn remove(&self, tenant: &str, opportunity_id: &str) -> Result<Refreshed, SyncError> {
        let removed = self
            .store
            .remove_opportunity(tenant, opportunity_id)
            .await?;
        Ok(refreshed(RefreshOutcome::Removed, 0, removed as u64))
    }
}

fn refreshed(outcome: RefreshOutcome, offers_written: u64, offers_deleted: u64) -> Refreshed {
    Refreshed {
        outcome,
        offers_written,
        offers_deleted,
    }
}

/// True when the context knows the opportunity's stage, archive reason, posting and
/// requisition for hire.
fn knows_opportunity(dims: &Dimensions, opportunity: &Opportunity) -> bool {
    let application = opportunity.application.as_ref();
    let hire = application.and_then(|a| a.requisition_for_hire.as_ref());

    let stage = opportunity.stage_id.as_ref();
    let reason = opportunity
        .archived
        .as_ref()
        .and_then(|a| a.reason_id.as_ref());
    let posting = application.and_then(|a| a.posting.as_ref());
    let requisition = hire.and_then(|h| h.id.as_ref());
    let code = hire.and_then(|h| h.requisition_code.as_ref());

    stage.is_none_or(|id| dims.stages.contains_key(id))
        && reason.is_none_or(|id| dims.archive_reasons.contains_key(id))
        && posting.is_none_or(|id| dims.postings.contains_key(id))
        && requisition.is_none_or(|id| dims.requisitions.contains_key(id))
        && code.is_none_or(|c| dims.requisitions_by_code.contains_key(c))
}

/// True when the context knows every posting and requisition the offers name.
fn knows_offers(dims: &Dimensions, offers: &[Offer]) -> bool {
    offers.iter().flat_map(|o| &o.fields).all(|field| {
        let Some(id) = field.value.as_str().filter(|id| !id.is_empty()) else {
            return true;
        };
        match field.identifier.as_str() {
            JOB_POSTING => dims.postings.contains_key(id),
            REQUISITION => dims.requisitions.contains_key(id),
            _ => true,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lever::model::{ArchiveReason, Posting, Stage};
    use serde_json::json;

    fn dims() -> Dimensions {
        let stages: Vec<Stage> = serde_json::from_value(json!([{ "id": "s1" }])).expect("stages");
        let reasons: Vec<ArchiveReason> =
            serde_json::from_value(json!([{ "id": "r1", "type": "hired" }])).expect("reasons");
        let postings: Vec<Posting> = serde_json::from_value(json!([{ "id": "p1" }])).expect("p");
        Dimensions::new(stages, reasons, postings, vec![], vec![])
    }

    #[test]
    fn an_unknown_stage_reason_or_posting_is_noticed() {
        let d = dims();
        let opp = |v: serde_json::Value| -> Opportunity { serde_json::from_value(v).expect("o") };

        let known = json!({ "id": "o", "stage": "s1", "archived": { "reason": "r1" },
                            "applications": [{ "id": "a", "posting": "p1" }] });
        assert!(knows_opportunity(&d, &opp(known)));
        assert!(!knows_opportunity(
            &d,
            &opp(json!({ "id": "o", "stage": "s2" }))
        ));
        assert!(!knows_opportunity(
            &d,
            &opp(json!({ "id": "o", "archived": { "reason": "r2" } }))
        ));
        assert!(!knows_opportunity(
            &d,
            &opp(json!({ "id": "o", "applications": [{ "id": "a", "posting": "p2" }] }))
        ));
    }

    #[test]
    fn an_offer_naming_an_unknown_posting_or_requisition_is_noticed() {
        let d = dims();
        let offer = |id: &str, value: &str| -> Offer {
            serde_json::from_value(json!({ "id": "f",
                "fields": [{ "identifier": id, "value": value }] }))
            .expect("offer")
        };

        assert!(knows_offers(
            &d,
            &[offer(JOB_POSTING, "p1"), offer("custom", "x")]
        ));
        assert!(!knows_offers(&d, &[offer(JOB_POSTING, "p9")]));
        assert!(!knows_offers(&d, &[offer(REQUISITION, "req-9")]));
    }
}
