//! The sync engine shared by both functions: a backfill run for one tenant, and the refresh
//! of one opportunity. Lever is read through [`LeverApi`], results written through
//! [`OfferStore`]; nothing here knows about Lambda.

mod contexts;
mod deletions;
pub mod eligibility;
mod refresh;
pub mod request;
pub mod summary;
mod tenant;

pub use contexts::{ContextCache, DEFAULT_CONTEXT_TTL, DEFAULT_RELOAD_GAP};
pub use eligibility::Eligibility;
pub use refresh::{RefreshOutcome, Refreshed};
pub use request::{Invocation, Mode, RunRequest, parse_invocation};
pub use summary::{RunStatus, RunSummary, Skipped};
pub use tenant::{LeverFactory, TenantContext};

use crate::error::{LeverError, SyncError};
use crate::lever::model::{Offer, Opportunity};
use crate::normalize::{NormalizeContext, normalize_opportunity};
use crate::ports::{Clock, LeverApi, OfferStore, OpportunityFilter, SecretSource};
use crate::record::Source;
use crate::settings::PiiMode;
use crate::store::{Cursor, StoredOffers, offer_partition, plan_changes};
use deletions::deletions_since;
use futures::{StreamExt, TryStreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Opportunities of an `opportunity_ids` run fetched and written together.
const ID_PAGE: usize = 100;

/// Tunables of the engine (from [`crate::config::Config`]).
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub pii_mode: PiiMode,
    pub concurrency: usize,
    pub incremental_overlap_ms: i64,
    pub deadline_margin: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            pii_mode: PiiMode::Pseudonymize,
            concurrency: 4,
            incremental_overlap_ms: 600_000,
            deadline_margin: Duration::from_secs(60),
        }
    }
}

/// Runs backfills and refreshes with injected ports.
pub struct Syncer {
    pub store: Arc<dyn OfferStore>,
    pub secrets: Arc<dyn SecretSource>,
    pub lever: Arc<dyn LeverFactory>,
    pub clock: Arc<dyn Clock>,
    pub options: SyncOptions,
    /// Tenant contexts kept between single-opportunity refreshes (the webhook's warm cache).
    pub contexts: ContextCache,
}

/// State of one tenant's run in progress.
struct Run<'a> {
    ctx: &'a TenantContext,
    summary: RunSummary,
    seen: HashSet<String>,
}

impl Syncer {
    /// Runs one tenant's backfill. Never panics on Lever or AWS faults: the summary says how
    /// it ended, and a partial run leaves a cursor the next run continues from.
    pub async fn run(&self, request: &RunRequest, deadline: Option<Instant>) -> RunSummary {
        let started = Instant::now();
        let mut summary = RunSummary::new(&request.tenant, request.mode, request.dry_run);
        let mut auth_failure = false;

        match self.run_tenant(request, deadline, &mut summary).await {
            Ok(()) => {}
            Err(err) => {
                auth_failure = crate::metrics::is_auth_failure(&err);
                summary.status = if is_transient(&err) {
                    RunStatus::Partial
                } else {
                    RunStatus::Failed
                };
                summary.error = Some(err.to_string());
            }
        }

        summary.duration_ms = started.elapsed().as_millis() as u64;
        log_summary(&summary);
        crate::metrics::backfill_run(&summary, auth_failure);
        summary
    }

    /// The nightly schedule: an incremental run of every configured tenant, one after another.
    pub async fn run_scheduled(
        &self,
        tenants: &[String],
        deadline: Option<Instant>,
    ) -> Vec<RunSummary> {
        let mut summaries = Vec::with_capacity(tenants.len());
        for tenant in tenants {
            let request = self.scheduled_request(tenant).await;
            summaries.push(self.run(&request, deadline).await);
        }
        summaries
    }

    /// The nightly run of one tenant: the nightly incremental, unless a console run stopped
    /// part way (a large first backfill spread over several invocations, say). Then the
    /// schedule continues that plan from its cursor instead of replacing it; the next night
    /// runs the incremental.
    async fn scheduled_request(&self, tenant: &str) -> RunRequest {
        let nightly = RunRequest {
            tenant: tenant.to_owned(),
            mode: Mode::Incremental,
            since: None,
            until: None,
            opportunity_ids: None,
            dry_run: false,
        };

        // A store error here is met again, and reported, by the run itself.
        let Ok(Some(cursor)) = self.store.cursor(tenant).await else {
            return nightly;
        };
        let Some(plan) = Plan::parse(&cursor.plan) else {
            return nightly;
        };
        info!(
            event = "schedule_continues_plan",
            tenant,
            mode = plan.mode.as_str(),
            windowed = plan.since.is_some() || plan.until.is_some(),
        );
        RunRequest {
            mode: plan.mode,
            since: plan.since,
            until: plan.until,
            ..nightly
        }
    }

    async fn run_tenant(
        &self,
        request: &RunRequest,
        deadline: Option<Instant>,
        summary: &mut RunSummary,
    ) -> Result<(), SyncError> {
        let tenant = request.tenant.as_str();
        let secret = self.secrets.tenant_secret(tenant).await?;
        let lever = self.lever.client(tenant, &secret)?;
        let ctx = match TenantContext::with_client(self, tenant, &secret, lever.clone()).await {
            Ok(ctx) => Arc::new(ctx),
            Err(err) => {
                // Calls spent loading the dimensions count too (retries of an outage, a 401).
                summary.api_calls = lever.calls();
                return Err(err);
            }
        };
        let mut run = Run {
            ctx: &ctx,
            summary: summary.clone(),
            seen: HashSet::new(),
        };

        let drained = self
            .drain_pending(
                &ctx,
                &mut run.summary,
                &mut run.seen,
                request.dry_run,
                deadline,
            )
            .await;
        let result = match drained {
            Err(err) => Err(err),
            Ok(()) => match &request.opportunity_ids {
                Some(ids) => self.run_ids(&mut run, ids, request.dry_run, deadline).await,
                None => self.run_listings(&mut run, request, deadline).await,
            },
        };

        run.summary.api_calls = ctx.lever.calls();
        *summary = run.summary;
        result
    }

    /// Fetches the named opportunities one by one. Stops before the deadline (after at least
    /// one id) and lists the ids it did not reach in the summary, to be sent again.
    async fn run_ids(
        &self,
        run: &mut Run<'_>,
        ids: &[String],
        dry_run: bool,
        deadline: Option<Instant>,
    ) -> Result<(), SyncError> {
        let mut unique: Vec<&String> = ids.iter().collect();
        unique.sort();
        unique.dedup();

        // Written a page at a time, so a failure keeps what was done before it.
        let mut done = 0;
        for chunk in unique.chunks(ID_PAGE) {
            let mut found = Vec::with_capacity(chunk.len());
            for id in chunk {
                if done > 0 && past_deadline(deadline, self.options.deadline_margin) {
                    self.process_page(run, found, dry_run).await?;
                    self.stop_ids_early(run, &unique[done..]);
                    return Ok(());
                }
                match run.ctx.lever.opportunity(id).await? {
                    Some(opportunity) => found.push(opportunity),
                    None => run.summary.skipped.not_found += 1,
                }
                done += 1;
            }
            self.process_page(run, found, dry_run).await?;
        }
        Ok(())
    }

    /// Marks an `opportunity_ids` run partial, keeping the ids it did not reach.
    fn stop_ids_early(&self, run: &mut Run<'_>, remaining: &[&String]) {
        run.summary.status = RunStatus::Partial;
        run.summary.ids_remaining = remaining.iter().map(|id| id.to_string()).collect();
        info!(
            event = "backfill_deadline",
            tenant = %run.ctx.tenant,
            ids_remaining = remaining.len(),
            "stopping before the deadline"
        );
    }

    /// Walks the plan's listings page by page, checkpointing after each page.
    async fn run_listings(
        &self,
        run: &mut Run<'_>,
        request: &RunRequest,
        deadline: Option<Instant>,
    ) -> Result<(), SyncError> {
        let tenant = request.tenant.as_str();
        let mut cursor = self.start_cursor(run, request).await?;
        let mut pages = 0;

        while cursor.listing < cursor.listings.len() {
            // At least one page per invocation, so a run always makes progress even when
            // loading the dimensions used up the time before the margin.
            if pages > 0 && past_deadline(deadline, self.options.deadline_margin) {
                run.summary.status = RunStatus::Partial;
                info!(
                    event = "backfill_deadline",
                    tenant,
                    listing = cursor.listing,
                    "stopping before the deadline"
                );
                return Ok(());
            }

            let next = self.walk_page(run, &cursor, request.dry_run).await?;
            cursor = advance(cursor, next);
            pages += 1;
            if !request.dry_run {
                self.store.set_cursor(tenant, Some(&cursor)).await?;
            }
        }

        if let Some(since) = cursor.deletions_since {
            self.remove_deleted(run, since, request.dry_run).await?;
        }
        self.finish(tenant, request, cursor.run_started_at).await
    }

    /// Reads, normalizes and writes one page; returns the next offset (None = listing done).
    async fn walk_page(
        &self,
        run: &mut Run<'_>,
        cursor: &Cursor,
        dry_run: bool,
    ) -> Result<Option<String>, SyncError> {
        let filter = &cursor.listings[cursor.listing];
        let page = match run
            .ctx
            .lever
            .opportunities_page(filter, cursor.offset.as_deref())
            .await
        {
            Err(LeverError::BadRequest {
                invalid_offset: true,
            }) if cursor.offset.is_some() => {
                // Lever's paging tokens can go stale mid-walk: restart this listing from its
                // first page. Opportunities already handled in this run are skipped without
                // reading their offers again.
                warn!(event = "offset_invalid", tenant = %run.ctx.tenant, listing = cursor.listing, "restarting listing");
                return Ok(Some(String::new()));
            }
            other => other?,
        };

        let count = page.data.len();
        self.process_page(run, page.data, dry_run).await?;
        info!(
            event = "backfill_page", tenant = %run.ctx.tenant, listing = cursor.listing,
            opportunities = count, written = run.summary.offers_written,
            unchanged = run.summary.offers_unchanged, api_calls = run.ctx.lever.calls(),
        );
        Ok(if page.has_next { page.next } else { None })
    }

    /// The cursor to continue from: the stored one when it belongs to the same plan, else a
    /// fresh plan.
    async fn start_cursor(
        &self,
        run: &mut Run<'_>,
        request: &RunRequest,
    ) -> Result<Cursor, SyncError> {
        let plan = plan_key(request);
        let stored = self.store.cursor(&request.tenant).await?;
        match stored {
            Some(cursor) if cursor.plan == plan && !request.dry_run => {
                run.summary.resumed = true;
                info!(event = "backfill_resume", tenant = %request.tenant, listing = cursor.listing);
                return Ok(cursor);
            }
            Some(_) if !request.dry_run => {
                // An operator asked for another plan: it replaces the unfinished one.
                warn!(event = "cursor_replaced", tenant = %request.tenant, "an unfinished run of another plan is abandoned");
            }
            _ => {}
        }

        let now = self.clock.now_ms();
        let watermark = self.store.watermark(&request.tenant).await?;
        let overlap = self.options.incremental_overlap_ms;
        Ok(Cursor {
            plan,
            listings: listings(request, watermark, now, overlap),
            listing: 0,
            offset: None,
            run_started_at: now,
            deletions_since: deletions_since(request, watermark, overlap),
        })
    }

    /// Moves the watermark (for runs without a window) and clears the cursor.
    async fn finish(
        &self,
        tenant: &str,
        request: &RunRequest,
        started_at: i64,
    ) -> Result<(), SyncError> {
        if request.dry_run {
            return Ok(());
        }
        // Only a run over the whole history moves the watermark: a windowed run skipped
        // deletions and whatever changed outside its window.
        if request.since.is_none() && request.until.is_none() {
            self.store.set_watermark(tenant, started_at).await?;
        }
        self.store.set_cursor(tenant, None).await?;
        Ok(())
    }

    /// Eligible opportunities of one page: read offers, normalize, diff, write.
    async fn process_page(
        &self,
        run: &mut Run<'_>,
        opportunities: Vec<Opportunity>,
        dry_run: bool,
    ) -> Result<(), SyncError> {
        run.summary.opportunities_read += opportunities.len() as u64;
        let eligible = self.select(run, opportunities);
        run.summary.opportunities_eligible += eligible.len() as u64;

        let with_offers = self.read_offers(run.ctx.lever.as_ref(), eligible).await?;
        self.write_opportunities(
            run.ctx,
            &mut run.summary,
            with_offers,
            Source::Backfill,
            dry_run,
        )
        .await
    }

    /// Normalizes opportunities with their offers, diffs them against the stored lookups and
    /// writes what changed: the one write path of backfill pages and single refreshes.
    async fn write_opportunities(
        &self,
        ctx: &TenantContext,
        summary: &mut RunSummary,
        with_offers: Vec<(Opportunity, Option<Vec<Offer>>)>,
        source: Source,
        dry_run: bool,
    ) -> Result<(), SyncError> {
        let changes = self.diff(ctx, summary, with_offers, source).await?;

        let changes: Vec<StoredOffers> = changes.into_iter().flatten().collect();
        if !dry_run && !changes.is_empty() {
            self.store.apply(&ctx.tenant, &changes).await?;
        }
        Ok(())
    }

    /// Drops opportunities already handled in this run and those the tenant's rule excludes.
    fn select(&self, run: &mut Run<'_>, opportunities: Vec<Opportunity>) -> Vec<Opportunity> {
        let mut eligible = Vec::with_capacity(opportunities.len());
        for opportunity in opportunities {
            if !run.seen.insert(opportunity.id.clone()) {
                run.summary.skipped.already_seen += 1;
            } else if !run
                .ctx
                .eligibility
                .allows(&opportunity, &run.ctx.dimensions)
            {
                run.summary.skipped.ineligible += 1;
            } else {
                eligible.push(opportunity);
            }
        }
        eligible
    }

    /// Offers of each opportunity, `concurrency` reads in flight; `None` where Lever said 404.
    async fn read_offers(
        &self,
        lever: &dyn LeverApi,
        opportunities: Vec<Opportunity>,
    ) -> Result<Vec<(Opportunity, Option<Vec<Offer>>)>, SyncError> {
        let reads = futures::stream::iter(opportunities).map(|opportunity| async move {
            let offers = lever.offers(&opportunity.id).await?;
            Ok::<_, LeverError>((opportunity, offers))
        });
        Ok(reads
            .buffered(self.options.concurrency.max(1))
            .try_collect()
            .await?)
    }

    /// Normalizes and compares with the stored lookups; `None` for opportunities left as they are.
    async fn diff(
        &self,
        tenant_ctx: &TenantContext,
        summary: &mut RunSummary,
        with_offers: Vec<(Opportunity, Option<Vec<Offer>>)>,
        source: Source,
    ) -> Result<Vec<Option<StoredOffers>>, SyncError> {
        let ids: Vec<String> = with_offers.iter().map(|(o, _)| o.id.clone()).collect();
        let previous: HashMap<String, _> = self
            .store
            .lookups(&tenant_ctx.tenant, &ids)
            .await?
            .into_iter()
            .map(|l| (l.opportunity_id.clone(), l))
            .collect();
        let ctx = tenant_ctx.normalize_context(source, self.clock.now_ms());

        let mut changes = Vec::with_capacity(with_offers.len());
        for (opportunity, offers) in with_offers {
            let Some(offers) = offers else {
                summary.skipped.not_found += 1;
                changes.push(None);
                continue;
            };
            summary.offers_read += offers.len() as u64;
            changes.push(diff_one(
                &ctx,
                summary,
                &opportunity,
                &offers,
                previous.get(&opportunity.id),
            ));
        }
        Ok(changes)
    }
}

/// Normalizes one opportunity and plans its writes, counting into the summary.
fn diff_one(
    ctx: &NormalizeContext<'_>,
    summary: &mut RunSummary,
    opportunity: &Opportunity,
    offers: &[Offer],
    previous: Option<&crate::store::OpportunityLookup>,
) -> Option<StoredOffers> {
    let records = normalize_opportunity(ctx, opportunity, offers);
    for record in &records {
        summary
            .unmapped_numeric_fields
            .extend(record.unmapped_numeric.iter().cloned());
    }

    let application = opportunity.application.as_ref().map(|a| a.id.as_str());
    let partition = offer_partition(ctx.tenant, &opportunity.id, application);
    let total = records.len() as u64;
    let change = plan_changes(previous, &opportunity.id, partition, records);

    summary.offers_written += change.upserts.len() as u64;
    summary.offers_unchanged += total - change.upserts.len() as u64;
    summary.offers_deleted += change.deletes.len() as u64;
    (!change.is_noop(previous)).then_some(change)
}

/// The opportunity listings of a plan.
///
/// - full: everything (created inside the window, when one is given);
/// - incremental: updated inside the window (default: since the watermark minus the overlap,
///   until now) plus every active opportunity; without a watermark it is a full run.
fn listings(
    request: &RunRequest,
    watermark: Option<i64>,
    now: i64,
    overlap: i64,
) -> Vec<OpportunityFilter> {
    let windowed = request.since.is_some() || request.until.is_some();
    match request.mode {
        Mode::Full => vec![OpportunityFilter {
            created_at_start: request.since,
            created_at_end: request.until,
            ..OpportunityFilter::default()
        }],
        Mode::Incremental if !windowed && watermark.is_none() => vec![OpportunityFilter::default()],
        Mode::Incremental => vec![
            OpportunityFilter {
                updated_at_start: request.since.or(watermark.map(|w| w - overlap)),
                updated_at_end: Some(request.until.unwrap_or(now)),
                ..OpportunityFilter::default()
            },
            OpportunityFilter {
                archived: Some(false),
                ..OpportunityFilter::default()
            },
        ],
    }
}

/// What a cursor belongs to: the mode and window of the run that left it.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Plan {
    mode: Mode,
    since: Option<i64>,
    until: Option<i64>,
}

impl Plan {
    /// `None` for a cursor left before plans were stored as JSON.
    fn parse(key: &str) -> Option<Plan> {
        serde_json::from_str(key).ok()
    }
}

/// Identifies a plan so only the same request resumes a stored cursor.
fn plan_key(request: &RunRequest) -> String {
    let plan = Plan {
        mode: request.mode,
        since: request.since,
        until: request.until,
    };
    serde_json::to_string(&plan).expect("a plan is plain data")
}

/// The cursor after a page: the next page of this listing, or the first of the next listing.
/// An empty offset means "restart this listing" (after an invalid paging token).
fn advance(mut cursor: Cursor, next: Option<String>) -> Cursor {
    match next {
        Some(offset) if offset.is_empty() => cursor.offset = None,
        Some(offset) => cursor.offset = Some(offset),
        None => {
            cursor.listing += 1;
            cursor.offset = None;
        }
    }
    cursor
}

fn past_deadline(deadline: Option<Instant>, margin: Duration) -> bool {
    deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) <= margin)
}

/// True when the same work may succeed if tried again later (Lever or AWS briefly failing).
pub fn is_transient(err: &SyncError) -> bool {
    match err {
        SyncError::Lever(e) => e.is_transient(),
        SyncError::Store(_) => true,
        SyncError::Secret(crate::error::SecretError::Backend(_)) => true,
        _ => false,
    }
}

fn log_summary(s: &RunSummary) {
    info!(
        event = "backfill_summary", tenant = %s.tenant, mode = s.mode.as_str(), status = s.status.as_str(),
        dry_run = s.dry_run, resumed = s.resumed, opportunities_read = s.opportunities_read,
        opportunities_eligible = s.opportunities_eligible, offers_read = s.offers_read,
        offers_written = s.offers_written, offers_unchanged = s.offers_unchanged,
        offers_deleted = s.offers_deleted, pending_drained = s.pending_drained,
        pending_left = s.pending_left, skipped_ineligible = s.skipped.ineligible,
        skipped_not_found = s.skipped.not_found, api_calls = s.api_calls, duration_ms = s.duration_ms,
        error = s.error.as_deref().unwrap_or(""),
    );
}

#[cfg(test)]
mod tests;
