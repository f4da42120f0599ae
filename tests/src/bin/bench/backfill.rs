//! Figures 1–3: first sync, nightly incremental with 1 % changed, re-run with nothing changed.
//!
//! Each run is a child process (`bench run-backfill`) so its peak RSS is the engine's own.
//! While it runs, the suite samples the simulator's request counters; the achieved rate is
//! taken over the steady part of the run (from 25 % to 90 % of its calls), which leaves out
//! the client's initial burst and the tail.

use crate::report::{Floor, Report, trim};
use crate::simctl::{SimHandle, Tenant};
use crate::{SuiteArgs, machine};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shared::config::Config;
use shared::sync::{Mode, RunRequest};
use std::collections::BTreeMap;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Floors of issue 6.
const MAX_CALLS_OVER_MINIMUM: f64 = 1.05;
const MIN_RATE_OVER_LIMIT: f64 = 0.90;
const MAX_PEAK_RSS_MB: f64 = 128.0;
/// The RSS floor applies at this size and above.
const RSS_FLOOR_FROM: usize = 50_000;

/// `bench run-backfill`: one run, configured like the Lambda; one JSON line on stdout.
pub async fn child(tenant: &str, mode: &str) -> ExitCode {
    let mode = match mode {
        "full" => Mode::Full,
        "incremental" => Mode::Incremental,
        other => {
            eprintln!("run-backfill: unknown mode {other}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("run-backfill: {e}");
            return ExitCode::from(2);
        }
    };
    let aws = shared::wiring::aws_config().await;
    let syncer = shared::wiring::syncer(&config, &aws);
    let request = RunRequest {
        tenant: tenant.to_owned(),
        mode,
        since: None,
        until: None,
        opportunity_ids: None,
        dry_run: false,
    };

    let started = Instant::now();
    let summary = syncer.run(&request, None).await;
    let out = json!({
        "summary": summary,
        "run_ms": started.elapsed().as_millis() as u64,
        "peak_rss_kb": status_kb("VmHWM"),
    });
    println!("{out}");
    ExitCode::SUCCESS
}

/// A field of /proc/self/status in kB (VmHWM: peak resident set size).
fn status_kb(name: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One measured run.
struct Run {
    summary: Value,
    peak_rss_mb: f64,
    /// Spawn to exit of the child (includes AWS config and secret reads).
    process_s: f64,
    /// The engine's own duration (`duration_ms` of the summary).
    engine_s: f64,
    /// Requests the simulator served during the run, and how many were 429.
    served: u64,
    throttled: u64,
    samples: Vec<Sample>,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
struct Sample {
    t: f64,
    total: u64,
    throttled: u64,
}

/// The steady part of a run: calls/s and 429s between 25 % and 90 % of its calls.
struct Steady {
    rate: f64,
    throttled: u64,
    seconds: f64,
}

impl Run {
    fn calls(&self) -> u64 {
        self.summary["api_calls"].as_u64().unwrap_or(0)
    }
    fn count(&self, field: &str) -> u64 {
        self.summary[field].as_u64().unwrap_or(0)
    }

    fn steady(&self) -> Steady {
        let total = self.served as f64;
        let at = |share: f64| {
            self.samples
                .iter()
                .find(|s| s.total as f64 >= share * total)
        };
        match (at(0.25), at(0.90)) {
            (Some(a), Some(b)) if b.t - a.t >= 1.0 => Steady {
                rate: (b.total - a.total) as f64 / (b.t - a.t),
                throttled: b.throttled - a.throttled,
                seconds: b.t - a.t,
            },
            // Too short to have a steady part: the whole run.
            _ => Steady {
                rate: total / self.engine_s.max(1e-3),
                throttled: self.throttled,
                seconds: self.engine_s,
            },
        }
    }

    fn status(&self) -> &str {
        self.summary["status"].as_str().unwrap_or("?")
    }
}

/// Figures 1–3 for one simulator size.
pub async fn figures(
    args: &SuiteArgs,
    aws: &aws_config::SdkConfig,
    sim: &SimHandle,
    report: &mut Report,
) -> Result<(), String> {
    let scale = sim.opportunities.to_string();
    eprintln!("== backfill at {scale} opportunities ==");
    let tenant = Tenant::create(aws, sim, &scale, "bench-unused-token").await?;
    let minimum = sim.minimum_calls(&tenant.min_stage_id).await?;
    let limit = args.sim_rate;

    // 1. First sync.
    let load = machine::load_average();
    let first = run(args, sim, &tenant, "full").await?;
    expect_complete(&first, "first sync")?;
    let steady = first.steady();
    report.add(
        "first sync: API calls ÷ minimum",
        &scale,
        first.calls() as f64 / minimum as f64,
        "ratio",
        Some(Floor::AtMost(MAX_CALLS_OVER_MINIMUM)),
        format!("{} calls, minimum {minimum}", first.calls()),
    );
    report.add(
        "first sync: request rate ÷ simulator limit",
        &scale,
        steady.rate / limit,
        "ratio",
        Some(Floor::AtLeast(MIN_RATE_OVER_LIMIT)),
        format!(
            "{:.1}/s over {:.1} s steady; limit {limit}/s, client {}/s; whole run {:.1}/s",
            steady.rate,
            steady.seconds,
            trim(limit * args.client_rate_factor),
            first.served as f64 / first.engine_s
        ),
    );
    report.add(
        "first sync: 429s in steady state",
        &scale,
        steady.throttled as f64,
        "count",
        Some(Floor::AtMost(0.0)),
        format!("{} in the whole run", first.throttled),
    );
    report.add(
        "first sync: wall time",
        &scale,
        first.engine_s,
        "s",
        None,
        format!(
            "minimum calls at the limit: {:.1} s; process {:.1} s; load avg {load:.2}",
            minimum as f64 / limit,
            first.process_s
        ),
    );
    let rss_floor = (sim.opportunities >= RSS_FLOOR_FROM).then_some(Floor::Below(MAX_PEAK_RSS_MB));
    report.add(
        "first sync: peak RSS of the backfill process",
        &scale,
        first.peak_rss_mb,
        "MB",
        rss_floor,
        "VmHWM of the child process",
    );
    report.add(
        "first sync: offers written",
        &scale,
        first.count("offers_written") as f64,
        "items",
        None,
        format!(
            "{} offers in the simulator; +{} lookup items",
            sim.info().await?["offers"],
            first.count("opportunities_eligible")
        ),
    );

    // 2. Nightly incremental with a share of opportunities changed.
    let count = ((sim.opportunities as f64) * args.changed_share).round() as usize;
    let (changed, changed_offers) = sim.mutate(count).await?;
    let incremental = run(args, sim, &tenant, "incremental").await?;
    expect_complete(&incremental, "incremental")?;
    report.add(
        "incremental (1% changed): calls ÷ full re-sync",
        &scale,
        incremental.calls() as f64 / first.calls() as f64,
        "ratio",
        None,
        format!(
            "{} calls vs {}; {} offer reads (changed + active past the offer stage) of {} listed; \
             {changed} opportunities / {changed_offers} offers changed, {} written",
            incremental.calls(),
            first.calls(),
            incremental.count("opportunities_eligible"),
            incremental.count("opportunities_read"),
            incremental.count("offers_written"),
        ),
    );
    report.add(
        "incremental (1% changed): wall time",
        &scale,
        incremental.engine_s,
        "s",
        None,
        format!("first sync {:.1} s", first.engine_s),
    );

    // 3. Nothing changed: nothing written.
    let again = run(args, sim, &tenant, "incremental").await?;
    expect_complete(&again, "unchanged incremental")?;
    report.add(
        "re-run, nothing changed (incremental): writes",
        &scale,
        (again.count("offers_written") + again.count("offers_deleted")) as f64,
        "items",
        Some(Floor::AtMost(0.0)),
        format!(
            "{} offers compared unchanged, {} calls",
            again.count("offers_unchanged"),
            again.calls()
        ),
    );

    let mut details = json!({
        "minimum_calls": minimum,
        "first_sync": detail(&first),
        "incremental": detail(&incremental),
        "unchanged_incremental": detail(&again),
        "mutations": { "requested": count, "opportunities": changed, "offers": changed_offers },
    });

    // The smallest size also re-reads everything (a full re-sync) and checks moto's view.
    if sim.opportunities < RSS_FLOOR_FROM {
        let before = table_digest(aws, &tenant.table).await?;
        let full = run(args, sim, &tenant, "full").await?;
        expect_complete(&full, "full re-run")?;
        let after = table_digest(aws, &tenant.table).await?;
        report.add(
            "re-run, nothing changed (full): writes",
            &scale,
            (full.count("offers_written") + full.count("offers_deleted")) as f64,
            "items",
            Some(Floor::AtMost(0.0)),
            format!(
                "moto: {} offer+lookup items, digest {}; {} calls",
                after.0,
                if before == after {
                    "unchanged"
                } else {
                    "CHANGED"
                },
                full.calls()
            ),
        );
        report.add(
            "re-run, items changed in moto",
            &scale,
            if before == after { 0.0 } else { 1.0 },
            "tables",
            Some(Floor::AtMost(0.0)),
            "offer and lookup items before vs after, compared in full",
        );
        details["full_rerun"] = detail(&full);
    }
    report.detail(&format!("backfill_{scale}"), details);
    Ok(())
}

fn expect_complete(run: &Run, what: &str) -> Result<(), String> {
    if run.status() == "complete" {
        Ok(())
    } else {
        Err(format!(
            "{what} ended {}: {}",
            run.status(),
            run.summary["error"]
        ))
    }
}

fn detail(run: &Run) -> Value {
    let steady = run.steady();
    json!({
        "summary": run.summary, "peak_rss_mb": run.peak_rss_mb, "process_s": run.process_s,
        "served": run.served, "throttled": run.throttled,
        "steady": { "rate": steady.rate, "seconds": steady.seconds, "throttled": steady.throttled },
        "samples": run.samples.len(),
    })
}

/// Runs `bench run-backfill` as a child against `sim`, sampling its counters meanwhile.
async fn run(
    args: &SuiteArgs,
    sim: &SimHandle,
    tenant: &Tenant,
    mode: &str,
) -> Result<Run, String> {
    // A new process starts with a full client bucket: let the simulator's bucket refill
    // after the previous run first, as it would between two nightly runs.
    tokio::time::sleep(Duration::from_secs_f64(
        f64::from(args.sim_burst) / args.sim_rate + 0.5,
    ))
    .await;
    sim.reset_counters().await?;
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample(sim.clone(), stop.clone()));

    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = Command::new(exe);
    command
        .args(["run-backfill", "--tenant", &tenant.name, "--mode", mode])
        .env("OFFERS_TABLE", &tenant.table)
        .env("SECRET_PREFIX", &tenant.secret_prefix)
        .env("LEVER_API_URL", sim.api_url())
        .env(
            "LEVER_RATE_PER_SEC",
            (args.sim_rate * args.client_rate_factor).to_string(),
        )
        .env("LEVER_BURST", args.client_burst.to_string())
        .env("LEVER_CONCURRENCY", args.concurrency.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());

    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("run-backfill: {e}"))?;
    let process_s = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    let samples = sampler.await.map_err(|e| e.to_string())?;

    if !output.status.success() {
        return Err(format!("run-backfill exited {}", output.status));
    }
    // The engine also prints CloudWatch metric lines (EMF) to stdout: ours is the last line.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let out: Value = serde_json::from_str(line.trim())
        .map_err(|e| format!("run-backfill printed no JSON ({e}): {line}"))?;
    let counters = sim.counters().await?;

    let summary = out["summary"].clone();
    let engine_s = summary["duration_ms"].as_f64().unwrap_or(0.0) / 1000.0;
    let run = Run {
        peak_rss_mb: out["peak_rss_kb"].as_f64().unwrap_or(f64::NAN) / 1024.0,
        process_s,
        engine_s,
        served: counters.total,
        throttled: counters.status_total(429),
        samples,
        summary,
    };
    eprintln!(
        "  {mode}: {} calls in {:.1} s ({} served, {} × 429), {} written, {:.0} MB peak",
        run.calls(),
        run.engine_s,
        run.served,
        run.throttled,
        run.count("offers_written"),
        run.peak_rss_mb
    );
    Ok(run)
}

/// Polls the simulator's counters every 200 ms until told to stop.
async fn sample(sim: SimHandle, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let started = Instant::now();
    let mut samples = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        if let Ok(c) = sim.counters().await {
            samples.push(Sample {
                t: started.elapsed().as_secs_f64(),
                total: c.total,
                throttled: c.status_total(429),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    samples
}

/// (item count, SHA-256) of every offer and lookup item, attributes in canonical order.
async fn table_digest(aws: &aws_config::SdkConfig, table: &str) -> Result<(usize, String), String> {
    let dynamo = aws_sdk_dynamodb::Client::new(aws);
    let items = crate::check::scan_items(&dynamo, table).await?;
    let mut lines = Vec::new();
    for item in items {
        let pk = item.get("pk").and_then(|v| v.as_s().ok());
        if pk.is_some_and(|pk| pk.ends_with("#STATE")) {
            continue;
        }
        lines.push(canonical(&AttributeValue::M(item)));
    }
    lines.sort();
    let mut hash = Sha256::new();
    for line in &lines {
        hash.update(line.as_bytes());
        hash.update(b"\n");
    }
    Ok((lines.len(), hex::encode(hash.finalize())))
}

/// An attribute value as text with map keys sorted, so equal items give equal text.
fn canonical(value: &AttributeValue) -> String {
    match value {
        AttributeValue::M(map) => {
            let sorted: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            format!("{sorted:?}")
        }
        AttributeValue::L(list) => {
            let items: Vec<String> = list.iter().map(canonical).collect();
            format!("L{items:?}")
        }
        other => format!("{other:?}"),
    }
}
