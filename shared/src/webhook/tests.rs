//! Service-level tests with in-memory ports: a scripted Lever, the memory store, a secret
//! source that can rotate, and a settable clock. One or more tests per status code.

use super::service::{CLAIM_LEASE_MS, delivery_key, tenant_from_path};
use super::signature::sign;
use super::*;
use crate::config::WebhookConfig;
use crate::error::{LeverError, SecretError, SyncError};
use crate::lever::model::{
    ArchiveReason, DeletedOpportunity, Offer, Opportunity, Page, Posting, Requisition,
    RequisitionField, Stage,
};
use crate::ports::{Clock, LeverApi, OfferStore, OpportunityFilter, SecretSource};
use crate::record::{Outcome, Source};
use crate::secrets::TenantSecret;
use crate::store::MemoryStore;
use crate::sync::{ContextCache, LeverFactory, Mode, RunRequest, SyncOptions, Syncer};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TENANT: &str = "acme";
const KEY: &str = "stage-change-signature-token";
const NOW: i64 = 1_700_000_000_000;
const OPP: &str = "opp-1";

// ---------------------------------------------------------------------------------------------
// Doubles
// ---------------------------------------------------------------------------------------------

/// A Lever account with one posting and whatever opportunities a test puts in.
#[derive(Default)]
struct FakeLever {
    opportunities: Mutex<HashMap<String, Value>>,
    offers: Mutex<HashMap<String, Value>>,
    postings: Mutex<Vec<Value>>,
    failure: Mutex<Option<LeverError>>,
    calls: AtomicU64,
    stage_loads: AtomicU64,
}

impl FakeLever {
    fn new() -> Arc<Self> {
        let lever = FakeLever::default();
        *lever.postings.lock().expect("lock") =
            vec![json!({ "id": "p1", "text": "Engineer", "categories": { "department": "Eng" } })];
        Arc::new(lever)
    }

    fn put(&self, id: &str, opportunity: Value, offers: Value) {
        self.opportunities
            .lock()
            .expect("lock")
            .insert(id.to_owned(), opportunity);
        self.offers
            .lock()
            .expect("lock")
            .insert(id.to_owned(), offers);
    }

    fn fail_with(&self, failure: Option<LeverError>) {
        *self.failure.lock().expect("lock") = failure;
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    fn tick(&self) -> Result<(), LeverError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match &*self.failure.lock().expect("lock") {
            Some(LeverError::Unauthorized { status }) => {
                Err(LeverError::Unauthorized { status: *status })
            }
            Some(_) => Err(LeverError::Unavailable {
                attempts: 3,
                last_status: Some(503),
            }),
            None => Ok(()),
        }
    }
}

fn from<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("fixture decodes")
}

#[async_trait]
impl LeverApi for FakeLever {
    async fn stages(&self) -> Result<Vec<Stage>, LeverError> {
        self.tick()?;
        self.stage_loads.fetch_add(1, Ordering::SeqCst);
        Ok(from(
            json!([{ "id": "lead-new" }, { "id": "screen" }, { "id": "offer" }]),
        ))
    }
    async fn archive_reasons(&self) -> Result<Vec<ArchiveReason>, LeverError> {
        self.tick()?;
        Ok(from(
            json!([{ "id": "hired", "text": "Hired", "type": "hired" },
                       { "id": "declined", "text": "Declined", "type": "non-hired" }]),
        ))
    }
    async fn postings(&self) -> Result<Vec<Posting>, LeverError> {
        self.tick()?;
        Ok(from(Value::Array(
            self.postings.lock().expect("lock").clone(),
        )))
    }
    async fn requisitions(&self) -> Result<Vec<Requisition>, LeverError> {
        self.tick()?;
        Ok(vec![])
    }
    async fn requisition_fields(&self) -> Result<Vec<RequisitionField>, LeverError> {
        self.tick()?;
        Ok(vec![])
    }
    async fn opportunities_page(
        &self,
        _: &OpportunityFilter,
        _: Option<&str>,
    ) -> Result<Page<Opportunity>, LeverError> {
        self.tick()?;
        let all: Vec<Value> = self
            .opportunities
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect();
        Ok(Page {
            data: all.into_iter().map(from).collect(),
            has_next: false,
            next: None,
        })
    }
    async fn opportunity(&self, id: &str) -> Result<Option<Opportunity>, LeverError> {
        self.tick()?;
        Ok(self
            .opportunities
            .lock()
            .expect("lock")
            .get(id)
            .cloned()
            .map(from))
    }
    async fn offers(&self, id: &str) -> Result<Option<Vec<Offer>>, LeverError> {
        self.tick()?;
        Ok(self.offers.lock().expect("lock").get(id).cloned().map(from))
    }
    async fn deleted_page(
        &self,
        _: i64,
        _: Option<&str>,
    ) -> Result<Page<DeletedOpportunity>, LeverError> {
        self.tick()?;
        Ok(Page {
            data: vec![],
            has_next: false,
            next: None,
        })
    }
    fn calls(&self) -> u64 {
        FakeLever::calls(self)
    }
}

struct Factory(Arc<FakeLever>);

impl LeverFactory for Factory {
    fn client(&self, _: &str, _: &TenantSecret) -> Result<Arc<dyn LeverApi>, SyncError> {
        Ok(self.0.clone())
    }
}

/// A secret source with a container cache, whose stored secret a test can rotate.
#[derive(Default)]
struct RotatingSecrets {
    stored: Mutex<HashMap<String, Value>>,
    cached: Mutex<HashMap<String, TenantSecret>>,
    reads: AtomicU64,
    unavailable: Mutex<bool>,
}

impl RotatingSecrets {
    fn store(&self, tenant: &str, tokens: Value) {
        let text = json!({ "lever": { "api_key": "k" }, "pseudonym_key": "p-0123456789abcdef0123456789abcdef",
                           "webhook_tokens": tokens });
        self.stored
            .lock()
            .expect("lock")
            .insert(tenant.to_owned(), text);
    }

    fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }

    fn read(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if *self.unavailable.lock().expect("lock") {
            return Err(SecretError::Backend("ThrottlingException".into()));
        }
        let stored = self.stored.lock().expect("lock").get(tenant).cloned();
        let text = stored.ok_or_else(|| SecretError::NotFound {
            tenant: tenant.to_owned(),
        })?;
        let secret = TenantSecret::parse(tenant, &text.to_string())?;
        self.cached
            .lock()
            .expect("lock")
            .insert(tenant.to_owned(), secret.clone());
        Ok(secret)
    }
}

#[async_trait]
impl SecretSource for RotatingSecrets {
    async fn tenant_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        if let Some(hit) = self.cached.lock().expect("lock").get(tenant) {
            return Ok(hit.clone());
        }
        self.read(tenant)
    }

    async fn reload_tenant_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        self.read(tenant)
    }
}

struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The service over the doubles, with handles on each.
struct Harness {
    service: WebhookService,
    syncer: Arc<Syncer>,
    lever: Arc<FakeLever>,
    store: Arc<MemoryStore>,
    secrets: Arc<RotatingSecrets>,
    clock: Arc<TestClock>,
}

fn config() -> WebhookConfig {
    WebhookConfig {
        max_body_bytes: 64 * 1024,
        max_age_ms: 86_400_000,
        max_future_ms: 300_000,
        lever_max_attempts: 3,
        lever_timeout: Duration::from_secs(3),
        lever_retry_cap: Duration::from_millis(400),
        context_ttl: Duration::from_secs(900),
        secret_reread: Duration::from_secs(60),
    }
}

fn harness() -> Harness {
    let lever = FakeLever::new();
    lever.put(
        OPP,
        opportunity(OPP, "offer", Value::Null),
        offers_of(OPP, "sent"),
    );
    let store = Arc::new(MemoryStore::default());
    let secrets = Arc::new(RotatingSecrets::default());
    secrets.store(TENANT, all_events(&[KEY]));
    let clock = Arc::new(TestClock(AtomicI64::new(NOW)));

    let syncer = Arc::new(Syncer {
        store: store.clone(),
        secrets: secrets.clone(),
        lever: Arc::new(Factory(lever.clone())),
        clock: clock.clone(),
        options: SyncOptions::default(),
        contexts: ContextCache::new(Duration::from_secs(900), Duration::from_secs(60)),
    });
    Harness {
        service: WebhookService::new(syncer.clone(), config()),
        syncer,
        lever,
        store,
        secrets,
        clock,
    }
}

fn all_events(keys: &[&str]) -> Value {
    let events = [
        "candidateStageChange",
        "candidateArchiveChange",
        "candidateHired",
        "candidateDeleted",
        "applicationCreated",
    ];
    Value::Object(
        events
            .iter()
            .map(|e| (e.to_string(), json!(keys)))
            .collect(),
    )
}

fn opportunity(id: &str, stage: &str, archived: Value) -> Value {
    json!({ "id": id, "contact": format!("contact-{id}"), "stage": stage, "archived": archived,
            "applications": [{ "id": format!("app-{id}"), "posting": "p1" }] })
}

fn offers_of(id: &str, status: &str) -> Value {
    json!([{ "id": format!("offer-{id}"), "status": status, "createdAt": NOW - 5_000,
             "fields": [{ "identifier": "salary_amount", "value": 100000 },
                        { "identifier": "compensation_currency", "value": "EUR" },
                        { "identifier": "salary_interval", "value": "per-year-salary" }] }])
}

/// A delivery signed with `key` (Lever's scheme, computed independently of the verifier).
fn delivery(event: &str, token: &str, triggered_at: i64, key: &str) -> Value {
    let triggered = triggered_at.to_string();
    json!({ "event": event, "triggeredAt": triggered_at, "token": token,
            "signature": sign(key.as_bytes(), token, &triggered),
            "data": { "opportunityId": OPP, "candidateId": OPP, "contactId": "contact-1" } })
}

fn stage_change(token: &str) -> Value {
    delivery("candidateStageChange", token, NOW - 1_000, KEY)
}

impl Harness {
    async fn post(&self, body: &Value) -> WebhookResponse {
        self.post_raw("POST", "/acme", body.to_string().as_bytes())
            .await
    }

    async fn post_raw(&self, method: &str, path: &str, body: &[u8]) -> WebhookResponse {
        let request = WebhookRequest { method, path, body };
        self.service.handle(request).await
    }

    async fn records(&self) -> Vec<crate::record::OfferRecord> {
        self.store.scan_offers(TENANT).await.expect("scan")
    }
}

fn reason(response: &WebhookResponse) -> String {
    let body: Value = serde_json::from_str(&response.body).expect("json body");
    body["reason"].as_str().unwrap_or_default().to_owned()
}

fn status_of(response: &WebhookResponse) -> (u16, String) {
    let body: Value = serde_json::from_str(&response.body).expect("json body");
    (
        response.status,
        body["status"].as_str().unwrap_or_default().to_owned(),
    )
}

// ---------------------------------------------------------------------------------------------
// 200
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_stage_change_writes_the_opportunitys_offer() {
    let h = harness();

    let response = h.post(&stage_change("token-1")).await;

    assert_eq!(status_of(&response), (200, "processed".to_owned()));
    let records = h.records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].offer_id, "offer-opp-1");
    assert_eq!(records[0].outcome, Outcome::Pending);
    assert_eq!(records[0].provenance.source, Source::Webhook);
    assert_eq!(records[0].pay[0].amount.to_string(), "100000");
}

#[tokio::test]
async fn hired_and_declined_archives_set_the_outcome() {
    let h = harness();
    h.post(&stage_change("token-1")).await;

    h.lever.put(
        OPP,
        opportunity(
            OPP,
            "offer",
            json!({ "reason": "declined", "archivedAt": NOW }),
        ),
        offers_of(OPP, "sent"),
    );
    let archived = delivery("candidateArchiveChange", "token-2", NOW, KEY);
    assert_eq!(h.post(&archived).await.status, 200);
    assert_eq!(h.records().await[0].outcome, Outcome::Declined);

    h.lever.put(
        OPP,
        opportunity(
            OPP,
            "offer",
            json!({ "reason": "hired", "archivedAt": NOW }),
        ),
        offers_of(OPP, "signed"),
    );
    let hired = delivery("candidateHired", "token-3", NOW, KEY);
    assert_eq!(h.post(&hired).await.status, 200);
    let records = h.records().await;
    assert_eq!(
        (records[0].outcome, records[0].status.as_str()),
        (Outcome::Accepted, "signed")
    );
}

#[tokio::test]
async fn a_replayed_token_is_a_duplicate_and_does_no_work() {
    let h = harness();
    let body = stage_change("token-1");
    assert_eq!(
        status_of(&h.post(&body).await),
        (200, "processed".to_owned())
    );
    let calls = h.lever.calls();
    let writes = h.store.writes();

    for _ in 0..4 {
        assert_eq!(
            status_of(&h.post(&body).await),
            (200, "duplicate".to_owned())
        );
    }

    assert_eq!((h.lever.calls(), h.store.writes()), (calls, writes));
}

#[tokio::test]
async fn other_events_are_ignored_after_verification() {
    let h = harness();
    let body = delivery("applicationCreated", "token-1", NOW, KEY);

    let response = h.post(&body).await;

    assert_eq!(status_of(&response), (200, "ignored".to_owned()));
    assert_eq!(
        (h.lever.calls(), h.store.writes(), h.store.claims()),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn a_deleted_candidate_loses_its_records_without_asking_lever() {
    let h = harness();
    h.post(&stage_change("token-1")).await;
    assert_eq!(h.records().await.len(), 1);
    let calls = h.lever.calls();

    let response = h
        .post(&delivery("candidateDeleted", "token-2", NOW, KEY))
        .await;

    assert_eq!(status_of(&response), (200, "processed".to_owned()));
    assert!(h.records().await.is_empty());
    assert_eq!(h.lever.calls(), calls);
    let lookups = h
        .store
        .lookups(TENANT, &[OPP.to_owned()])
        .await
        .expect("lookups");
    assert!(lookups.is_empty());
}

#[tokio::test]
async fn an_opportunity_lever_no_longer_has_is_removed() {
    let h = harness();
    h.post(&stage_change("token-1")).await;
    h.lever.opportunities.lock().expect("lock").remove(OPP);

    let response = h.post(&stage_change("token-2")).await;

    assert_eq!(response.status, 200);
    assert!(h.records().await.is_empty());
}

#[tokio::test]
async fn dimensions_are_cached_and_reloaded_for_an_unknown_posting() {
    let h = harness();
    h.post(&stage_change("token-1")).await;
    h.post(&stage_change("token-2")).await;
    assert_eq!(
        h.lever.stage_loads.load(Ordering::SeqCst),
        1,
        "one load for two deliveries"
    );

    // A posting created after the cache was filled: reloaded once, then rate-limited.
    h.lever
        .postings
        .lock()
        .expect("lock")
        .push(json!({ "id": "p2", "text": "Designer" }));
    let mut moved = opportunity(OPP, "offer", Value::Null);
    moved["applications"][0]["posting"] = json!("p2");
    h.lever.put(OPP, moved, offers_of(OPP, "sent"));
    h.clock.0.fetch_add(61_000, Ordering::SeqCst);

    assert_eq!(
        h.post(&delivery("candidateStageChange", "token-3", NOW, KEY))
            .await
            .status,
        200
    );
    assert_eq!(h.lever.stage_loads.load(Ordering::SeqCst), 2);
    assert_eq!(h.records().await[0].job.title.as_deref(), Some("Designer"));
}

// ---------------------------------------------------------------------------------------------
// 400, 401, 404, 405, 413
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_bodies_get_400_naming_the_field() {
    let h = harness();
    let mut missing_token = stage_change("t");
    missing_token
        .as_object_mut()
        .expect("object")
        .remove("token");
    let mut float_time = stage_change("t");
    float_time["triggeredAt"] = json!(1700000000123.0_f64);
    let mut no_opportunity = stage_change("t");
    no_opportunity["data"] = json!({ "contactId": "c" });

    let cases = [
        (missing_token, "missing field token"),
        (
            float_time,
            "triggeredAt must be an integer of epoch milliseconds",
        ),
        (no_opportunity, "missing field data.opportunityId"),
    ];
    for (body, expected) in cases {
        let response = h.post(&body).await;
        assert_eq!(
            (response.status, reason(&response)),
            (400, expected.to_owned())
        );
    }
    assert_eq!(h.post_raw("POST", "/acme", b"{not json").await.status, 400);
    assert!(h.records().await.is_empty());
}

#[tokio::test]
async fn bad_and_missing_signatures_get_401() {
    let h = harness();
    let mut forged = stage_change("token-1");
    forged["signature"] = json!(sign(b"not-the-key", "token-1", &(NOW - 1_000).to_string()));
    let mut tampered = stage_change("token-1");
    tampered["token"] = json!("token-2");
    let mut unsigned = stage_change("token-1");
    unsigned
        .as_object_mut()
        .expect("object")
        .remove("signature");
    let mut not_hex = stage_change("token-1");
    not_hex["signature"] = json!("z".repeat(64));
    let mut over_body = stage_change("token-1");
    over_body["signature"] = json!(sign(
        KEY.as_bytes(),
        &stage_change("token-1").to_string(),
        ""
    ));

    let cases = [
        (forged, "bad signature"),
        (tampered, "bad signature"),
        (unsigned, "missing signature"),
        (not_hex, "bad signature"),
        (over_body, "bad signature"),
    ];
    for (body, expected) in cases {
        let response = h.post(&body).await;
        assert_eq!(
            (response.status, reason(&response)),
            (401, expected.to_owned())
        );
    }
    assert_eq!(
        (h.lever.calls(), h.store.writes(), h.store.claims()),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn stale_and_future_deliveries_get_401() {
    let h = harness();
    let stale = delivery("candidateStageChange", "t1", NOW - 86_400_001, KEY);
    let future = delivery("candidateStageChange", "t2", NOW + 300_001, KEY);
    let edge = delivery("candidateStageChange", "t3", NOW - 86_400_000, KEY);

    assert_eq!(reason(&h.post(&stale).await), "stale delivery");
    assert_eq!(
        reason(&h.post(&future).await),
        "triggeredAt is in the future"
    );
    assert_eq!(
        h.post(&edge).await.status,
        200,
        "the window's edge is inside"
    );
}

#[tokio::test]
async fn unknown_tenants_get_404_and_are_remembered() {
    let h = harness();
    let body = stage_change("t").to_string();

    for path in [
        "/globex",
        "/",
        "/a/b",
        "/bad%20name",
        "/lambda-url/webhook/globex",
    ] {
        let response = h.post_raw("POST", path, body.as_bytes()).await;
        assert_eq!(
            (response.status, reason(&response)),
            (404, "unknown tenant".to_owned()),
            "{path}"
        );
    }
    assert_eq!(
        h.secrets.reads(),
        1,
        "globex was looked up once, bad paths never"
    );

    let under_watch = h
        .post_raw("POST", "/lambda-url/webhook/acme", body.as_bytes())
        .await;
    assert_eq!(under_watch.status, 200);
}

#[tokio::test]
async fn wrong_method_gets_405_and_large_bodies_413() {
    let h = harness();

    let get = h.post_raw("GET", "/acme", b"").await;
    assert_eq!((get.status, get.allow), (405, Some("POST")));

    let big = vec![b' '; 64 * 1024 + 1];
    let response = h.post_raw("POST", "/acme", &big).await;
    assert_eq!(
        (response.status, reason(&response)),
        (413, "body too large".to_owned())
    );
}

#[test]
fn tenant_paths() {
    assert_eq!(tenant_from_path("/acme"), Some("acme"));
    assert_eq!(tenant_from_path("/acme/"), Some("acme"));
    assert_eq!(tenant_from_path("/acme?x=1"), Some("acme"));
    assert_eq!(tenant_from_path("/lambda-url/webhook/acme"), Some("acme"));
    assert_eq!(tenant_from_path("/lambda-url/webhook/"), None);
    assert_eq!(tenant_from_path(&format!("/{}", "a".repeat(65))), None);
}

// ---------------------------------------------------------------------------------------------
// Rotation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_rotated_token_is_picked_up_with_one_reread_and_forgeries_cannot_force_more() {
    let h = harness();
    assert_eq!(h.post(&stage_change("token-1")).await.status, 200);
    assert_eq!(h.secrets.reads(), 1);

    // Rotation: the secret now holds the old and the new token; the cache has only the old.
    h.secrets.store(TENANT, all_events(&[KEY, "rotated-token"]));
    let with_new = delivery("candidateStageChange", "token-2", NOW, "rotated-token");
    assert_eq!(h.post(&with_new).await.status, 200);
    assert_eq!(h.secrets.reads(), 2, "one re-read");

    // Forgeries within the re-read gap are refused from the cache.
    for n in 0..5 {
        let forged = delivery("candidateStageChange", &format!("f{n}"), NOW, "guess");
        assert_eq!(h.post(&forged).await.status, 401);
    }
    assert_eq!(
        h.secrets.reads(),
        2,
        "no re-read for forgeries inside the gap"
    );

    h.clock.0.fetch_add(61_000, Ordering::SeqCst);
    let forged = delivery("candidateStageChange", "f9", NOW, "guess");
    assert_eq!(h.post(&forged).await.status, 401);
    assert_eq!(h.secrets.reads(), 3, "at most one re-read per gap");
}

// ---------------------------------------------------------------------------------------------
// 5xx and nothing lost
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn lever_unavailable_gets_503_a_marker_and_the_retry_is_processed() {
    let h = harness();
    h.lever.fail_with(Some(LeverError::Unavailable {
        attempts: 3,
        last_status: Some(503),
    }));
    let body = stage_change("token-1");

    let response = h.post(&body).await;

    assert_eq!(status_of(&response), (503, "retry".to_owned()));
    let pending = h.store.pending(TENANT).await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].opportunity_id.as_str(), pending[0].attempts),
        (OPP, 1)
    );
    assert_eq!(pending[0].reason, "lever_unavailable");
    assert_eq!(h.store.claims(), 0, "claim released");

    // Lever retries the same delivery once the API is back: processed, not a duplicate.
    h.lever.fail_with(None);
    assert_eq!(
        status_of(&h.post(&body).await),
        (200, "processed".to_owned())
    );
    assert_eq!(h.records().await.len(), 1);
}

#[tokio::test]
async fn store_unavailable_still_answers_503() {
    let h = harness();
    h.store.fail_writes(true);

    let response = h.post(&stage_change("token-1")).await;

    assert_eq!(response.status, 503);
    assert!(h.store.pending(TENANT).await.expect("pending").is_empty());
}

#[tokio::test]
async fn secrets_manager_unavailable_answers_503() {
    let h = harness();
    *h.secrets.unavailable.lock().expect("lock") = true;

    assert_eq!(h.post(&stage_change("token-1")).await.status, 503);
}

#[tokio::test]
async fn a_revoked_lever_key_answers_500_and_keeps_a_marker() {
    let h = harness();
    h.lever
        .fail_with(Some(LeverError::Unauthorized { status: 401 }));

    let response = h.post(&stage_change("token-1")).await;

    assert_eq!(status_of(&response), (500, "error".to_owned()));
    assert_eq!(reason(&response), "internal error");
    assert_eq!(h.store.pending(TENANT).await.expect("pending").len(), 1);
}

#[tokio::test]
async fn a_copy_arriving_while_the_first_is_processing_waits_for_the_lease() {
    let h = harness();
    let body = stage_change("token-1");
    let claim = crate::store::DeliveryClaim {
        token_hash: delivery_key("token-1", &(NOW - 1_000).to_string()),
        now_ms: NOW,
        lease_until_ms: NOW + CLAIM_LEASE_MS,
        expires_at: NOW / 1000 + 90_000,
    };
    h.store.claim_delivery(TENANT, &claim).await.expect("claim");

    assert_eq!(reason(&h.post(&body).await), "delivery in progress");

    // The first attempt died: after the lease a retry takes over.
    h.clock.0.fetch_add(CLAIM_LEASE_MS + 1, Ordering::SeqCst);
    assert_eq!(
        status_of(&h.post(&body).await),
        (200, "processed".to_owned())
    );
}

#[tokio::test]
async fn the_next_backfill_drains_markers_and_reports_them() {
    let h = harness();
    h.lever.fail_with(Some(LeverError::Unavailable {
        attempts: 3,
        last_status: Some(503),
    }));
    assert_eq!(h.post(&stage_change("token-1")).await.status, 503);
    h.lever.fail_with(None);

    let request = RunRequest {
        tenant: TENANT.to_owned(),
        mode: Mode::Incremental,
        since: None,
        until: None,
        opportunity_ids: Some(vec!["unrelated".to_owned()]),
        dry_run: false,
    };
    let summary = h.syncer.run(&request, None).await;

    assert_eq!(
        (summary.pending_drained, summary.pending_left),
        (1, 0),
        "{:?}",
        summary.error
    );
    assert!(h.store.pending(TENANT).await.expect("pending").is_empty());
    let records = h.records().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].provenance.source, Source::Backfill);
}

#[tokio::test]
async fn a_marker_bumped_during_the_drain_is_kept() {
    let h = harness();
    h.store
        .put_pending(TENANT, OPP, "lever_unavailable", NOW)
        .await
        .expect("put");
    let read = h.store.pending(TENANT).await.expect("pending").remove(0);
    h.store
        .put_pending(TENANT, OPP, "lever_unavailable", NOW + 1)
        .await
        .expect("bump");

    assert!(!h.store.clear_pending(TENANT, &read).await.expect("clear"));
    let left = h.store.pending(TENANT).await.expect("pending");
    assert_eq!(
        (left.len(), left[0].attempts, left[0].first_seen_at),
        (1, 2, NOW)
    );
}

#[tokio::test]
async fn a_signature_reused_with_digits_moved_between_token_and_time_is_refused() {
    // GIVEN a processed delivery whose token ends in a digit
    let h = harness();
    let original = delivery("candidateStageChange", "tok-7", NOW - 1_000, KEY);
    assert_eq!(
        status_of(&h.post(&original).await),
        (200, "processed".to_owned())
    );

    // WHEN the same signature is sent with the digit moved into triggeredAt (a string with a
    // leading digit, or an integer that is then far in the future)
    let mut as_string = original.clone();
    as_string["token"] = json!("tok-");
    as_string["triggeredAt"] = json!(format!("7{}", NOW - 1_000));
    let mut as_integer = as_string.clone();
    as_integer["triggeredAt"] = json!(format!("7{}", NOW - 1_000).parse::<i64>().expect("digits"));

    // THEN neither is processed again
    assert_eq!(status_of(&h.post(&as_string).await).0, 400);
    assert_eq!(status_of(&h.post(&as_integer).await).0, 401);
}
