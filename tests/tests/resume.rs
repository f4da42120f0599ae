//! A large account synced across many short invocations ends identical to one long run.

mod common;

use common::Stack;
use lever_sim::SimConfig;
use shared::sync::{Mode, RunStatus};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Set `RESUME_OPPORTUNITIES=20000` for the full-size check (`make test-large`).
fn opportunities() -> usize {
    std::env::var("RESUME_OPPORTUNITIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

fn big_sim() -> SimConfig {
    SimConfig {
        opportunities: opportunities(),
        rate_per_sec: 5_000.0,
        burst: 5_000,
        ..SimConfig::default()
    }
}

/// Offer id → content hash with the tenant name blanked: what "identical table" means for
/// two tenants, provenance (sync time) aside.
async fn table_state(stack: &Stack) -> BTreeMap<String, String> {
    let mut state = BTreeMap::new();
    for mut record in stack.records().await {
        record.tenant = String::new();
        state.insert(
            record.offer_id.clone(),
            shared::normalize::content_hash(&record),
        );
    }
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_stopped_every_few_pages_matches_an_uninterrupted_run() {
    let env = [("DEADLINE_MARGIN_MS", "0"), ("LEVER_CONCURRENCY", "16")];
    let whole = Stack::with_env(big_sim(), 4_000.0, 4_000, &env).await;
    let pieces = Stack::with_env(big_sim(), 4_000.0, 4_000, &env).await;

    let uninterrupted = whole.syncer().run(&whole.request(Mode::Full), None).await;
    assert_eq!(
        uninterrupted.status,
        RunStatus::Complete,
        "{:?}",
        uninterrupted.error
    );

    let (mut invocations, mut written) = (0, 0);
    loop {
        invocations += 1;
        assert!(invocations < 1_000, "the interrupted sync never finished");
        let deadline = Instant::now() + Duration::from_millis(300);
        let summary = pieces
            .syncer()
            .run(&pieces.request(Mode::Full), Some(deadline))
            .await;

        written += summary.offers_written;
        match summary.status {
            RunStatus::Partial => continue,
            RunStatus::Complete => break,
            RunStatus::Failed => panic!("{:?}", summary.error),
        }
    }

    assert!(
        invocations >= 5,
        "the run was cut into pieces: {invocations} invocations"
    );
    assert_eq!(
        written, uninterrupted.offers_written,
        "every offer written exactly once"
    );
    let (a, b) = (table_state(&whole).await, table_state(&pieces).await);
    assert_eq!(a.len(), whole.sim.truth().offers.len());
    let differing = a.keys().filter(|k| a.get(*k) != b.get(*k)).count();
    assert_eq!((differing, a.len()), (0, b.len()), "tables differ");
    println!(
        "{} opportunities: {} offers, {invocations} invocations",
        opportunities(),
        a.len()
    );
}
