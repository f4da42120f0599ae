//! An in-memory [`OfferStore`] for unit tests. It follows the same keying as DynamoDB.

use super::{
    ClaimOutcome, Cursor, DeliveryClaim, OpportunityLookup, PendingRefresh, StoredOffers,
    offer_sort_key, record_partition,
};
use crate::error::StoreError;
use crate::ports::OfferStore;
use crate::record::OfferRecord;
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

#[derive(Default)]
struct State {
    offers: BTreeMap<(String, String), OfferRecord>,
    lookups: HashMap<(String, String), OpportunityLookup>,
    watermarks: HashMap<String, i64>,
    cursors: HashMap<String, Cursor>,
    writes: usize,
    deliveries: HashMap<(String, String), StoredClaim>,
    pending: BTreeMap<(String, String), PendingRefresh>,
    fail_writes: bool,
}

/// A delivery claim as DynamoDB would hold it.
#[derive(Debug, Clone, Copy)]
struct StoredClaim {
    done: bool,
    lease_until_ms: i64,
}

/// Offers and state in a map; counts item writes like DynamoDB would bill them.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// Offer and lookup items written or deleted so far.
    pub fn writes(&self) -> usize {
        self.lock().writes
    }

    /// Makes every later write fail like an unavailable DynamoDB (`true`), or work again.
    pub fn fail_writes(&self, fail: bool) {
        self.lock().fail_writes = fail;
    }

    /// Delivery claims held, done or in progress.
    pub fn claims(&self) -> usize {
        self.lock().deliveries.len()
    }

    fn writable(&self) -> Result<std::sync::MutexGuard<'_, State>, StoreError> {
        let state = self.lock();
        if state.fail_writes {
            return Err(StoreError::Dynamo {
                operation: "PutItem",
                message: "injected failure".into(),
            });
        }
        Ok(state)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("memory store lock")
    }
}

#[async_trait]
impl OfferStore for MemoryStore {
    async fn lookups(
        &self,
        tenant: &str,
        ids: &[String],
    ) -> Result<Vec<OpportunityLookup>, StoreError> {
        let state = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| state.lookups.get(&(tenant.into(), id.clone())).cloned())
            .collect())
    }

    async fn apply(&self, tenant: &str, changes: &[StoredOffers]) -> Result<(), StoreError> {
        let mut state = self.writable()?;

        for change in changes {
            for record in &change.upserts {
                let key = (record_partition(record), offer_sort_key(&record.offer_id));
                state.offers.insert(key, record.clone());
            }
            for (partition, offer_id) in &change.deletes {
                state
                    .offers
                    .remove(&(partition.clone(), offer_sort_key(offer_id)));
            }
            let key = (tenant.to_owned(), change.lookup.opportunity_id.clone());
            state.lookups.insert(key, change.lookup.clone());
            state.writes += change.upserts.len() + change.deletes.len() + 1;
        }
        Ok(())
    }

    async fn remove_opportunity(
        &self,
        tenant: &str,
        opportunity_id: &str,
    ) -> Result<usize, StoreError> {
        let mut state = self.writable()?;
        let Some(lookup) = state
            .lookups
            .remove(&(tenant.into(), opportunity_id.into()))
        else {
            return Ok(0);
        };

        for offer_id in lookup.offers.keys() {
            state
                .offers
                .remove(&(lookup.partition.clone(), offer_sort_key(offer_id)));
        }
        state.writes += lookup.offers.len() + 1;
        Ok(lookup.offers.len())
    }

    async fn watermark(&self, tenant: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.lock().watermarks.get(tenant).copied())
    }

    async fn set_watermark(&self, tenant: &str, at: i64) -> Result<(), StoreError> {
        self.lock().watermarks.insert(tenant.to_owned(), at);
        Ok(())
    }

    async fn cursor(&self, tenant: &str) -> Result<Option<Cursor>, StoreError> {
        Ok(self.lock().cursors.get(tenant).cloned())
    }

    async fn set_cursor(&self, tenant: &str, cursor: Option<&Cursor>) -> Result<(), StoreError> {
        let mut state = self.lock();
        match cursor {
            Some(cursor) => state.cursors.insert(tenant.to_owned(), cursor.clone()),
            None => state.cursors.remove(tenant),
        };
        Ok(())
    }

    async fn scan_offers(&self, tenant: &str) -> Result<Vec<OfferRecord>, StoreError> {
        Ok(self
            .lock()
            .offers
            .values()
            .filter(|r| r.tenant == tenant)
            .cloned()
            .collect())
    }

    async fn claim_delivery(
        &self,
        tenant: &str,
        claim: &DeliveryClaim,
    ) -> Result<ClaimOutcome, StoreError> {
        let mut state = self.writable()?;
        let key = (tenant.to_owned(), claim.token_hash.clone());

        let outcome = match state.deliveries.get(&key) {
            Some(held) if held.done => ClaimOutcome::AlreadyDone,
            Some(held) if held.lease_until_ms >= claim.now_ms => ClaimOutcome::InProgress,
            _ => ClaimOutcome::Claimed,
        };
        if outcome == ClaimOutcome::Claimed {
            let held = StoredClaim {
                done: false,
                lease_until_ms: claim.lease_until_ms,
            };
            state.deliveries.insert(key, held);
        }
        Ok(outcome)
    }

    async fn complete_delivery(
        &self,
        tenant: &str,
        token_hash: &str,
        _expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut state = self.writable()?;
        let held = StoredClaim {
            done: true,
            lease_until_ms: 0,
        };
        state
            .deliveries
            .insert((tenant.to_owned(), token_hash.to_owned()), held);
        Ok(())
    }

    async fn release_delivery(&self, tenant: &str, token_hash: &str) -> Result<(), StoreError> {
        let mut state = self.writable()?;
        state
            .deliveries
            .remove(&(tenant.to_owned(), token_hash.to_owned()));
        Ok(())
    }

    async fn put_pending(
        &self,
        tenant: &str,
        opportunity_id: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut state = self.writable()?;
        let key = (tenant.to_owned(), opportunity_id.to_owned());

        let marker = state.pending.entry(key).or_insert_with(|| PendingRefresh {
            opportunity_id: opportunity_id.to_owned(),
            first_seen_at: now_ms,
            last_seen_at: now_ms,
            attempts: 0,
            reason: String::new(),
        });
        marker.last_seen_at = now_ms;
        marker.attempts += 1;
        marker.reason = reason.to_owned();
        Ok(())
    }

    async fn pending(&self, tenant: &str) -> Result<Vec<PendingRefresh>, StoreError> {
        Ok(self
            .lock()
            .pending
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .map(|(_, marker)| marker.clone())
            .collect())
    }

    async fn clear_pending(
        &self,
        tenant: &str,
        marker: &PendingRefresh,
    ) -> Result<bool, StoreError> {
        let mut state = self.writable()?;
        let key = (tenant.to_owned(), marker.opportunity_id.clone());

        let current = state.pending.get(&key).map(|m| m.attempts);
        if current != Some(marker.attempts) {
            return Ok(false);
        }
        state.pending.remove(&key);
        Ok(true)
    }
}
