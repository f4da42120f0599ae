//! End-to-end webhooks: the simulator (Lever's side) → the webhook function's Function URL
//! under `cargo lambda watch` → DynamoDB on moto; the backfill is invoked through the same
//! watch process. `scripts/test.sh` starts that stack and passes it in `E2E_*` variables; the
//! tests fail when they are missing.
//!
//! The simulator, table and functions are shared, so every test uses its own tenant and its
//! own opportunities, and the tests run one at a time (the fault test arms simulator-wide
//! faults). Each test ends by searching the functions' log and the tenant's stored items for
//! anything secret or personal it handled.

mod common;

use common::{check, unique};
use lever_sim::{DeliverReport, DeliverRequest, Truth};
use serde_json::{Value, json};
use shared::ports::OfferStore;
use shared::record::{OfferRecord, Outcome};
use shared::store::DynamoStore;
use std::sync::LazyLock;
use tokio::sync::{Mutex, MutexGuard};

static SERIAL: LazyLock<Mutex<()>> = LazyLock::new(|| Mutex::new(()));

const EVENTS: [&str; 5] = [
    "candidateStageChange",
    "candidateArchiveChange",
    "candidateHired",
    "candidateDeleted",
    "applicationCreated",
];

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the end-to-end tests through `make test` (scripts/test.sh)")
    })
}

/// One test's view of the shared stack: its tenant, tokens and everything it sent.
struct E2e {
    _serial: MutexGuard<'static, ()>,
    http: reqwest::Client,
    sim: String,
    webhook_url: String,
    invoke_url: String,
    table: String,
    watch_log: String,
    store: DynamoStore,
    aws: aws_config::SdkConfig,
    tenant: String,
    tokens: Vec<(String, String)>,
    sent: Vec<DeliverReport>,
    touched: Vec<String>,
}

impl E2e {
    /// Takes the stack for this test and creates a tenant whose secret names the simulator.
    async fn start() -> E2e {
        let serial = SERIAL.lock().await;
        let aws = common::aws().await;
        let table = env("E2E_TABLE");
        let tenant = unique("wh");
        let e2e = E2e {
            _serial: serial,
            http: reqwest::Client::new(),
            sim: env("E2E_SIM_URL"),
            webhook_url: format!("{}/{tenant}", env("E2E_WEBHOOK_URL")),
            invoke_url: env("E2E_INVOKE_URL"),
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), &table),
            table,
            watch_log: env("E2E_WATCH_LOG"),
            aws,
            tokens: EVENTS
                .iter()
                .map(|e| (e.to_string(), lever_sim::delivery::random_token()))
                .collect(),
            tenant,
            sent: Vec::new(),
            touched: Vec::new(),
        };
        e2e.create_table_once().await;
        e2e.put_secret().await;
        e2e
    }

    async fn create_table_once(&self) {
        let dynamo = aws_sdk_dynamodb::Client::new(&self.aws);
        let exists = dynamo
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .is_ok();
        if !exists {
            shared::store::dynamo::create_table(&dynamo, &self.table)
                .await
                .expect("create the e2e table");
        }
    }

    async fn put_secret(&self) {
        let info = self.get(&format!("{}/_sim/info", self.sim)).await;
        let mapping = self.get(&format!("{}/_sim/mapping", self.sim)).await;
        let tokens: serde_json::Map<String, Value> = self
            .tokens
            .iter()
            .map(|(e, t)| (e.clone(), json!([t])))
            .collect();
        let secret = json!({
            "lever": { "api_key": "sim-api-key" },
            "pseudonym_key": format!("pseudonym-{}-0123456789abcdef0123456789abcdef", self.tenant),
            "webhook_tokens": tokens,
            "settings": { "min_stage_id": info["offer_stage_id"], "field_mapping": mapping },
        });
        aws_sdk_secretsmanager::Client::new(&self.aws)
            .create_secret()
            .name(format!("{}{}", env("E2E_SECRET_PREFIX"), self.tenant))
            .secret_string(secret.to_string())
            .send()
            .await
            .expect("create the tenant secret");
    }

    fn token(&self, event: &str) -> &str {
        &self
            .tokens
            .iter()
            .find(|(e, _)| e == event)
            .expect("event")
            .1
    }

    /// A simulator change of `kind` (to `opportunity` when given); returns the opportunity id.
    async fn change(&mut self, kind: &str, opportunity: Option<&str>) -> String {
        let body = json!({ "kind": kind, "opportunity_id": opportunity });
        let answer = self.post(&format!("{}/_sim/change", self.sim), &body).await;
        let id = answer["change"]["opportunity_id"]
            .as_str()
            .expect("changed")
            .to_owned();
        self.touched.push(id.clone());
        id
    }

    /// Has the simulator deliver `event` about `opportunity` like Lever.
    async fn deliver(
        &mut self,
        event: &str,
        opportunity: &str,
        adjust: impl FnOnce(&mut DeliverRequest),
    ) -> DeliverReport {
        let mut request =
            DeliverRequest::new(&self.webhook_url, event, opportunity, self.token(event));
        request.retries = 0;
        adjust(&mut request);
        let answer = self
            .post(&format!("{}/_sim/deliver", self.sim), &json!(request))
            .await;
        let report: DeliverReport = serde_json::from_value(answer).expect("deliver report");
        self.sent.push(report.clone());
        report
    }

    /// Statuses and body `status` of every copy of a report.
    fn answers(report: &DeliverReport) -> Vec<(u16, String)> {
        report
            .deliveries
            .iter()
            .map(|d| {
                let body: Value = serde_json::from_str(&d.body).unwrap_or_default();
                (
                    d.status,
                    body["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    async fn records_of(&self, opportunity: &str) -> Vec<OfferRecord> {
        let mut records: Vec<OfferRecord> = self
            .store
            .scan_offers(&self.tenant)
            .await
            .expect("scan")
            .into_iter()
            .filter(|r| r.opportunity_id == opportunity)
            .collect();
        records.sort_by_key(|r| r.created_at);
        records
    }

    async fn truth(&self) -> Truth {
        serde_json::from_value(self.get(&format!("{}/_sim/truth", self.sim)).await).expect("truth")
    }

    /// Asserts the stored records of an opportunity equal the simulator's truth for it.
    async fn assert_matches_truth(&self, opportunity: &str) {
        let mut truth = self.truth().await;
        truth.offers.retain(|o| o.opportunity_id == opportunity);
        assert!(
            !truth.offers.is_empty(),
            "the opportunity has offers in Lever"
        );
        let records = self.records_of(opportunity).await;
        assert_eq!(check::compare(&truth, &records), Vec::<String>::new());
    }

    async fn invoke_backfill(&self, payload: Value) -> Value {
        let response = self
            .http
            .post(&self.invoke_url)
            .json(&payload)
            .send()
            .await
            .expect("invoke");
        response.json().await.expect("summary JSON")
    }

    async fn faults(&self, faults: Value) {
        self.post(&format!("{}/_sim/faults", self.sim), &faults)
            .await;
    }

    async fn get(&self, url: &str) -> Value {
        let response = self.http.get(url).send().await.expect("GET");
        response.json().await.expect("JSON")
    }

    async fn post(&self, url: &str, body: &Value) -> Value {
        let response = self.http.post(url).json(body).send().await.expect("POST");
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        response.json().await.expect("JSON")
    }

    /// The functions' log and this tenant's items hold no signature token, delivery token,
    /// signature, body or candidate data; and the log does mention this tenant's deliveries.
    async fn assert_nothing_leaked(&self) {
        let log = std::fs::read_to_string(&self.watch_log).expect("watch log");
        assert!(
            log.lines()
                .any(|l| l.contains("webhook_delivery") && l.contains(&self.tenant)),
            "the log holds this tenant's delivery lines"
        );
        let items: Vec<String> = common::raw_items(&self.aws, &self.table)
            .await
            .into_iter()
            .filter(|i| i.contains(&format!("T#{}#", self.tenant)))
            .collect();

        let mut secrets: Vec<String> = self.tokens.iter().map(|(_, t)| t.clone()).collect();
        for report in &self.sent {
            let body: Value = serde_json::from_str(&report.body).expect("body sent");
            secrets.push(report.token.clone());
            secrets.push(report.body.clone());
            secrets.extend(body["signature"].as_str().map(str::to_owned));
            secrets.extend(body["data"]["contactId"].as_str().map(str::to_owned));
        }
        for secret in &secrets {
            assert!(
                !log.contains(secret.as_str()),
                "the log holds a token, signature or body"
            );
            assert!(
                items.iter().all(|i| !i.contains(secret.as_str())),
                "an item holds a token"
            );
        }
        let truth = self.truth().await;
        assert_eq!(check::leaked_pii(&truth, &[log]), Vec::<&str>::new());
        assert_eq!(check::leaked_pii(&truth, &items), Vec::<&str>::new());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_change_to_the_offer_stage_writes_the_offer() {
    let mut e2e = E2e::start().await;
    let opportunity = e2e.change("moved_to_offer", None).await;

    let report = e2e
        .deliver("candidateStageChange", &opportunity, |_| {})
        .await;

    assert_eq!(E2e::answers(&report), [(200, "processed".to_owned())]);
    println!(
        "stage change delivery answered in {} ms",
        report.deliveries[0].first_ms
    );
    let records = e2e.records_of(&opportunity).await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].status.as_str(), records[0].outcome),
        ("sent", Outcome::Pending)
    );
    assert_eq!(
        records[0].provenance.source,
        shared::record::Source::Webhook
    );
    e2e.assert_matches_truth(&opportunity).await;
    e2e.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hired_sets_the_outcome_accepted() {
    let mut e2e = E2e::start().await;
    let opportunity = e2e.change("hired", None).await;

    let report = e2e.deliver("candidateHired", &opportunity, |_| {}).await;

    assert_eq!(E2e::answers(&report), [(200, "processed".to_owned())]);
    let records = e2e.records_of(&opportunity).await;
    let latest = records.last().expect("stored");
    assert_eq!(
        (latest.status.as_str(), latest.outcome),
        ("signed", Outcome::Accepted)
    );
    e2e.assert_matches_truth(&opportunity).await;
    e2e.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_with_a_non_hired_reason_after_a_sent_offer_sets_declined() {
    let mut e2e = E2e::start().await;
    let opportunity = e2e.change("moved_to_offer", None).await;
    e2e.deliver("candidateStageChange", &opportunity, |_| {})
        .await;
    assert_eq!(
        e2e.records_of(&opportunity).await[0].outcome,
        Outcome::Pending
    );

    e2e.change("archived_declined", Some(&opportunity)).await;
    let report = e2e
        .deliver("candidateArchiveChange", &opportunity, |_| {})
        .await;

    assert_eq!(E2e::answers(&report), [(200, "processed".to_owned())]);
    let records = e2e.records_of(&opportunity).await;
    assert_eq!((records.len(), records[0].outcome), (1, Outcome::Declined));
    assert!(records[0].pipeline.archived_at.is_some());
    e2e.assert_matches_truth(&opportunity).await;
    e2e.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_every_record_of_the_opportunity() {
    let mut e2e = E2e::start().await;
    let opportunity = e2e.change("hired", None).await;
    e2e.deliver("candidateHired", &opportunity, |_| {}).await;
    assert!(!e2e.records_of(&opportunity).await.is_empty());

    let body = json!({ "opportunity_id": opportunity });
    e2e.post(&format!("{}/_sim/delete", e2e.sim), &body).await;
    let report = e2e.deliver("candidateDeleted", &opportunity, |_| {}).await;

    assert_eq!(E2e::answers(&report), [(200, "processed".to_owned())]);
    assert!(e2e.records_of(&opportunity).await.is_empty());
    let items = common::raw_items(&e2e.aws, &e2e.table).await;
    let lookup = format!("T#{}#OPP#{opportunity}", e2e.tenant);
    assert!(
        items.iter().all(|i| !i.contains(&lookup)),
        "the lookup is gone too"
    );
    e2e.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_repeated_five_times_produces_one_write() {
    let mut e2e = E2e::start().await;
    let opportunity = e2e.change("hired", None).await;
    let reset = format!("{}/_sim/counters/reset", e2e.sim);
    e2e.http.post(&reset).send().await.expect("reset counters");

    let report = e2e
        .deliver("candidateHired", &opportunity, |r| r.copies = 5)
        .await;

    let mut expected = vec![(200, "processed".to_owned())];
    expected.extend(std::iter::repeat_n((200, "duplicate".to_owned()), 4));
    assert_eq!(E2e::answers(&report), expected);
    let counters = e2e.get(&format!("{}/_sim/counters", e2e.sim)).await;
    assert_eq!(
        counters["by_route"]["GET /v1/opportunities/:id"]["200"],
        json!(1),
        "{counters}"
    );
    assert_eq!(
        counters["by_route"]["GET /v1/opportunities/:id/offers"]["200"],
        json!(1)
    );
    let synced: Vec<i64> = e2e
        .records_of(&opportunity)
        .await
        .iter()
        .map(|r| r.provenance.synced_at)
        .collect();
    assert!(
        !synced.is_empty() && synced.iter().all(|s| *s == synced[0]),
        "written once"
    );
    e2e.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_lever_failing_the_delivery_gets_503_and_the_next_backfill_finishes_it() {
    let mut e2e = E2e::start().await;
    let opportunity = e2e.change("hired", None).await;
    e2e.faults(json!({ "fail_5xx": 1000 })).await;

    let report = e2e.deliver("candidateHired", &opportunity, |_| {}).await;
    e2e.faults(json!({ "fail_5xx": 0 })).await;

    assert_eq!(E2e::answers(&report), [(503, "retry".to_owned())]);
    println!(
        "failing delivery answered in {} ms",
        report.deliveries[0].first_ms
    );
    let pending = e2e.store.pending(&e2e.tenant).await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].opportunity_id.as_str(), pending[0].attempts),
        (opportunity.as_str(), 1)
    );
    assert!(e2e.records_of(&opportunity).await.is_empty());

    let summary = e2e
        .invoke_backfill(json!({ "tenant": e2e.tenant, "mode": "incremental" }))
        .await;

    assert_eq!(summary["status"], json!("complete"), "{summary}");
    assert_eq!(
        (
            summary["pending_drained"].clone(),
            summary["pending_left"].clone()
        ),
        (json!(1), json!(0))
    );
    assert!(
        e2e.store
            .pending(&e2e.tenant)
            .await
            .expect("pending")
            .is_empty()
    );
    let latest = e2e
        .records_of(&opportunity)
        .await
        .pop()
        .expect("stored by the backfill");
    assert_eq!(latest.outcome, Outcome::Accepted);
    e2e.assert_matches_truth(&opportunity).await;
    e2e.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tampered_stale_and_malformed_deliveries_change_nothing() {
    let mut e2e = E2e::start().await;
    let opportunity = e2e.change("hired", None).await;
    let cases = [
        ("forged_signature", 401, "bad signature"),
        ("tampered_token", 401, "bad signature"),
        ("stale", 401, "stale delivery"),
        ("future", 401, "triggeredAt is in the future"),
        ("missing_signature", 401, "missing signature"),
        ("header_signature", 401, "missing signature"),
        ("body_signature", 401, "bad signature"),
        ("missing_token", 400, "missing field token"),
        (
            "missing_opportunity",
            400,
            "missing field data.opportunityId",
        ),
        (
            "float_triggered_at",
            400,
            "triggeredAt must be an integer of epoch milliseconds",
        ),
    ];

    for (defect, status, reason) in cases {
        let defect_value: lever_sim::delivery::Defect =
            serde_json::from_value(json!(defect)).expect("defect");
        let report = e2e
            .deliver("candidateHired", &opportunity, |r| {
                r.defect = Some(defect_value)
            })
            .await;
        let body: Value = serde_json::from_str(&report.deliveries[0].body).expect("json");
        assert_eq!(
            (report.deliveries[0].status, body["reason"].as_str()),
            (status, Some(reason)),
            "{defect}"
        );
    }

    // Lever re-sends a refused delivery five times: each attempt is refused the same way.
    let report = e2e
        .deliver("candidateHired", &opportunity, |r| {
            r.defect = Some(lever_sim::delivery::Defect::ForgedSignature);
            r.retries = 5;
            r.first_gap_ms = 10;
        })
        .await;
    assert_eq!(report.deliveries[0].attempts, [401; 6]);

    // A well-formed, signed delivery for a tenant that does not exist.
    let unknown = format!("{}-unknown", e2e.webhook_url);
    let valid_body = report.body.replace("\"signature\"", "\"ignored\"");
    let response = e2e
        .http
        .post(&unknown)
        .body(valid_body)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 404);
    let response = e2e.http.get(&e2e.webhook_url).send().await.expect("get");
    assert_eq!(response.status(), 405);
    let response = e2e
        .http
        .post(&e2e.webhook_url)
        .body(vec![b' '; 70_000])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 413);

    assert!(e2e.records_of(&opportunity).await.is_empty());
    e2e.assert_nothing_leaked().await;
}
