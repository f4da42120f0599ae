//! Engine tests with in-memory ports: a scripted Lever and the memory store.

use super::*;
use crate::error::SecretError;
use crate::lever::model::{
    ArchiveReason, DeletedOpportunity, Page, Posting, Requisition, RequisitionField, Stage,
};
use crate::secrets::{StaticSecrets, TenantSecret};
use crate::store::MemoryStore;
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A Lever account in memory: opportunities paged `page_size` at a time.
struct FakeLever {
    opportunities: Mutex<Vec<Opportunity>>,
    offers: Mutex<HashMap<String, Vec<Offer>>>,
    page_size: usize,
    calls: AtomicU64,
    fail_offers_for: Mutex<Option<String>>,
    /// Lever's requisitions endpoint answers 503 (after the client's retries).
    requisitions_down: AtomicBool,
    /// Ids `/opportunities/deleted` lists.
    deleted: Mutex<Vec<String>>,
}

impl FakeLever {
    fn new(opportunities: Vec<Value>, offers: Vec<(&str, Value)>) -> Self {
        FakeLever {
            opportunities: Mutex::new(opportunities.into_iter().map(from).collect()),
            offers: Mutex::new(
                offers
                    .into_iter()
                    .map(|(id, v)| (id.to_owned(), from(v)))
                    .collect(),
            ),
            page_size: 2,
            calls: AtomicU64::new(0),
            fail_offers_for: Mutex::new(None),
            requisitions_down: AtomicBool::new(false),
            deleted: Mutex::new(Vec::new()),
        }
    }

    fn tick(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

fn from<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("fixture decodes")
}

#[async_trait]
impl LeverApi for FakeLever {
    async fn stages(&self) -> Result<Vec<Stage>, LeverError> {
        self.tick();
        Ok(from(
            json!([{ "id": "lead-new", "text": "New" }, { "id": "offer", "text": "Offer" }]),
        ))
    }
    async fn archive_reasons(&self) -> Result<Vec<ArchiveReason>, LeverError> {
        self.tick();
        Ok(from(
            json!([{ "id": "hired", "text": "Hired", "type": "hired" },
                       { "id": "declined", "text": "Offer declined", "type": "non-hired" }]),
        ))
    }
    async fn postings(&self) -> Result<Vec<Posting>, LeverError> {
        self.tick();
        Ok(from(
            json!([{ "id": "p1", "text": "Engineer", "categories": { "department": "Eng" } }]),
        ))
    }
    async fn requisitions(&self) -> Result<Vec<Requisition>, LeverError> {
        self.tick();
        if self.requisitions_down.load(Ordering::SeqCst) {
            return Err(LeverError::Unavailable {
                attempts: 8,
                last_status: Some(503),
            });
        }
        Ok(vec![])
    }
    async fn requisition_fields(&self) -> Result<Vec<RequisitionField>, LeverError> {
        self.tick();
        Ok(vec![])
    }
    async fn opportunities_page(
        &self,
        filter: &OpportunityFilter,
        offset: Option<&str>,
    ) -> Result<Page<Opportunity>, LeverError> {
        self.tick();
        let all: Vec<Opportunity> = self
            .opportunities
            .lock()
            .expect("lock")
            .iter()
            .filter(|o| filter.archived != Some(false) || o.archived.is_none())
            .filter(|o| {
                filter
                    .updated_at_start
                    .is_none_or(|s| o.updated_at.is_some_and(|u| u >= s))
            })
            .cloned()
            .collect();
        let start: usize = offset
            .map(|o| o.parse().expect("numeric offset"))
            .unwrap_or(0);
        let end = (start + self.page_size).min(all.len());
        Ok(Page {
            data: all[start..end].to_vec(),
            has_next: end < all.len(),
            next: (end < all.len()).then(|| end.to_string()),
        })
    }
    async fn opportunity(&self, id: &str) -> Result<Option<Opportunity>, LeverError> {
        self.tick();
        Ok(self
            .opportunities
            .lock()
            .expect("lock")
            .iter()
            .find(|o| o.id == id)
            .cloned())
    }
    async fn offers(&self, opportunity_id: &str) -> Result<Option<Vec<Offer>>, LeverError> {
        self.tick();
        if self.fail_offers_for.lock().expect("lock").as_deref() == Some(opportunity_id) {
            return Err(LeverError::Unavailable {
                attempts: 8,
                last_status: Some(503),
            });
        }
        let offers = self.offers.lock().expect("lock");
        Ok(Some(
            offers.get(opportunity_id).cloned().unwrap_or_default(),
        ))
    }
    async fn deleted_page(
        &self,
        _: i64,
        _: Option<&str>,
    ) -> Result<Page<DeletedOpportunity>, LeverError> {
        self.tick();
        let ids = self.deleted.lock().expect("lock").clone();
        Ok(Page {
            data: ids
                .into_iter()
                .map(|id| from(json!({ "id": id, "deletedAt": 20 })))
                .collect(),
            has_next: false,
            next: None,
        })
    }
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

struct Factory(Arc<FakeLever>);

impl LeverFactory for Factory {
    fn client(&self, _: &str, _: &TenantSecret) -> Result<Arc<dyn LeverApi>, SyncError> {
        Ok(self.0.clone())
    }
}

struct FixedClock(i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

fn secret(settings: Value) -> TenantSecret {
    let text = json!({ "lever": { "api_key": "k" }, "pseudonym_key": "p-0123456789abcdef0123456789abcdef", "settings": settings });
    TenantSecret::parse("acme", &text.to_string()).expect("secret")
}

fn syncer(lever: Arc<FakeLever>, store: Arc<MemoryStore>, settings: Value) -> Syncer {
    Syncer {
        store,
        secrets: Arc::new(StaticSecrets::default().with("acme", secret(settings))),
        lever: Arc::new(Factory(lever)),
        clock: Arc::new(FixedClock(1_000_000)),
        options: SyncOptions {
            concurrency: 2,
            ..SyncOptions::default()
        },
        contexts: ContextCache::default(),
    }
}

fn opp(id: &str, stage_index: i64, archived: Value, updated_at: i64) -> Value {
    json!({ "id": id, "contact": format!("c-{id}"), "archived": archived, "updatedAt": updated_at,
            "stageChanges": [{ "toStageId": "x", "toStageIndex": stage_index }],
            "applications": [{ "id": format!("app-{id}"), "posting": "p1" }] })
}

fn salary(id: &str, status: &str, amount: i64) -> Value {
    json!([{ "id": id, "status": status, "createdAt": 1,
             "fields": [{ "identifier": "salary_amount", "value": amount },
                        { "identifier": "compensation_currency", "value": "USD" }] }])
}

fn request(mode: Mode) -> RunRequest {
    RunRequest {
        tenant: "acme".into(),
        mode,
        since: None,
        until: None,
        opportunity_ids: None,
        dry_run: false,
    }
}

fn account() -> FakeLever {
    FakeLever::new(
        vec![
            opp("o1", 1, Value::Null, 10),
            opp("o2", 0, Value::Null, 10),
            opp(
                "o3",
                1,
                json!({ "reason": "declined", "archivedAt": 5 }),
                10,
            ),
            opp("o4", 1, Value::Null, 10),
            opp("o5", 1, Value::Null, 10),
        ],
        vec![
            ("o1", salary("f1", "signed", 100)),
            ("o3", salary("f3", "sent", 300)),
            ("o4", salary("f4", "draft", 400)),
        ],
    )
}

#[tokio::test]
async fn full_run_writes_every_offer_once_and_skips_ineligible() {
    let (lever, store) = (Arc::new(account()), Arc::new(MemoryStore::default()));
    let sync = syncer(
        lever.clone(),
        store.clone(),
        json!({ "min_stage_id": "offer" }),
    );

    let summary = sync.run(&request(Mode::Full), None).await;

    assert_eq!(summary.status, RunStatus::Complete, "{:?}", summary.error);
    assert_eq!(
        (summary.opportunities_read, summary.opportunities_eligible),
        (5, 4)
    );
    assert_eq!((summary.offers_read, summary.offers_written), (3, 3));
    assert_eq!(summary.skipped.ineligible, 1);
    assert_eq!(
        summary.api_calls,
        5 + 3 + 1 + 4,
        "dimensions, pages, the deletions page, one offers read per eligible"
    );
    let mut outcomes: Vec<(String, &str)> = store
        .scan_offers("acme")
        .await
        .expect("scan")
        .into_iter()
        .map(|r| (r.offer_id, r.outcome.as_str()))
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        vec![
            ("f1".into(), "accepted"),
            ("f3".into(), "declined"),
            ("f4".into(), "pending")
        ]
    );
    assert_eq!(store.watermark("acme").await.expect("wm"), Some(1_000_000));
    assert_eq!(store.cursor("acme").await.expect("cursor"), None);
}

#[tokio::test]
async fn second_run_writes_nothing_and_incremental_picks_up_offer_edits() {
    let (lever, store) = (Arc::new(account()), Arc::new(MemoryStore::default()));
    let sync = syncer(lever.clone(), store.clone(), json!({}));
    sync.run(&request(Mode::Full), None).await;
    let writes_after_first = store.writes();

    let again = sync.run(&request(Mode::Full), None).await;
    assert_eq!((again.offers_written, again.offers_unchanged), (0, 3));
    assert_eq!(store.writes(), writes_after_first);

    // An offer edit on an active opportunity does not move updatedAt: the active listing finds it.
    lever
        .offers
        .lock()
        .expect("lock")
        .insert("o4".into(), from(salary("f4", "sent", 450)));
    let incremental = sync.run(&request(Mode::Incremental), None).await;
    assert_eq!(incremental.offers_written, 1, "{incremental:?}");
    assert_eq!(
        incremental.skipped.already_seen, 0,
        "nothing was updated inside the window"
    );
    let f4 = store
        .scan_offers("acme")
        .await
        .expect("scan")
        .into_iter()
        .find(|r| r.offer_id == "f4");
    assert_eq!(f4.map(|r| r.pay[0].amount.to_string()), Some("450".into()));
}

#[tokio::test]
async fn withdrawn_offer_is_deleted_and_dry_run_writes_nothing() {
    let (lever, store) = (Arc::new(account()), Arc::new(MemoryStore::default()));
    let sync = syncer(lever.clone(), store.clone(), json!({}));
    sync.run(&request(Mode::Full), None).await;

    lever.offers.lock().expect("lock").remove("o4");
    let mut dry = request(Mode::Full);
    dry.dry_run = true;
    let writes = store.writes();
    let preview = sync.run(&dry, None).await;
    assert_eq!((preview.offers_deleted, store.writes()), (1, writes));

    let real = sync.run(&request(Mode::Full), None).await;
    assert_eq!(real.offers_deleted, 1);
    assert_eq!(store.scan_offers("acme").await.expect("scan").len(), 2);
}

#[tokio::test]
async fn failed_page_leaves_a_cursor_and_the_next_run_resumes_there() {
    let (lever, store) = (Arc::new(account()), Arc::new(MemoryStore::default()));
    let sync = syncer(lever.clone(), store.clone(), json!({}));
    *lever.fail_offers_for.lock().expect("lock") = Some("o3".into());

    let failed = sync.run(&request(Mode::Full), None).await;
    assert_eq!(failed.status, RunStatus::Partial);
    assert_eq!(
        failed.offers_written, 1,
        "page 1 (o1, o2) was written before page 2 failed"
    );
    let cursor = store
        .cursor("acme")
        .await
        .expect("cursor")
        .expect("cursor kept");
    assert_eq!(cursor.offset.as_deref(), Some("2"));
    assert_eq!(store.watermark("acme").await.expect("wm"), None);

    *lever.fail_offers_for.lock().expect("lock") = None;
    let resumed = sync.run(&request(Mode::Full), None).await;
    assert!(resumed.resumed);
    assert_eq!(
        (
            resumed.status,
            resumed.opportunities_read,
            resumed.offers_written
        ),
        (RunStatus::Complete, 3, 2)
    );
    assert_eq!(store.scan_offers("acme").await.expect("scan").len(), 3);
}

#[tokio::test]
async fn explicit_opportunity_ids_and_unknown_tenant() {
    let (lever, store) = (Arc::new(account()), Arc::new(MemoryStore::default()));
    let sync = syncer(lever.clone(), store.clone(), json!({}));
    let mut one = request(Mode::Full);
    one.opportunity_ids = Some(vec!["o1".into(), "missing".into(), "o1".into()]);

    let summary = sync.run(&one, None).await;
    assert_eq!((summary.offers_written, summary.skipped.not_found), (1, 1));

    let mut other = request(Mode::Full);
    other.tenant = "globex".into();
    let failed = sync.run(&other, None).await;
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(
        failed.error,
        Some(
            SecretError::NotFound {
                tenant: "globex".into()
            }
            .to_string()
        )
    );
}

#[tokio::test]
async fn a_windowed_run_leaves_the_watermark_alone() {
    let (lever, store) = (Arc::new(account()), Arc::new(MemoryStore::default()));
    let sync = syncer(lever, store.clone(), json!({}));
    sync.run(&request(Mode::Full), None).await;
    store.set_watermark("acme", 42).await.expect("watermark");

    let mut windowed = request(Mode::Incremental);
    windowed.since = Some(5);
    let summary = sync.run(&windowed, None).await;

    assert_eq!(summary.status, RunStatus::Complete);
    assert_eq!(store.watermark("acme").await.expect("watermark"), Some(42));

    let unbounded = sync.run(&request(Mode::Incremental), None).await;
    assert_eq!(unbounded.status, RunStatus::Complete);
    assert_eq!(
        store.watermark("acme").await.expect("watermark"),
        Some(1_000_000)
    );
}

#[tokio::test]
async fn the_schedule_continues_an_unfinished_full_backfill() {
    let (lever, store) = (Arc::new(account()), Arc::new(MemoryStore::default()));
    let sync = syncer(lever, store.clone(), json!({}));

    // Already past the margin: one page, then a clean stop with a cursor.
    let stopped = sync.run(&request(Mode::Full), Some(Instant::now())).await;
    assert_eq!(
        (stopped.status, stopped.opportunities_read),
        (RunStatus::Partial, 2)
    );

    let nightly = sync.run_scheduled(&["acme".to_owned()], None).await;

    assert_eq!(nightly.len(), 1);
    let run = &nightly[0];
    assert_eq!(
        (run.mode, run.resumed, run.status, run.opportunities_read),
        (Mode::Full, true, RunStatus::Complete, 3)
    );
    assert_eq!(store.scan_offers("acme").await.expect("scan").len(), 3);
    assert_eq!(store.cursor("acme").await.expect("cursor"), None);
    assert_eq!(store.watermark("acme").await.expect("wm"), Some(1_000_000));

    let next_night = sync.run_scheduled(&["acme".to_owned()], None).await;
    assert_eq!(
        (next_night[0].mode, next_night[0].resumed),
        (Mode::Incremental, false)
    );
}

#[tokio::test]
async fn an_ids_run_stops_before_the_deadline_and_names_the_ids_left() {
    let (lever, store) = (Arc::new(account()), Arc::new(MemoryStore::default()));
    let sync = syncer(lever, store.clone(), json!({}));
    let mut ids = request(Mode::Full);
    ids.opportunity_ids = Some(vec!["o4".into(), "o1".into(), "o3".into()]);

    let stopped = sync.run(&ids, Some(Instant::now())).await;

    assert_eq!(
        (stopped.status, stopped.offers_written),
        (RunStatus::Partial, 1)
    );
    assert_eq!(
        stopped.ids_remaining,
        vec!["o3".to_owned(), "o4".to_owned()]
    );
    assert_eq!(store.cursor("acme").await.expect("cursor"), None);

    ids.opportunity_ids = Some(stopped.ids_remaining.clone());
    let rest = sync.run(&ids, None).await;
    assert_eq!((rest.status, rest.offers_written), (RunStatus::Complete, 2));
    assert!(rest.ids_remaining.is_empty());
    assert_eq!(store.scan_offers("acme").await.expect("scan").len(), 3);
}

#[tokio::test]
async fn calls_spent_loading_the_dimensions_are_counted_when_it_fails() {
    let (lever, store) = (Arc::new(account()), Arc::new(MemoryStore::default()));
    lever.requisitions_down.store(true, Ordering::SeqCst);
    let sync = syncer(lever, store, json!({}));

    let failed = sync.run(&request(Mode::Full), None).await;

    assert_eq!(
        failed.status,
        RunStatus::Partial,
        "a Lever outage is transient"
    );
    assert_eq!(
        failed.api_calls, 4,
        "stages, archive reasons, postings, then the failed requisitions (the join stops there)"
    );
    assert!(failed.error.is_some_and(|e| e.contains("503")));
}

#[tokio::test]
async fn a_dry_run_previews_deletions_without_removing_anything() {
    let (lever, store) = (Arc::new(account()), Arc::new(MemoryStore::default()));
    let sync = syncer(lever.clone(), store.clone(), json!({}));
    sync.run(&request(Mode::Full), None).await;
    *lever.deleted.lock().expect("lock") = vec!["o1".into(), "o3".into(), "never-stored".into()];
    let writes = store.writes();

    let mut dry = request(Mode::Full);
    dry.dry_run = true;
    let preview = sync.run(&dry, None).await;

    assert_eq!(
        (preview.opportunities_deleted, preview.offers_deleted),
        (2, 2)
    );
    assert_eq!(store.writes(), writes);
    assert_eq!(store.scan_offers("acme").await.expect("scan").len(), 3);

    let real = sync.run(&request(Mode::Full), None).await;
    assert_eq!((real.opportunities_deleted, real.offers_deleted), (2, 2));
    let left: Vec<String> = store
        .scan_offers("acme")
        .await
        .expect("scan")
        .into_iter()
        .map(|r| r.offer_id)
        .collect();
    assert_eq!(left, vec!["f4".to_owned()]);
}
