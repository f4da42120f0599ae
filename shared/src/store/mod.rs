//! Where offers and sync state are kept: one DynamoDB table, keyed as below.
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | offer | `T#<tenant>#APP#<application id>` (or `T#<tenant>#NOAPP#<opportunity id>` for an opportunity without an application) | `OFFER#<offer id>` |
//! | opportunity lookup | `T#<tenant>#OPP#<opportunity id>` | `LOOKUP` |
//! | watermark / cursor | `T#<tenant>#STATE` | `WATERMARK` / `CURSOR` |
//! | OAuth refresh lease (owner, expiry, digest of the last stored refresh token) | `T#<tenant>#STATE` | `OAUTH_LEASE` |
//! | webhook delivery claim (TTL `expires_at`) | `T#<tenant>#DELIVERY#<sha-256 hex of token and triggeredAt>` | `DELIVERY` |
//! | pending refresh marker | `T#<tenant>#PENDING` | `OPP#<opportunity id>` |
//!
//! The lookup maps an opportunity to the partition holding its offers and the content hash of
//! each, so a `candidateDeleted` event can remove records without asking Lever, and unchanged
//! offers are skipped without reading them.
//!
//! A delivery claim de-duplicates webhook deliveries: it holds the hash of the delivery token
//! (never the token), a state (`processing` with a lease, or `done`) and `expires_at` in epoch
//! seconds for DynamoDB's TTL. A pending marker names an opportunity a webhook could not
//! refresh; the backfill refreshes it and then clears the marker.

pub mod dynamo;
pub mod lease;
pub mod memory;

pub use dynamo::DynamoStore;
pub use memory::MemoryStore;

use crate::ports::OpportunityFilter;
use crate::record::{KeyedBy, OfferRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the store remembers about one opportunity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityLookup {
    pub opportunity_id: String,
    /// The `pk` of the partition holding this opportunity's offers.
    pub partition: String,
    /// Offer id → content hash of the stored record.
    pub offers: BTreeMap<String, String>,
}

/// The new state of one opportunity, ready to apply.
#[derive(Debug, Clone, Default)]
pub struct StoredOffers {
    pub lookup: OpportunityLookup,
    /// Records that are new or changed (unchanged ones are left out).
    pub upserts: Vec<OfferRecord>,
    /// Offers to delete, as (partition, offer id): gone from Lever, or moved partition.
    pub deletes: Vec<(String, String)>,
}

/// Where a backfill run stopped, so the next invocation continues from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Identifies the plan (mode and window); a cursor is only resumed by the same plan.
    pub plan: String,
    /// The opportunity listings of the plan, walked in order.
    pub listings: Vec<OpportunityFilter>,
    /// Index of the listing being walked.
    pub listing: usize,
    /// Lever's paging token for the next page, byte-for-byte.
    pub offset: Option<String>,
    /// When the interrupted run started (becomes the watermark when the plan completes).
    pub run_started_at: i64,
    /// Opportunities deleted in Lever at or after this time are removed once the listings are
    /// done (`None`: the plan reads no deletions, e.g. a windowed run).
    #[serde(default)]
    pub deletions_since: Option<i64>,
}

/// The partition key of an opportunity's offers.
pub fn offer_partition(tenant: &str, opportunity_id: &str, application_id: Option<&str>) -> String {
    match application_id {
        Some(app) => format!("T#{tenant}#APP#{app}"),
        None => format!("T#{tenant}#NOAPP#{opportunity_id}"),
    }
}

/// The partition key of a record.
pub fn record_partition(record: &OfferRecord) -> String {
    let app = match record.keyed_by {
        KeyedBy::Application => record.application_id.as_deref(),
        KeyedBy::Opportunity => None,
    };
    offer_partition(&record.tenant, &record.opportunity_id, app)
}

/// Sort key of an offer item.
pub fn offer_sort_key(offer_id: &str) -> String {
    format!("OFFER#{offer_id}")
}

/// Partition key of an opportunity's lookup item.
pub fn lookup_partition(tenant: &str, opportunity_id: &str) -> String {
    format!("T#{tenant}#OPP#{opportunity_id}")
}

/// Partition key of a tenant's state items.
pub fn state_partition(tenant: &str) -> String {
    format!("T#{tenant}#STATE")
}

/// Compares an opportunity's fresh records with what is stored and returns what to write.
pub fn plan_changes(
    previous: Option<&OpportunityLookup>,
    opportunity_id: &str,
    partition: String,
    records: Vec<OfferRecord>,
) -> StoredOffers {
    let moved = previous.is_some_and(|p| p.partition != partition);
    let unchanged = |r: &OfferRecord| {
        !moved
            && previous.and_then(|p| p.offers.get(&r.offer_id)) == Some(&r.provenance.content_hash)
    };

    let lookup = OpportunityLookup {
        opportunity_id: opportunity_id.to_owned(),
        partition: partition.clone(),
        offers: records
            .iter()
            .map(|r| (r.offer_id.clone(), r.provenance.content_hash.clone()))
            .collect(),
    };
    let deletes = previous
        .map(|p| {
            p.offers
                .keys()
                .filter(|id| moved || !lookup.offers.contains_key(*id))
                .map(|id| (p.partition.clone(), id.clone()))
                .collect()
        })
        .unwrap_or_default();
    let upserts = records.into_iter().filter(|r| !unchanged(r)).collect();

    StoredOffers {
        lookup,
        upserts,
        deletes,
    }
}

impl StoredOffers {
    /// True when applying would change nothing.
    pub fn is_noop(&self, previous: Option<&OpportunityLookup>) -> bool {
        let same_lookup = match previous {
            Some(previous) => previous == &self.lookup,
            None => self.lookup.offers.is_empty(),
        };
        self.upserts.is_empty() && self.deletes.is_empty() && same_lookup
    }
}

/// Partition key of a webhook delivery claim; `token_hash` is the SHA-256 hex of the token.
pub fn delivery_partition(tenant: &str, token_hash: &str) -> String {
    format!("T#{tenant}#DELIVERY#{token_hash}")
}

/// Sort key of a webhook delivery claim.
pub const DELIVERY_SORT_KEY: &str = "DELIVERY";

/// Partition key of a tenant's pending refresh markers.
pub fn pending_partition(tenant: &str) -> String {
    format!("T#{tenant}#PENDING")
}

/// Sort key of one opportunity's pending refresh marker.
pub fn pending_sort_key(opportunity_id: &str) -> String {
    format!("OPP#{opportunity_id}")
}

/// A request to claim a webhook delivery for processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryClaim {
    /// SHA-256 hex of the delivery token.
    pub token_hash: String,
    /// Now, epoch ms.
    pub now_ms: i64,
    /// Until when (epoch ms) an unfinished claim blocks other attempts of the same delivery;
    /// after that a retry may take it over (the first attempt died mid-way).
    pub lease_until_ms: i64,
    /// When DynamoDB may delete the item (epoch seconds, the table's TTL attribute).
    pub expires_at: i64,
}

/// What a claim attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The caller owns the delivery now and must complete or release it.
    Claimed,
    /// The delivery was processed before: a duplicate.
    AlreadyDone,
    /// Another attempt is processing it right now (its lease has not run out).
    InProgress,
}

/// An opportunity a webhook could not refresh; the backfill finishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRefresh {
    pub opportunity_id: String,
    /// First and latest failed delivery, epoch ms.
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    /// Failed deliveries so far; also the marker's version (see `OfferStore::clear_pending`).
    pub attempts: u64,
    /// Why the last attempt failed, as a short category (e.g. `lever_unavailable`).
    pub reason: String,
}
