//! The DynamoDB adapter of [`OfferStore`].

use super::{
    ClaimOutcome, Cursor, DELIVERY_SORT_KEY, DeliveryClaim, OpportunityLookup, PendingRefresh,
    StoredOffers, delivery_partition, lookup_partition, offer_sort_key, pending_partition,
    pending_sort_key, record_partition, state_partition,
};
use crate::error::StoreError;
use crate::ports::OfferStore;
use crate::record::OfferRecord;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, KeyType, KeysAndAttributes,
    PutRequest, ScalarAttributeType, WriteRequest,
};
use std::collections::HashMap;
use std::time::Duration;

/// DynamoDB accepts at most 25 requests in one BatchWriteItem (moto accepts more: we don't rely on it).
pub const MAX_BATCH_WRITE: usize = 25;
/// DynamoDB accepts at most 100 keys in one BatchGetItem.
pub const MAX_BATCH_GET: usize = 100;
/// Retries of unprocessed batch items before the call counts as failed.
const MAX_UNPROCESSED_ROUNDS: u32 = 8;

type Item = HashMap<String, AttributeValue>;

/// Offers and sync state in one DynamoDB table (`pk`, `sk` strings).
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// Items handed to BatchWriteItem in chunks of at most 25, retrying unprocessed ones.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(MAX_BATCH_WRITE) {
            let mut pending = chunk.to_vec();
            let mut round = 0;

            while !pending.is_empty() {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| dynamo_error("BatchWriteItem", e))?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut items| items.remove(&self.table))
                    .unwrap_or_default();
                round += 1;
                backoff_unprocessed(round, pending.len()).await?;
            }
        }
        Ok(())
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo_error("GetItem", e))?;
        Ok(output.item)
    }

    async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| dynamo_error("PutItem", e))?;
        Ok(())
    }

    async fn delete(&self, pk: String, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .send()
            .await
            .map_err(|e| dynamo_error("DeleteItem", e))?;
        Ok(())
    }

    /// The conditional put of a delivery claim; `Ok(false)` when the condition failed.
    async fn put_claim(&self, tenant: &str, claim: &DeliveryClaim) -> Result<bool, StoreError> {
        let mut item = key(
            delivery_partition(tenant, &claim.token_hash),
            DELIVERY_SORT_KEY,
        );
        item.insert("item_type".into(), AttributeValue::S("delivery".into()));
        item.insert("state".into(), AttributeValue::S("processing".into()));
        item.insert("claimed_at".into(), number(claim.now_ms));
        item.insert("lease_until".into(), number(claim.lease_until_ms));
        item.insert("expires_at".into(), number(claim.expires_at));

        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR (#state = :processing AND lease_until < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":processing", AttributeValue::S("processing".into()))
            .expression_attribute_values(":now", number(claim.now_ms))
            .send()
            .await;

        match result {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(dynamo_error("PutItem", err)),
        }
    }

    async fn batch_get_lookups(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut pending = keys;
        let mut round = 0;

        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Dynamo {
                    operation: "BatchGetItem",
                    message: e.to_string(),
                })?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| dynamo_error("BatchGetItem", e))?;

            found.extend(
                output
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default(),
            );
            pending = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            round += 1;
            backoff_unprocessed(round, pending.len()).await?;
        }
        Ok(found)
    }
}

#[async_trait]
impl OfferStore for DynamoStore {
    async fn lookups(
        &self,
        tenant: &str,
        opportunity_ids: &[String],
    ) -> Result<Vec<OpportunityLookup>, StoreError> {
        let mut lookups = Vec::with_capacity(opportunity_ids.len());

        for chunk in opportunity_ids.chunks(MAX_BATCH_GET) {
            let keys = chunk
                .iter()
                .map(|id| key(lookup_partition(tenant, id), "LOOKUP"))
                .collect();
            for item in self.batch_get_lookups(keys).await? {
                lookups.push(from_item(item)?);
            }
        }
        Ok(lookups)
    }

    async fn apply(&self, tenant: &str, changes: &[StoredOffers]) -> Result<(), StoreError> {
        let mut offer_requests = Vec::new();
        for change in changes {
            for record in &change.upserts {
                offer_requests.push(put_request(offer_item(record)?)?);
            }
            for (partition, offer_id) in &change.deletes {
                offer_requests.push(delete_request(
                    partition.clone(),
                    &offer_sort_key(offer_id),
                )?);
            }
        }
        self.batch_write(offer_requests).await?;

        let lookup_requests = changes
            .iter()
            .map(|change| put_request(lookup_item(tenant, &change.lookup)?))
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(lookup_requests).await
    }

    async fn remove_opportunity(
        &self,
        tenant: &str,
        opportunity_id: &str,
    ) -> Result<usize, StoreError> {
        let Some(item) = self
            .get(lookup_partition(tenant, opportunity_id), "LOOKUP")
            .await?
        else {
            return Ok(0);
        };
        let lookup: OpportunityLookup = from_item(item)?;

        let deletes = lookup
            .offers
            .keys()
            .map(|id| delete_request(lookup.partition.clone(), &offer_sort_key(id)))
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(deletes).await?;
        self.delete(lookup_partition(tenant, opportunity_id), "LOOKUP")
            .await?;
        Ok(lookup.offers.len())
    }

    async fn watermark(&self, tenant: &str) -> Result<Option<i64>, StoreError> {
        let item = self.get(state_partition(tenant), "WATERMARK").await?;
        let value = item
            .as_ref()
            .and_then(|i| i.get("at"))
            .and_then(|v| v.as_n().ok());
        value
            .map(|n| {
                n.parse()
                    .map_err(|_| StoreError::Corrupt("watermark".into()))
            })
            .transpose()
    }

    async fn set_watermark(&self, tenant: &str, at: i64) -> Result<(), StoreError> {
        let mut item = key(state_partition(tenant), "WATERMARK");
        item.insert("at".into(), AttributeValue::N(at.to_string()));
        self.put(item).await
    }

    async fn cursor(&self, tenant: &str) -> Result<Option<Cursor>, StoreError> {
        let item = self.get(state_partition(tenant), "CURSOR").await?;
        item.map(from_item).transpose()
    }

    async fn set_cursor(&self, tenant: &str, cursor: Option<&Cursor>) -> Result<(), StoreError> {
        match cursor {
            None => self.delete(state_partition(tenant), "CURSOR").await,
            Some(cursor) => {
                let mut item = to_item(cursor)?;
                item.extend(key(state_partition(tenant), "CURSOR"));
                self.put(item).await
            }
        }
    }

    async fn scan_offers(&self, tenant: &str) -> Result<Vec<OfferRecord>, StoreError> {
        let mut records = Vec::new();
        let mut start: Option<Item> = None;

        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(pk, :p) AND begins_with(sk, :o)")
                .expression_attribute_values(":p", AttributeValue::S(format!("T#{tenant}#")))
                .expression_attribute_values(":o", AttributeValue::S("OFFER#".into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| dynamo_error("Scan", e))?;

            for item in output.items.unwrap_or_default() {
                records.push(from_item(item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(records);
            }
        }
    }

    async fn claim_delivery(
        &self,
        tenant: &str,
        claim: &DeliveryClaim,
    ) -> Result<ClaimOutcome, StoreError> {
        if self.put_claim(tenant, claim).await? {
            return Ok(ClaimOutcome::Claimed);
        }

        // The condition failed: someone holds the claim. Its state says done or in progress
        // (an item deleted meanwhile counts as in progress: Lever's next retry will tell).
        let held = self
            .get(
                delivery_partition(tenant, &claim.token_hash),
                DELIVERY_SORT_KEY,
            )
            .await?;
        let done = held
            .as_ref()
            .and_then(|item| item.get("state"))
            .and_then(|v| v.as_s().ok())
            .is_some_and(|state| state == "done");
        Ok(if done {
            ClaimOutcome::AlreadyDone
        } else {
            ClaimOutcome::InProgress
        })
    }

    async fn complete_delivery(
        &self,
        tenant: &str,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut item = key(delivery_partition(tenant, token_hash), DELIVERY_SORT_KEY);
        item.insert("item_type".into(), AttributeValue::S("delivery".into()));
        item.insert("state".into(), AttributeValue::S("done".into()));
        item.insert("expires_at".into(), number(expires_at));
        self.put(item).await
    }

    async fn release_delivery(&self, tenant: &str, token_hash: &str) -> Result<(), StoreError> {
        self.delete(delivery_partition(tenant, token_hash), DELIVERY_SORT_KEY)
            .await
    }

    async fn put_pending(
        &self,
        tenant: &str,
        opportunity_id: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pending_partition(tenant)))
            .key("sk", AttributeValue::S(pending_sort_key(opportunity_id)))
            .update_expression(
                "SET opportunity_id = :id, item_type = :type, reason = :reason, \
                 first_seen_at = if_not_exists(first_seen_at, :now), last_seen_at = :now \
                 ADD attempts :one",
            )
            .expression_attribute_values(":id", AttributeValue::S(opportunity_id.to_owned()))
            .expression_attribute_values(":type", AttributeValue::S("pending".into()))
            .expression_attribute_values(":reason", AttributeValue::S(reason.to_owned()))
            .expression_attribute_values(":now", number(now_ms))
            .expression_attribute_values(":one", number(1))
            .send()
            .await
            .map_err(|e| dynamo_error("UpdateItem", e))?;
        Ok(())
    }

    async fn pending(&self, tenant: &str) -> Result<Vec<PendingRefresh>, StoreError> {
        let mut markers = Vec::new();
        let mut start: Option<Item> = None;

        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pending_partition(tenant)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| dynamo_error("Query", e))?;

            for item in output.items.unwrap_or_default() {
                markers.push(from_item(item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(markers);
            }
        }
    }

    async fn clear_pending(
        &self,
        tenant: &str,
        marker: &PendingRefresh,
    ) -> Result<bool, StoreError> {
        let attempts = i64::try_from(marker.attempts).unwrap_or(i64::MAX);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pending_partition(tenant)))
            .key(
                "sk",
                AttributeValue::S(pending_sort_key(&marker.opportunity_id)),
            )
            .condition_expression("attempts = :attempts")
            .expression_attribute_values(":attempts", number(attempts))
            .send()
            .await;

        match result {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(dynamo_error("DeleteItem", err)),
        }
    }
}

/// Creates the table as the SAM template does (for local stacks and tests).
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key_element = |name: &str, kind| {
        aws_sdk_dynamodb::types::KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let invalid = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Dynamo {
        operation: "CreateTable",
        message: e.to_string(),
    };

    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk").map_err(invalid)?)
        .attribute_definitions(attribute("sk").map_err(invalid)?)
        .key_schema(key_element("pk", KeyType::Hash).map_err(invalid)?)
        .key_schema(key_element("sk", KeyType::Range).map_err(invalid)?)
        .send()
        .await
        .map_err(|e| dynamo_error("CreateTable", e))?;
    Ok(())
}

/// The item of one offer: the record's attributes plus its keys and type.
pub fn offer_item(record: &OfferRecord) -> Result<Item, StoreError> {
    let mut item = to_item(record)?;
    item.extend(key(
        record_partition(record),
        &offer_sort_key(&record.offer_id),
    ));
    item.insert("item_type".into(), AttributeValue::S("offer".into()));
    Ok(item)
}

fn lookup_item(tenant: &str, lookup: &OpportunityLookup) -> Result<Item, StoreError> {
    let mut item = to_item(lookup)?;
    item.extend(key(
        lookup_partition(tenant, &lookup.opportunity_id),
        "LOOKUP",
    ));
    item.insert("item_type".into(), AttributeValue::S("lookup".into()));
    Ok(item)
}

fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// True when a conditional write was refused because its condition did not hold.
fn is_condition_failure<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    match err {
        aws_sdk_dynamodb::error::SdkError::ServiceError(service) => {
            service.err().code() == Some("ConditionalCheckFailedException")
        }
        _ => false,
    }
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        ("pk".into(), AttributeValue::S(pk)),
        ("sk".into(), AttributeValue::S(sk.into())),
    ])
}

fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(build_error)?;
    Ok(WriteRequest::builder().put_request(put).build())
}

fn delete_request(pk: String, sk: &str) -> Result<WriteRequest, StoreError> {
    let delete = DeleteRequest::builder()
        .set_key(Some(key(pk, sk)))
        .build()
        .map_err(build_error)?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

fn to_item<T: serde::Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Dynamo {
        operation: "build",
        message: e.to_string(),
    }
}

/// Keeps only the service's error code: SDK messages can quote request values.
pub(crate) fn dynamo_error<E, R>(
    operation: &'static str,
    err: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    let message = match &err {
        aws_sdk_dynamodb::error::SdkError::ServiceError(service) => {
            service.err().code().unwrap_or("service error").to_owned()
        }
        aws_sdk_dynamodb::error::SdkError::TimeoutError(_) => "timeout".to_owned(),
        aws_sdk_dynamodb::error::SdkError::DispatchFailure(_) => "dispatch failure".to_owned(),
        _ => "request failed".to_owned(),
    };
    StoreError::Dynamo { operation, message }
}

/// Waits a little before re-sending unprocessed batch items; gives up after a few rounds.
async fn backoff_unprocessed(round: u32, pending: usize) -> Result<(), StoreError> {
    if pending == 0 {
        return Ok(());
    }
    if round >= MAX_UNPROCESSED_ROUNDS {
        return Err(StoreError::Dynamo {
            operation: "BatchWriteItem",
            message: format!("{pending} items still unprocessed after {round} rounds"),
        });
    }
    tokio::time::sleep(Duration::from_millis(50 << round.min(6))).await;
    Ok(())
}
