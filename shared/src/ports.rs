//! The narrow traits the sync depends on: Lever, the offer store, secrets and the clock.
//!
//! Each has a production adapter (`lever::HttpLever`, `store::DynamoStore`,
//! `secrets::SecretsManagerSource`, `SystemClock`) and an in-memory double for unit tests.

use crate::error::{LeverError, SecretError, StoreError};
use crate::lever::model::{
    ArchiveReason, DeletedOpportunity, Offer, Opportunity, Page, Posting, Requisition,
    RequisitionField, Stage,
};
use crate::record::OfferRecord;
use crate::secrets::TenantSecret;
use crate::store::{
    ClaimOutcome, Cursor, DeliveryClaim, OpportunityLookup, PendingRefresh, StoredOffers,
};
use async_trait::async_trait;
use std::time::{SystemTime, UNIX_EPOCH};

/// Which opportunities a list call asks for (all bounds inclusive, epoch ms).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpportunityFilter {
    pub updated_at_start: Option<i64>,
    pub updated_at_end: Option<i64>,
    pub created_at_start: Option<i64>,
    pub created_at_end: Option<i64>,
    /// `Some(false)` lists only active opportunities.
    pub archived: Option<bool>,
}

/// The Lever Data API, as the sync uses it. Implementations page internally where a method
/// returns a whole list, and count every HTTP request they make.
#[async_trait]
pub trait LeverApi: Send + Sync {
    async fn stages(&self) -> Result<Vec<Stage>, LeverError>;
    async fn archive_reasons(&self) -> Result<Vec<ArchiveReason>, LeverError>;
    async fn postings(&self) -> Result<Vec<Posting>, LeverError>;
    async fn requisitions(&self) -> Result<Vec<Requisition>, LeverError>;
    async fn requisition_fields(&self) -> Result<Vec<RequisitionField>, LeverError>;

    /// One page of opportunities (`confidentiality=all`, `expand=applications`).
    async fn opportunities_page(
        &self,
        filter: &OpportunityFilter,
        offset: Option<&str>,
    ) -> Result<Page<Opportunity>, LeverError>;

    /// One opportunity, or `None` when Lever answers 404.
    async fn opportunity(&self, id: &str) -> Result<Option<Opportunity>, LeverError>;

    /// All offers of one opportunity, or `None` when Lever answers 404.
    async fn offers(&self, opportunity_id: &str) -> Result<Option<Vec<Offer>>, LeverError>;

    /// One page of opportunities deleted at or after `since` (epoch ms).
    async fn deleted_page(
        &self,
        since: i64,
        offset: Option<&str>,
    ) -> Result<Page<DeletedOpportunity>, LeverError>;

    /// HTTP requests made so far, retries included.
    fn calls(&self) -> u64;
}

/// Where normalized offers and the sync's own state live.
#[async_trait]
pub trait OfferStore: Send + Sync {
    /// The stored lookups (opportunity → application key and offer hashes) of these opportunities.
    async fn lookups(
        &self,
        tenant: &str,
        opportunity_ids: &[String],
    ) -> Result<Vec<OpportunityLookup>, StoreError>;

    /// Writes the new state of some opportunities: offer items first, then their lookups, so a
    /// lookup never names an offer that was not written.
    async fn apply(&self, tenant: &str, changes: &[StoredOffers]) -> Result<(), StoreError>;

    /// Removes every record of one opportunity; returns how many offer items went.
    async fn remove_opportunity(
        &self,
        tenant: &str,
        opportunity_id: &str,
    ) -> Result<usize, StoreError>;

    async fn watermark(&self, tenant: &str) -> Result<Option<i64>, StoreError>;
    async fn set_watermark(&self, tenant: &str, at: i64) -> Result<(), StoreError>;

    async fn cursor(&self, tenant: &str) -> Result<Option<Cursor>, StoreError>;
    async fn set_cursor(&self, tenant: &str, cursor: Option<&Cursor>) -> Result<(), StoreError>;

    /// Every offer record of one tenant (used by tests, the demo summary and audits).
    async fn scan_offers(&self, tenant: &str) -> Result<Vec<OfferRecord>, StoreError>;

    /// Claims a webhook delivery with a conditional write: succeeds when the delivery is new,
    /// or when an earlier attempt's lease ran out before it completed.
    async fn claim_delivery(
        &self,
        tenant: &str,
        claim: &DeliveryClaim,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Marks a claimed delivery as processed; later copies are duplicates until `expires_at`
    /// (epoch seconds).
    async fn complete_delivery(
        &self,
        tenant: &str,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<(), StoreError>;

    /// Gives a claim up after a failure, so Lever's retry of the delivery is processed.
    async fn release_delivery(&self, tenant: &str, token_hash: &str) -> Result<(), StoreError>;

    /// Records (or bumps) a pending refresh marker for an opportunity a webhook could not finish.
    async fn put_pending(
        &self,
        tenant: &str,
        opportunity_id: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;

    /// Every pending refresh marker of a tenant.
    async fn pending(&self, tenant: &str) -> Result<Vec<PendingRefresh>, StoreError>;

    /// Deletes a marker if it is still the version read (same `attempts`); returns `false`
    /// when a newer failure bumped it meanwhile, so that one is kept for the next run.
    async fn clear_pending(
        &self,
        tenant: &str,
        marker: &PendingRefresh,
    ) -> Result<bool, StoreError>;
}

/// Reads a tenant's secret document.
#[async_trait]
pub trait SecretSource: Send + Sync {
    async fn tenant_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError>;

    /// Reads the secret again, bypassing any cache (after a signature token was rotated).
    /// Sources without a cache read as usual.
    async fn reload_tenant_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        self.tenant_secret(tenant).await
    }
}

/// Wall-clock time in epoch milliseconds.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let elapsed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Reads a tenant's secret past any cache, and rotates the OAuth refresh token kept in it.
#[async_trait]
pub trait SecretWriter: Send + Sync {
    /// The secret as stored right now; a cached copy is replaced by it.
    async fn reload_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError>;

    /// Replaces `lever.oauth.refresh_token` in the stored document, keeping every other field.
    async fn store_refresh_token(
        &self,
        tenant: &str,
        refresh_token: &secrecy::SecretString,
    ) -> Result<(), SecretError>;
}

/// A short, exclusive claim on refreshing one tenant's OAuth tokens, shared by every process
/// (Lambda invocations and the tasks inside them) that syncs the tenant.
#[async_trait]
pub trait TokenLease: Send + Sync {
    /// Takes the lease for `owner` until `now_ms + ttl_ms`, unless another owner holds one
    /// that has not expired (`Ok(None)`).
    async fn try_acquire(
        &self,
        tenant: &str,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Option<LeaseGrant>, StoreError>;

    /// Gives the lease up. `rotated` is the digest of the refresh token this holder just
    /// stored, so the next holder can tell whether its read of the secret is current.
    async fn release(
        &self,
        tenant: &str,
        owner: &str,
        rotated: Option<&str>,
    ) -> Result<(), StoreError>;
}

/// What the lease remembers from its previous holders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseGrant {
    /// SHA-256 (hex) of the refresh token the last rotation stored, if one was recorded.
    pub rotated: Option<String>,
}
