//! The fault matrix: each Lever or process fault costs API calls, never data. Every case ends
//! with a table equal to the simulator's ground truth and states its API-call overhead against
//! the fault-free minimum (`cargo test -p lever-sim --test faults -- --nocapture` prints them).

mod common;

use common::{Stack, check, fast_sim};
use lever_sim::Faults;
use shared::sync::{Mode, RunStatus, RunSummary};
use std::time::{Duration, Instant};

const OPPORTUNITIES: usize = 300;

/// Runs a full backfill with `faults` injected from the start; returns the summary.
async fn run_with(stack: &Stack, faults: Faults) -> RunSummary {
    stack.sim.set_faults(faults);
    stack.syncer().run(&stack.request(Mode::Full), None).await
}

/// Asserts the table equals the truth and returns the call overhead over the minimum.
async fn assert_exact(stack: &Stack, name: &str, calls: u64) -> u64 {
    assert_eq!(
        check::compare(&stack.sim.truth(), &stack.records().await),
        Vec::<String>::new(),
        "{name}"
    );
    let minimum = stack.sim.minimum_calls(Some(&stack.sim.offer_stage_id()));
    let overhead = calls.saturating_sub(minimum);
    println!("{name}: {calls} API calls, fault-free minimum {minimum}, overhead {overhead}");
    overhead
}

/// A retry budget that outlasts the injected faults.
const PATIENT: [(&str, &str); 1] = [("LEVER_MAX_ATTEMPTS", "40")];

/// Runs a full backfill under a fault Lever answers, then retries succeed: the run completes,
/// the table is exact, and each injected fault costs exactly one extra call.
async fn assert_retried(
    name: &str,
    env: &[(&'static str, &str)],
    faults: Faults,
    extra_calls: u64,
) {
    let stack = Stack::with_env(fast_sim(OPPORTUNITIES), 300.0, 300, env).await;

    let summary = run_with(&stack, faults).await;

    assert_eq!(
        summary.status,
        RunStatus::Complete,
        "{name}: {:?}",
        summary.error
    );
    assert_eq!(
        assert_exact(&stack, name, summary.api_calls).await,
        extra_calls,
        "{name}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_429() {
    let faults = Faults {
        storm_429: Some(40),
        ..Faults::default()
    };
    assert_retried("429 storm of 40", &PATIENT, faults, 40).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_500_and_503() {
    let faults = Faults {
        fail_5xx: Some(30),
        ..Faults::default()
    };
    assert_retried("30 answers of 500/503", &PATIENT, faults, 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_responses_past_the_client_timeout() {
    let env = [("LEVER_TIMEOUT_MS", "200"), ("LEVER_MAX_ATTEMPTS", "10")];
    let faults = Faults {
        slow_ms: Some(1_000),
        slow_count: Some(6),
        ..Faults::default()
    };
    assert_retried("6 responses slower than the timeout", &env, faults, 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reset_mid_response() {
    let faults = Faults {
        drop_connections: Some(8),
        ..Faults::default()
    };
    assert_retried("8 connection resets", &PATIENT, faults, 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_pages() {
    let faults = Faults {
        malformed_pages: Some(3),
        ..Faults::default()
    };
    assert_retried("3 malformed list pages", &PATIENT, faults, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_child_answers_404() {
    let stack = Stack::new(fast_sim(OPPORTUNITIES), 300.0, 300).await;
    let truth = stack.sim.truth();
    let gone = truth.offers[0].opportunity_id.clone();
    let summary = run_with(
        &stack,
        Faults {
            not_found_offers: Some(vec![gone.clone()]),
            ..Faults::default()
        },
    )
    .await;

    assert_eq!(
        (summary.status, summary.skipped.not_found),
        (RunStatus::Complete, 1)
    );
    let mut expected = truth.clone();
    expected.offers.retain(|o| o.opportunity_id != gone);
    assert_eq!(
        check::compare(&expected, &stack.records().await),
        Vec::<String>::new()
    );
    let minimum = stack.sim.minimum_calls(Some(&stack.sim.offer_stage_id()));
    assert_eq!(summary.api_calls, minimum, "a 404 is not retried");
    println!(
        "one offers 404: {} API calls, minimum {minimum}, overhead 0",
        summary.api_calls
    );
}

/// A full backfill on a slowed Lever that a 400 ms deadline stops after its first pages.
async fn stopped_by_deadline() -> (Stack, RunSummary) {
    let env = [("DEADLINE_MARGIN_MS", "0")];
    let stack = Stack::with_env(fast_sim(OPPORTUNITIES), 300.0, 300, &env).await;
    stack.sim.set_faults(Faults {
        slow_ms: Some(40),
        ..Faults::default()
    });
    let deadline = Instant::now() + Duration::from_millis(400);

    let first = stack
        .syncer()
        .run(&stack.request(Mode::Full), Some(deadline))
        .await;

    assert_eq!(first.status, RunStatus::Partial, "{first:?}");
    (stack, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_hit_mid_run_then_continued() {
    let (stack, first) = stopped_by_deadline().await;
    assert!(first.opportunities_read > 0 && first.opportunities_read < OPPORTUNITIES as u64);

    stack.sim.set_faults(Faults {
        slow_ms: Some(0),
        ..Faults::default()
    });
    let second = stack.syncer().run(&stack.request(Mode::Full), None).await;
    assert!(
        second.resumed && second.status == RunStatus::Complete,
        "{second:?}"
    );
    let total = first.api_calls + second.api_calls;
    let overhead = assert_exact(&stack, "deadline, then a second invocation", total).await;
    assert_eq!(overhead, 5, "only the dimension lists are read again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_killed_mid_run_and_restarted() {
    let stack = Stack::new(fast_sim(400), 300.0, 300).await;
    let request = stack.request(Mode::Full);
    stack.sim.set_faults(Faults {
        slow_ms: Some(5),
        ..Faults::default()
    });

    let run = stack.start_until_checkpoint(&request).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    run.abort();
    assert!(
        run.await.is_err_and(|e| e.is_cancelled()),
        "the run was killed, not finished"
    );
    let calls_before = stack.sim.counters().total;

    stack.sim.set_faults(Faults {
        slow_ms: Some(0),
        ..Faults::default()
    });
    let restarted = stack.syncer().run(&request, None).await;
    assert!(
        restarted.resumed && restarted.status == RunStatus::Complete,
        "{restarted:?}"
    );
    assert_exact(
        &stack,
        "killed mid-page and restarted",
        calls_before + restarted.api_calls,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_token_gone_stale_before_the_next_invocation() {
    let (stack, first) = stopped_by_deadline().await;

    stack.sim.set_faults(Faults {
        invalidate_tokens: Some(true),
        slow_ms: Some(0),
        ..Faults::default()
    });
    let second = stack.syncer().run(&stack.request(Mode::Full), None).await;

    assert!(
        second.resumed && second.status == RunStatus::Complete,
        "{second:?}"
    );
    assert_eq!(
        (first.offers_written + second.offers_written) as usize,
        stack.sim.truth().offers.len(),
        "no offer written twice"
    );
    let total = first.api_calls + second.api_calls;
    let overhead = assert_exact(&stack, "stale paging token, listing restarted", total).await;
    // A new invocation does not know which opportunities the stale token had passed, so the
    // restarted listing reads their offers again (calls, not writes).
    let read_again = 5 + first.opportunities_read.div_ceil(100) + 1 + first.opportunities_eligible;
    assert!(
        overhead <= read_again,
        "overhead {overhead} above {read_again}"
    );
}
