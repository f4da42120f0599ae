//! An in-memory [`OfferStore`] for unit tests. It follows the same keying as DynamoDB.

use super::{Cursor, OpportunityLookup, StoredOffers, offer_sort_key, record_partition};
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
        let mut state = self.lock();

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
        let mut state = self.lock();
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
}
