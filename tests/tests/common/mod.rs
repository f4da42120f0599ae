//! Shared set-up of the integration tests: moto (started by `make test`, reached through
//! `AWS_ENDPOINT_URL`) and an in-process Lever simulator per test.

#![allow(dead_code)] // Each test binary uses a different part of this module.

#[path = "../../src/bin/local_stack/check.rs"]
pub mod check;

use lever_sim::{Sim, SimConfig};
use serde_json::{Value, json};
use shared::config::Config;
use shared::sync::{Mode, RunRequest, Syncer};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test (or earlier run against the same moto) uses.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    format!("{prefix}-{}-{n}-{nanos}", std::process::id())
}

/// AWS SDK config for moto; fails loudly when `make test` did not start it.
pub async fn aws() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run the integration tests through `make test`");
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "tests only talk to a local moto"
    );
    shared::wiring::aws_config().await
}

/// One tenant on a fresh table and a simulated Lever account.
pub struct Stack {
    pub sim: Sim,
    pub aws: aws_config::SdkConfig,
    pub config: Config,
    pub tenant: String,
}

impl Stack {
    /// Starts a simulator with `sim_config`, creates a table and the tenant's secret.
    /// `client_rate` is the sync's own request rate (the simulator's limit is in `sim_config`).
    pub async fn new(sim_config: SimConfig, client_rate: f64, client_burst: u32) -> Stack {
        Stack::with_env(sim_config, client_rate, client_burst, &[]).await
    }

    /// Like [`Stack::new`], with more configuration variables (they win over the defaults).
    pub async fn with_env(
        sim_config: SimConfig,
        client_rate: f64,
        client_burst: u32,
        env: &[(&'static str, &str)],
    ) -> Stack {
        let sim = Sim::spawn(sim_config).await;
        let aws = aws().await;
        let tenant = unique("t");
        let table = unique("offers");
        let prefix = format!("{}/", unique("lever-offers"));

        let vars: HashMap<&str, String> = HashMap::from([
            ("OFFERS_TABLE", table.clone()),
            ("SECRET_PREFIX", prefix.clone()),
            ("LEVER_API_URL", sim.base_url()),
            ("LEVER_RATE_PER_SEC", client_rate.to_string()),
            ("LEVER_BURST", client_burst.to_string()),
            ("LEVER_TIMEOUT_MS", "2000".to_owned()),
            ("LEVER_CONCURRENCY", "8".to_owned()),
            // Short backoff keeps fault tests quick; the policy's shape is unit-tested in shared.
            ("LEVER_RETRY_BASE_MS", "5".to_owned()),
            ("LEVER_RETRY_CAP_MS", "100".to_owned()),
        ]);
        let mut vars = vars;
        vars.extend(env.iter().map(|(k, v)| (*k, v.to_string())));
        let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("config");

        let dynamo = aws_sdk_dynamodb::Client::new(&aws);
        shared::store::dynamo::create_table(&dynamo, &table)
            .await
            .expect("create table");
        let stack = Stack {
            sim,
            aws,
            config,
            tenant,
        };
        stack.put_secret(stack.default_secret()).await;
        stack
    }

    /// The secret `make demo` seeds: the simulator's key, mapping and offer stage.
    pub fn default_secret(&self) -> Value {
        json!({
            "lever": { "api_key": self.sim.api_key() },
            "pseudonym_key": "integration-pseudonym-key-0123456789abcdef",
            "settings": {
                "min_stage_id": self.sim.offer_stage_id(),
                "field_mapping": lever_sim::tenant_mapping(),
            }
        })
    }

    pub async fn put_secret(&self, secret: Value) {
        let client = aws_sdk_secretsmanager::Client::new(&self.aws);
        client
            .create_secret()
            .name(format!("{}{}", self.config.secret_prefix, self.tenant))
            .secret_string(secret.to_string())
            .send()
            .await
            .expect("create secret");
    }

    /// A fresh engine, as a new Lambda container would build it.
    pub fn syncer(&self) -> Syncer {
        shared::wiring::syncer(&self.config, &self.aws)
    }

    /// Starts a backfill in the background and returns once its first page is checkpointed.
    pub async fn start_until_checkpoint(
        &self,
        request: &RunRequest,
    ) -> tokio::task::JoinHandle<shared::sync::RunSummary> {
        let syncer = std::sync::Arc::new(self.syncer());
        let run = tokio::spawn({
            let (syncer, request) = (syncer.clone(), request.clone());
            async move { syncer.run(&request, None).await }
        });

        while syncer
            .store
            .cursor(&self.tenant)
            .await
            .expect("cursor")
            .is_none()
        {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        run
    }

    pub fn request(&self, mode: Mode) -> RunRequest {
        RunRequest {
            tenant: self.tenant.clone(),
            mode,
            since: None,
            until: None,
            opportunity_ids: None,
            dry_run: false,
        }
    }

    pub async fn records(&self) -> Vec<shared::record::OfferRecord> {
        self.syncer()
            .store
            .scan_offers(&self.tenant)
            .await
            .expect("scan offers")
    }

    /// Every item in the table as text (offers, lookups, state).
    pub async fn raw_items(&self) -> Vec<String> {
        raw_items(&self.aws, &self.config.table).await
    }

    /// Requests the simulator answered with `status`, over every route.
    pub fn served(&self, status: &str) -> u64 {
        self.sim
            .counters()
            .by_route
            .values()
            .filter_map(|by_status| by_status.get(status))
            .sum()
    }
}

/// A simulator that allows a fast sync (its limit scaled up with the client's).
pub fn fast_sim(opportunities: usize) -> SimConfig {
    SimConfig {
        opportunities,
        rate_per_sec: 400.0,
        burst: 400,
        ..SimConfig::default()
    }
}

/// Every item of a table as text (offers, lookups, state, claims, markers).
pub async fn raw_items(aws: &aws_config::SdkConfig, table: &str) -> Vec<String> {
    let dynamo = aws_sdk_dynamodb::Client::new(aws);
    check::raw_items(&dynamo, table)
        .await
        .expect("scan the table")
}
