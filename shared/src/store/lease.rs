//! The OAuth refresh lease ([`TokenLease`]): one item per tenant, `pk = T#<tenant>#STATE`,
//! `sk = OAUTH_LEASE`, holding `owner`, `lease_until` (epoch ms) and `rotated` (SHA-256 of the
//! refresh token last stored, never the token itself). `lease_until` is deliberately not the
//! table's TTL attribute `expires_at` (epoch seconds): DynamoDB would delete the item, and
//! `rotated` with it.
//!
//! Taking the lease is one conditional UpdateItem: it succeeds when the item is new, expired,
//! or already this owner's. Releasing sets `lease_until` to 0 on condition that the owner still
//! holds it, so a holder whose lease ran out cannot release its successor's. The item is kept
//! between refreshes because `rotated` must outlive the lease.

use super::state_partition;
use crate::error::StoreError;
use crate::ports::{LeaseGrant, TokenLease};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::collections::HashMap;
use std::sync::Mutex;

/// Sort key of the lease item.
pub const LEASE_SORT_KEY: &str = "OAUTH_LEASE";

/// The lease in the offers table.
#[derive(Clone)]
pub struct DynamoLease {
    client: Client,
    table: String,
}

impl DynamoLease {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoLease {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl TokenLease for DynamoLease {
    async fn try_acquire(
        &self,
        tenant: &str,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Option<LeaseGrant>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(state_partition(tenant)))
            .key("sk", AttributeValue::S(LEASE_SORT_KEY.to_owned()))
            .update_expression("SET #owner = :owner, lease_until = :until")
            .condition_expression(
                "attribute_not_exists(pk) OR lease_until < :now OR #owner = :owner",
            )
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .expression_attribute_values(":now", number(now_ms))
            .expression_attribute_values(":until", number(now_ms.saturating_add(ttl_ms)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;

        match result {
            Ok(output) => Ok(Some(grant(output.attributes.unwrap_or_default()))),
            Err(err) if is_conditional_failure(&err) => Ok(None),
            Err(err) => Err(super::dynamo::dynamo_error("UpdateItem", err)),
        }
    }

    async fn release(
        &self,
        tenant: &str,
        owner: &str,
        rotated: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(state_partition(tenant)))
            .key("sk", AttributeValue::S(LEASE_SORT_KEY.to_owned()))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .expression_attribute_values(":zero", number(0));

        request = match rotated {
            Some(digest) => request
                .update_expression("SET lease_until = :zero, rotated = :rotated")
                .expression_attribute_values(":rotated", AttributeValue::S(digest.to_owned())),
            None => request.update_expression("SET lease_until = :zero"),
        };

        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) if is_conditional_failure(&err) => {
                tracing::warn!(
                    event = "oauth_lease_lost",
                    tenant,
                    "the refresh lease expired before release"
                );
                Ok(())
            }
            Err(err) => Err(super::dynamo::dynamo_error("UpdateItem", err)),
        }
    }
}

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn grant(item: HashMap<String, AttributeValue>) -> LeaseGrant {
    LeaseGrant {
        rotated: item
            .get("rotated")
            .and_then(|value| value.as_s().ok())
            .cloned(),
    }
}

fn is_conditional_failure<R>(
    err: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::update_item::UpdateItemError,
        R,
    >,
) -> bool {
    err.as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}

/// The lease in memory, with the same rules, for unit tests and single-process use.
#[derive(Debug, Default)]
pub struct MemoryLease {
    items: Mutex<HashMap<String, LeaseItem>>,
}

#[derive(Debug, Clone, Default)]
struct LeaseItem {
    owner: String,
    lease_until: i64,
    rotated: Option<String>,
}

impl MemoryLease {
    /// The owner holding the tenant's lease at `now_ms`, if any.
    pub fn holder(&self, tenant: &str, now_ms: i64) -> Option<String> {
        let items = self.items.lock().expect("lease lock");
        items
            .get(tenant)
            .filter(|item| item.lease_until >= now_ms)
            .map(|item| item.owner.clone())
    }
}

#[async_trait]
impl TokenLease for MemoryLease {
    async fn try_acquire(
        &self,
        tenant: &str,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Option<LeaseGrant>, StoreError> {
        let mut items = self.items.lock().expect("lease lock");
        let item = items.entry(tenant.to_owned()).or_default();

        let free = item.owner.is_empty() || item.lease_until < now_ms || item.owner == owner;
        if !free {
            return Ok(None);
        }

        item.owner = owner.to_owned();
        item.lease_until = now_ms.saturating_add(ttl_ms);
        Ok(Some(LeaseGrant {
            rotated: item.rotated.clone(),
        }))
    }

    async fn release(
        &self,
        tenant: &str,
        owner: &str,
        rotated: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut items = self.items.lock().expect("lease lock");
        let Some(item) = items.get_mut(tenant).filter(|item| item.owner == owner) else {
            return Ok(());
        };

        item.lease_until = 0;
        if let Some(digest) = rotated {
            item.rotated = Some(digest.to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_owner_at_a_time_until_release_or_expiry() {
        let lease = MemoryLease::default();

        let first = lease
            .try_acquire("acme", "a", 1_000, 500)
            .await
            .expect("ok");
        let second = lease
            .try_acquire("acme", "b", 1_200, 500)
            .await
            .expect("ok");
        let other_tenant = lease
            .try_acquire("globex", "b", 1_200, 500)
            .await
            .expect("ok");
        assert_eq!(first, Some(LeaseGrant { rotated: None }));
        assert_eq!(second, None);
        assert!(other_tenant.is_some());
        assert_eq!(lease.holder("acme", 1_200).as_deref(), Some("a"));

        let after_expiry = lease
            .try_acquire("acme", "b", 1_501, 500)
            .await
            .expect("ok");
        assert!(after_expiry.is_some());

        lease.release("acme", "a", Some("stale")).await.expect("ok");
        assert_eq!(lease.holder("acme", 1_600).as_deref(), Some("b"));

        lease.release("acme", "b", Some("d-1")).await.expect("ok");
        let next = lease
            .try_acquire("acme", "a", 1_700, 500)
            .await
            .expect("ok");
        assert_eq!(
            next,
            Some(LeaseGrant {
                rotated: Some("d-1".to_owned())
            })
        );
    }
}
