//! Figure 4: webhook latency.
//!
//! - In process: `shared::webhook::WebhookService::handle` over in-memory ports (a Lever double
//!   holding real simulator responses, the memory store, static secrets), so the time is
//!   parsing + signature verification + freshness + de-duplication claim + normalization +
//!   diff + store double. Every delivery is a fresh, validly signed `candidateStageChange`.
//! - End to end: signed deliveries POSTed to the webhook's Function URL under
//!   `cargo lambda watch`, which runs the function against lever-sim and moto.

use crate::SuiteArgs;
use crate::report::{Floor, Report};
use crate::simctl::{SimHandle, Tenant};
use async_trait::async_trait;
use lever_sim::{Sim, SimConfig};
use serde_json::{Value, json};
use shared::config::Config;
use shared::error::{LeverError, SyncError};
use shared::lever::model::{
    ArchiveReason, DeletedOpportunity, Offer, Opportunity, Page, Posting, Requisition,
    RequisitionField, Stage,
};
use shared::ports::{LeverApi, OpportunityFilter, SystemClock};
use shared::secrets::{StaticSecrets, TenantSecret};
use shared::store::MemoryStore;
use shared::sync::{ContextCache, LeverFactory, SyncOptions, Syncer};
use shared::webhook::{WebhookRequest, WebhookService};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const MAX_IN_PROCESS_P99_MS: f64 = 2.0;
const TENANT: &str = "bench";
const EVENT: &str = "candidateStageChange";
/// Opportunities (with offers) the deliveries are spread over.
const OPPORTUNITIES: usize = 500;
const WARM_UP: usize = 200;

/// Lever as a fixed snapshot of simulator answers.
#[derive(Default)]
struct Snapshot {
    stages: Vec<Stage>,
    reasons: Vec<ArchiveReason>,
    postings: Vec<Posting>,
    requisitions: Vec<Requisition>,
    fields: Vec<RequisitionField>,
    opportunities: HashMap<String, (Opportunity, Vec<Offer>)>,
    calls: AtomicU64,
}

impl Snapshot {
    fn tick(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl LeverApi for Snapshot {
    async fn stages(&self) -> Result<Vec<Stage>, LeverError> {
        self.tick();
        Ok(self.stages.clone())
    }
    async fn archive_reasons(&self) -> Result<Vec<ArchiveReason>, LeverError> {
        self.tick();
        Ok(self.reasons.clone())
    }
    async fn postings(&self) -> Result<Vec<Posting>, LeverError> {
        self.tick();
        Ok(self.postings.clone())
    }
    async fn requisitions(&self) -> Result<Vec<Requisition>, LeverError> {
        self.tick();
        Ok(self.requisitions.clone())
    }
    async fn requisition_fields(&self) -> Result<Vec<RequisitionField>, LeverError> {
        self.tick();
        Ok(self.fields.clone())
    }
    async fn opportunities_page(
        &self,
        _: &OpportunityFilter,
        _: Option<&str>,
    ) -> Result<Page<Opportunity>, LeverError> {
        self.tick();
        Ok(Page {
            data: Vec::new(),
            has_next: false,
            next: None,
        })
    }
    async fn opportunity(&self, id: &str) -> Result<Option<Opportunity>, LeverError> {
        self.tick();
        Ok(self.opportunities.get(id).map(|(o, _)| o.clone()))
    }
    async fn offers(&self, id: &str) -> Result<Option<Vec<Offer>>, LeverError> {
        self.tick();
        Ok(self.opportunities.get(id).map(|(_, offers)| offers.clone()))
    }
    async fn deleted_page(
        &self,
        _: i64,
        _: Option<&str>,
    ) -> Result<Page<DeletedOpportunity>, LeverError> {
        self.tick();
        Ok(Page {
            data: Vec::new(),
            has_next: false,
            next: None,
        })
    }
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

struct SnapshotFactory(Arc<Snapshot>);

impl LeverFactory for SnapshotFactory {
    fn client(&self, _: &str, _: &TenantSecret) -> Result<Arc<dyn LeverApi>, SyncError> {
        Ok(self.0.clone())
    }
}

/// In-process handler latency over `args.webhook_deliveries` deliveries.
pub async fn in_process(args: &SuiteArgs, report: &mut Report) -> Result<(), String> {
    eprintln!("== webhook, in process ==");
    let sim = Sim::spawn(SimConfig {
        seed: args.seed,
        opportunities: 2_000,
        rate_per_sec: 1e6,
        burst: 1_000_000,
        ..SimConfig::default()
    })
    .await;
    let signing_token = lever_sim::delivery::random_token();
    let secret = tenant_secret(&sim, &signing_token)?;
    let snapshot = Arc::new(snapshot(&sim, &secret).await?);

    let syncer = Syncer {
        store: Arc::new(MemoryStore::default()),
        secrets: Arc::new(StaticSecrets::default().with(TENANT, secret)),
        lever: Arc::new(SnapshotFactory(snapshot.clone())),
        clock: Arc::new(SystemClock),
        options: SyncOptions::default(),
        contexts: ContextCache::default(),
    };
    let config = Config::from_lookup(|name| (name == "OFFERS_TABLE").then(|| "unused".to_owned()))
        .map_err(|e| e.to_string())?;
    let service = WebhookService::new(Arc::new(syncer), config.webhook);

    let ids: Vec<String> = snapshot.opportunities.keys().cloned().collect();
    let bodies = sim.with_dataset(|dataset| {
        (0..WARM_UP + args.webhook_deliveries)
            .map(|i| {
                let id = &ids[i % ids.len()];
                let data = lever_sim::delivery::data_for(dataset, id, EVENT).unwrap_or_default();
                lever_sim::delivery::build(EVENT, data, &signing_token, now_ms(), None).body
            })
            .collect::<Vec<String>>()
    });

    let path = format!("/{TENANT}");
    let mut latencies = Vec::with_capacity(args.webhook_deliveries);
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for (i, body) in bodies.iter().enumerate() {
        let request = WebhookRequest {
            method: "POST",
            path: &path,
            body: body.as_bytes(),
        };
        let started = Instant::now();
        let response = service.handle(request).await;
        let elapsed = started.elapsed();
        if i >= WARM_UP {
            latencies.push(elapsed);
            let processed = response.status == 200 && response.body.contains("processed");
            *statuses
                .entry(if processed { 200 } else { response.status })
                .or_default() += 1;
        }
    }
    // Every delivery was processed (not a duplicate) and read the opportunity and its offers.
    let lever_calls = snapshot.calls();
    if statuses.get(&200) != Some(&args.webhook_deliveries)
        || lever_calls < 2 * (WARM_UP + args.webhook_deliveries) as u64
    {
        return Err(format!(
            "in-process webhook answers: {statuses:?}, {lever_calls} Lever reads"
        ));
    }

    let stats = Percentiles::of(&mut latencies);
    let reference = format!(
        "{} deliveries over {} opportunities after {WARM_UP} warm-up ({lever_calls} Lever double \
         reads); mean {:.3} ms, max {:.3} ms",
        args.webhook_deliveries,
        ids.len(),
        stats.mean,
        stats.max
    );
    report.add(
        "webhook in process: p50",
        "1 tenant",
        stats.p50,
        "ms",
        None,
        reference.clone(),
    );
    report.add(
        "webhook in process: p99",
        "1 tenant",
        stats.p99,
        "ms",
        Some(Floor::Below(MAX_IN_PROCESS_P99_MS)),
        reference,
    );
    report.detail("webhook_in_process", stats.json());
    Ok(())
}

/// The tenant secret of the simulator's account, with `signing_token` for every event.
fn tenant_secret(sim: &Sim, signing_token: &str) -> Result<TenantSecret, String> {
    let text = json!({
        "lever": { "api_key": sim.api_key() },
        "pseudonym_key": "bench-pseudonym-key-0123456789abcdef",
        "webhook_tokens": { EVENT: [signing_token] },
        "settings": { "min_stage_id": sim.offer_stage_id(), "field_mapping": lever_sim::tenant_mapping() },
    });
    TenantSecret::parse(TENANT, &text.to_string()).map_err(|e| e.to_string())
}

/// Dimensions and `OPPORTUNITIES` opportunities with offers, read from the simulator over HTTP.
async fn snapshot(sim: &Sim, secret: &TenantSecret) -> Result<Snapshot, String> {
    let base = sim.base_url();
    let config = Config::from_lookup(|name| match name {
        "OFFERS_TABLE" => Some("unused".to_owned()),
        "LEVER_API_URL" => Some(base.clone()),
        "LEVER_RATE_PER_SEC" => Some("100000".to_owned()),
        "LEVER_BURST" => Some("100000".to_owned()),
        _ => None,
    })
    .map_err(|e| e.to_string())?;
    let factory = shared::wiring::HttpLeverFactory::new(config);
    let lever = factory
        .client("bench-snapshot", secret)
        .map_err(|e| e.to_string())?;
    let err = |e: LeverError| e.to_string();

    let ids: Vec<String> = sim.with_dataset(|d| {
        d.opportunities
            .iter()
            .filter(|o| !o.offers.is_empty())
            .take(OPPORTUNITIES)
            .map(|o| o.id.clone())
            .collect()
    });
    let mut opportunities = HashMap::new();
    for id in ids {
        let opportunity = lever.opportunity(&id).await.map_err(err)?;
        let offers = lever.offers(&id).await.map_err(err)?;
        if let (Some(o), Some(offers)) = (opportunity, offers) {
            opportunities.insert(id, (o, offers));
        }
    }
    Ok(Snapshot {
        stages: lever.stages().await.map_err(err)?,
        reasons: lever.archive_reasons().await.map_err(err)?,
        postings: lever.postings().await.map_err(err)?,
        requisitions: lever.requisitions().await.map_err(err)?,
        fields: lever.requisition_fields().await.map_err(err)?,
        opportunities,
        calls: AtomicU64::new(0),
    })
}

/// Where the webhook runs under `cargo lambda watch`.
pub struct E2e {
    url: String,
    table: String,
    secret_prefix: String,
    sim: SimHandle,
    seed: u64,
    deliveries: usize,
}

impl E2e {
    pub fn from_args(args: &SuiteArgs, sims: &[SimHandle]) -> Option<E2e> {
        let root = args.watch_sim.as_deref()?.trim_end_matches('/');
        Some(E2e {
            url: args.watch_webhook_url.clone()?,
            table: args.watch_table.clone()?,
            secret_prefix: args.watch_secret_prefix.clone()?,
            sim: sims.iter().find(|s| s.root == root)?.clone(),
            seed: args.seed,
            deliveries: args.e2e_deliveries,
        })
    }
}

/// End-to-end latency through the Function URL of `cargo lambda watch`.
pub async fn end_to_end(
    e2e: &E2e,
    aws: &aws_config::SdkConfig,
    report: &mut Report,
) -> Result<(), String> {
    eprintln!("== webhook, end to end through cargo lambda watch ==");
    let signing_token = lever_sim::delivery::random_token();
    Tenant::create_named(
        aws,
        &e2e.sim,
        TENANT,
        &e2e.table,
        &e2e.secret_prefix,
        &signing_token,
    )
    .await?;

    let dataset = lever_sim::generate(e2e.seed, e2e.sim.opportunities, lever_sim::DEFAULT_NOW_MS);
    let ids: Vec<&str> = dataset
        .opportunities
        .iter()
        .filter(|o| !o.offers.is_empty())
        .take(OPPORTUNITIES)
        .map(|o| o.id.as_str())
        .collect();
    let url = format!("{}/{TENANT}", e2e.url.trim_end_matches('/'));
    if !url.starts_with("http://127.0.0.1:") {
        return Err("the watched webhook must be on 127.0.0.1".into());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;

    let mut latencies = Vec::with_capacity(e2e.deliveries);
    let mut first = Duration::ZERO;
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for i in 0..e2e.deliveries {
        let id = ids[i % ids.len()];
        let data = lever_sim::delivery::data_for(&dataset, id, EVENT).unwrap_or_default();
        let body = lever_sim::delivery::build(EVENT, data, &signing_token, now_ms(), None).body;
        let started = Instant::now();
        let response = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        let elapsed = started.elapsed();
        let processed = status == 200 && body.contains("processed");
        *statuses
            .entry(if processed { 200 } else { status })
            .or_default() += 1;
        if i == 0 {
            first = elapsed;
        } else {
            latencies.push(elapsed);
        }
    }
    if statuses.get(&200) != Some(&e2e.deliveries) {
        return Err(format!("end-to-end webhook answers: {statuses:?}"));
    }

    let stats = Percentiles::of(&mut latencies);
    let reference = format!(
        "{} deliveries, sequential; first (context load) {:.1} ms; mean {:.1} ms, max {:.1} ms",
        e2e.deliveries,
        first.as_secs_f64() * 1000.0,
        stats.mean,
        stats.max
    );
    let scale = e2e.sim.opportunities.to_string();
    report.add(
        "webhook end to end (watch): p50",
        &scale,
        stats.p50,
        "ms",
        None,
        reference.clone(),
    );
    report.add(
        "webhook end to end (watch): p99",
        &scale,
        stats.p99,
        "ms",
        None,
        reference,
    );
    let mut detail = stats.json();
    detail["first_ms"] = json!(first.as_secs_f64() * 1000.0);
    report.detail("webhook_end_to_end", detail);
    Ok(())
}

/// Latency percentiles in milliseconds.
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub mean: f64,
    pub max: f64,
    pub n: usize,
}

impl Percentiles {
    pub fn of(samples: &mut [Duration]) -> Percentiles {
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |q: f64| {
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len().max(1));
            samples.get(i - 1).copied().map_or(f64::NAN, ms)
        };
        let sum: f64 = samples.iter().copied().map(ms).sum();
        Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            mean: sum / samples.len().max(1) as f64,
            max: samples.last().copied().map_or(f64::NAN, ms),
            n: samples.len(),
        }
    }

    pub fn json(&self) -> Value {
        json!({ "n": self.n, "p50_ms": self.p50, "p90_ms": self.p90, "p99_ms": self.p99,
                "mean_ms": self.mean, "max_ms": self.max })
    }
}

fn now_ms() -> i64 {
    crate::simctl::unix_ms()
}
