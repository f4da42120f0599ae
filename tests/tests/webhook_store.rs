//! The webhook's store operations on DynamoDB (moto): delivery claims with their lease and
//! TTL, and pending markers with versioned clearing.

mod common;

use common::unique;
use shared::ports::OfferStore;
use shared::store::{ClaimOutcome, DeliveryClaim, DynamoStore};

async fn store() -> (DynamoStore, aws_config::SdkConfig, String) {
    let aws = common::aws().await;
    let table = unique("webhook-store");
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    shared::store::dynamo::create_table(&dynamo, &table)
        .await
        .expect("create table");
    (DynamoStore::new(dynamo, &table), aws, table)
}

fn claim(now: i64) -> DeliveryClaim {
    DeliveryClaim {
        token_hash: "ab".repeat(32),
        now_ms: now,
        lease_until_ms: now + 60_000,
        expires_at: now / 1000 + 90_000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_is_exclusive_until_done_or_released_or_its_lease_runs_out() {
    let (store, aws, table) = store().await;
    let now = 1_700_000_000_000;

    assert_eq!(
        store.claim_delivery("t", &claim(now)).await.expect("claim"),
        ClaimOutcome::Claimed
    );
    assert_eq!(
        store
            .claim_delivery("t", &claim(now + 1))
            .await
            .expect("again"),
        ClaimOutcome::InProgress
    );
    assert_eq!(
        store
            .claim_delivery("other", &claim(now))
            .await
            .expect("other tenant"),
        ClaimOutcome::Claimed
    );

    // A crashed attempt: after the lease another attempt takes over.
    let later = claim(now + 60_001);
    assert_eq!(
        store.claim_delivery("t", &later).await.expect("takeover"),
        ClaimOutcome::Claimed
    );

    store
        .release_delivery("t", &later.token_hash)
        .await
        .expect("release");
    assert_eq!(
        store
            .claim_delivery("t", &claim(now + 60_002))
            .await
            .expect("after release"),
        ClaimOutcome::Claimed
    );

    store
        .complete_delivery("t", &later.token_hash, later.expires_at)
        .await
        .expect("done");
    assert_eq!(
        store
            .claim_delivery("t", &claim(now + 999_999))
            .await
            .expect("dup"),
        ClaimOutcome::AlreadyDone
    );

    let items = common::raw_items(&aws, &table).await;
    let claim_item = items
        .iter()
        .find(|i| i.contains(&format!("T#t#DELIVERY#{}", "ab".repeat(32))))
        .expect("claim item");
    assert!(
        claim_item.contains("expires_at") && claim_item.contains("\"done\""),
        "{claim_item}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_markers_count_attempts_and_clear_only_the_version_read() {
    let (store, _, _) = store().await;

    store
        .put_pending("t", "opp-1", "lever_unavailable", 1_000)
        .await
        .expect("put");
    store
        .put_pending("t", "opp-1", "store_unavailable", 2_000)
        .await
        .expect("bump");
    store
        .put_pending("t", "opp-2", "lever_unavailable", 3_000)
        .await
        .expect("put");
    let markers = store.pending("t").await.expect("pending");

    assert_eq!(markers.len(), 2);
    let first = &markers[0];
    assert_eq!(
        (
            first.opportunity_id.as_str(),
            first.first_seen_at,
            first.last_seen_at,
            first.attempts
        ),
        ("opp-1", 1_000, 2_000, 2)
    );
    assert_eq!(first.reason, "store_unavailable");
    assert!(store.pending("other").await.expect("none").is_empty());

    store
        .put_pending("t", "opp-1", "lever_unavailable", 4_000)
        .await
        .expect("bump again");
    assert!(
        !store
            .clear_pending("t", first)
            .await
            .expect("stale version")
    );
    let current = store.pending("t").await.expect("pending").remove(0);
    assert!(
        store
            .clear_pending("t", &current)
            .await
            .expect("current version")
    );
    assert_eq!(store.pending("t").await.expect("pending").len(), 1);
}
