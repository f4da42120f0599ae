//! Where offers and sync state are kept: one DynamoDB table, keyed as below.
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | offer | `T#<tenant>#APP#<application id>` (or `T#<tenant>#NOAPP#<opportunity id>` for an opportunity without an application) | `OFFER#<offer id>` |
//! | opportunity lookup | `T#<tenant>#OPP#<opportunity id>` | `LOOKUP` |
//! | watermark / cursor | `T#<tenant>#STATE` | `WATERMARK` / `CURSOR` |
//!
//! The lookup maps an opportunity to the partition holding its offers and the content hash of
//! each, so a `candidateDeleted` event can remove records without asking Lever, and unchanged
//! offers are skipped without reading them.

pub mod dynamo;
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
