//! End-to-end backfill: the engine over HTTP against lever-sim, into DynamoDB on moto.

mod common;

use common::{Stack, check, fast_sim};
use lever_sim::{Faults, KeyedBy};
use shared::record::Outcome;
use shared::sync::{Mode, RunStatus};
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_backfill_equals_the_simulators_ground_truth() {
    let stack = Stack::new(fast_sim(400), 300.0, 300).await;
    let truth = stack.sim.truth();

    let summary = stack.syncer().run(&stack.request(Mode::Full), None).await;

    assert_eq!(summary.status, RunStatus::Complete, "{:?}", summary.error);
    let records = stack.records().await;
    assert_eq!(check::compare(&truth, &records), Vec::<String>::new());
    assert_eq!(summary.offers_written as usize, truth.offers.len());
    assert!(
        truth.offers.iter().any(|o| o.confidential),
        "dataset has confidential offers"
    );
    assert!(
        truth
            .offers
            .iter()
            .any(|o| o.keyed_by == KeyedBy::Opportunity),
        "and application-less ones"
    );
    assert!(
        records.iter().any(|r| r.outcome == Outcome::Superseded)
            && records.iter().any(|r| r.outcome == Outcome::Declined)
    );

    let items = stack.raw_items().await;
    assert_eq!(check::leaked_pii(&truth, &items), Vec::<&str>::new());
    assert!(items.iter().all(|i| !i.contains(stack.sim.api_key())
        && !i.contains("integration-pseudonym-key-0123456789abcdef")));

    let minimum = stack.sim.minimum_calls(Some(&stack.sim.offer_stage_id()));
    assert_eq!(
        summary.api_calls, minimum,
        "one call per page and per eligible opportunity"
    );
    assert_eq!(stack.served("429"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_writes_nothing_and_incremental_writes_exactly_the_changes() {
    let stack = Stack::new(fast_sim(300), 300.0, 300).await;
    let syncer = stack.syncer();
    syncer.run(&stack.request(Mode::Full), None).await;

    let rerun = syncer.run(&stack.request(Mode::Full), None).await;
    assert_eq!(
        (rerun.status, rerun.offers_written, rerun.offers_deleted),
        (RunStatus::Complete, 0, 0)
    );
    assert_eq!(
        rerun.offers_unchanged as usize,
        stack.sim.truth().offers.len()
    );

    let before = stack.records().await;
    let changes = stack.sim.mutate(6);
    assert_eq!(changes.len(), 6);
    let truth = stack.sim.truth();
    let changed: BTreeSet<String> = truth
        .offers
        .iter()
        .filter(|t| {
            let old = before
                .iter()
                .find(|r| r.offer_id == t.offer_id)
                .expect("offer existed");
            !check::compare(
                &lever_sim::Truth {
                    offers: vec![(*t).clone()],
                    pii: vec![],
                },
                std::slice::from_ref(old),
            )
            .is_empty()
        })
        .map(|t| t.offer_id.clone())
        .collect();
    assert!(!changed.is_empty());

    let incremental = stack
        .syncer()
        .run(&stack.request(Mode::Incremental), None)
        .await;

    assert_eq!(
        incremental.status,
        RunStatus::Complete,
        "{:?}",
        incremental.error
    );
    assert_eq!(
        incremental.offers_written as usize,
        changed.len(),
        "exactly the changed offers: {changed:?}"
    );
    assert_eq!(
        check::compare(&truth, &stack.records().await),
        Vec::<String>::new()
    );
    assert!(
        incremental.opportunities_read < rerun.opportunities_read,
        "incremental reads less than history"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storms_of_429_and_5xx_cost_calls_not_data() {
    // Every request in flight shares the storm; a patient retry budget rides it out.
    let stack = Stack::with_env(fast_sim(300), 300.0, 300, &[("LEVER_MAX_ATTEMPTS", "40")]).await;
    let injected = 25 + 12;
    stack.sim.set_faults(Faults {
        storm_429: Some(25),
        fail_5xx: Some(12),
        ..Faults::default()
    });

    let summary = stack.syncer().run(&stack.request(Mode::Full), None).await;

    assert_eq!(summary.status, RunStatus::Complete, "{:?}", summary.error);
    assert_eq!(
        check::compare(&stack.sim.truth(), &stack.records().await),
        Vec::<String>::new()
    );
    let minimum = stack.sim.minimum_calls(Some(&stack.sim.offer_stage_id()));
    assert_eq!(
        stack.served("200"),
        minimum,
        "every successful call was needed"
    );
    assert_eq!(
        summary.api_calls,
        minimum + injected,
        "each fault cost exactly one retry"
    );
    println!(
        "fault overhead: {injected} extra calls on a minimum of {minimum} ({:.1} %)",
        100.0 * injected as f64 / minimum as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_stays_under_levers_default_rate_limit() {
    // Lever's documented limit (10/s, burst 20) against the client's default (8/s, burst 15).
    let sim = lever_sim::SimConfig {
        opportunities: 60,
        ..lever_sim::SimConfig::default()
    };
    let stack = Stack::new(sim, 8.0, 15).await;

    let summary = stack.syncer().run(&stack.request(Mode::Full), None).await;

    assert_eq!(summary.status, RunStatus::Complete, "{:?}", summary.error);
    assert!(
        summary.api_calls > 20,
        "enough calls to pass the burst: {}",
        summary.api_calls
    );
    assert_eq!(stack.served("429"), 0, "no request was rate limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_offers_are_skipped_and_counted() {
    let stack = Stack::new(fast_sim(200), 300.0, 300).await;
    let truth = stack.sim.truth();
    let gone = truth.offers[0].opportunity_id.clone();
    stack.sim.set_faults(Faults {
        not_found_offers: Some(vec![gone.clone()]),
        ..Faults::default()
    });

    let summary = stack.syncer().run(&stack.request(Mode::Full), None).await;

    assert_eq!(summary.status, RunStatus::Complete);
    assert_eq!(summary.skipped.not_found, 1);
    let records = stack.records().await;
    assert!(records.iter().all(|r| r.opportunity_id != gone));
    let expected = truth
        .offers
        .iter()
        .filter(|o| o.opportunity_id != gone)
        .count();
    assert_eq!(records.len(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_longer_than_the_retry_budget_ends_partial_and_the_next_run_completes() {
    let stack = Stack::with_env(fast_sim(400), 300.0, 300, &[("LEVER_MAX_ATTEMPTS", "3")]).await;
    let truth = stack.sim.truth();
    let request = stack.request(Mode::Full);

    // Let the first page land, then make Lever fail every request.
    let run = stack.start_until_checkpoint(&request).await;
    stack.sim.set_faults(Faults {
        fail_5xx: Some(100_000),
        ..Faults::default()
    });
    let first = run.await.expect("run task");
    assert_eq!(first.status, RunStatus::Partial, "{first:?}");
    assert!(
        first
            .error
            .as_deref()
            .is_some_and(|e| e.contains("unavailable")),
        "{first:?}"
    );

    stack.sim.set_faults(Faults {
        fail_5xx: Some(0),
        ..Faults::default()
    });
    let written_before = stack.records().await.len();
    assert!(written_before > 0 && written_before < truth.offers.len());
    let second = stack.syncer().run(&request, None).await;

    assert_eq!(second.status, RunStatus::Complete, "{:?}", second.error);
    assert!(
        second.resumed,
        "the second run continued from the stored cursor"
    );
    assert_eq!(
        check::compare(&truth, &stack.records().await),
        Vec::<String>::new()
    );
    assert_eq!(
        written_before + second.offers_written as usize,
        truth.offers.len(),
        "no offer written twice"
    );
}
