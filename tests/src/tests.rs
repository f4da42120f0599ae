//! Tests of the generator, the truth and the HTTP behaviour (over real loopback sockets).

use crate::*;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashSet;
use std::time::{Duration, Instant};

// ---------- helpers ----------

/// A config without rate limiting, for functional tests.
fn fast(opportunities: usize) -> SimConfig {
    SimConfig {
        opportunities,
        rate_per_sec: 1e6,
        burst: 1_000_000,
        ..SimConfig::default()
    }
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", self.body))
    }
}

/// GET `<base_url><path_and_query>` with the sim's key; the query is sent as written.
async fn get(sim: &Sim, path_and_query: &str) -> Reply {
    get_as(sim, path_and_query, Some(sim.api_key())).await
}

async fn get_as(sim: &Sim, path_and_query: &str, key: Option<&str>) -> Reply {
    let client = reqwest::Client::new();
    let mut req = client.get(format!("{}{}", sim.base_url(), path_and_query));
    if let Some(key) = key {
        req = req.basic_auth(key, Some(""));
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    Reply {
        status,
        headers,
        body,
    }
}

/// Walks a list to the end, sending `next` back verbatim; returns every item.
async fn walk(sim: &Sim, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut offset: Option<String> = None;
    for _ in 0..10_000 {
        let url = match &offset {
            Some(t) => format!("{path}{sep}limit={limit}&offset={t}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let r = get(sim, &url).await;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        let v = r.json();
        let data = v["data"].as_array().expect("data").clone();
        assert!(data.len() <= limit);
        items.extend(data);
        if v["hasNext"] == Value::Bool(false) {
            assert!(v.get("next").is_none(), "no next on the last page");
            return items;
        }
        offset = Some(v["next"].as_str().expect("next").to_string());
    }
    panic!("walk did not end")
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_string())
        .collect()
}

// ---------- generator and truth ----------

#[test]
fn same_seed_same_truth_other_seed_differs() {
    let a = generate(42, 500, DEFAULT_NOW_MS);
    let b = generate(42, 500, DEFAULT_NOW_MS);
    let c = generate(43, 500, DEFAULT_NOW_MS);
    assert_eq!(a, b);
    assert_eq!(a.truth(), b.truth());
    assert_eq!(
        serde_json::to_string(&a.truth()).unwrap(),
        serde_json::to_string(&b.truth()).unwrap()
    );
    assert_ne!(a.truth(), c.truth());
}

#[test]
fn dataset_has_the_required_variety() {
    let d = generate(7, 3000, DEFAULT_NOW_MS);
    let offer_idx = d.stage_index(d.offer_stage_id()).unwrap();

    // Stages: readable and UUID-shaped ids, Offer included.
    assert!(d.stages.iter().any(|s| s.id == "lead-new"));
    assert!(d.stages.iter().any(|s| s.id.len() == 36));
    assert_eq!(d.stages[offer_idx].text, "Offer");

    // Places and currencies.
    let countries: HashSet<&str> = d.postings.iter().map(|p| p.country.as_str()).collect();
    for c in ["US", "GB", "DE", "CA", "IN"] {
        assert!(countries.contains(c), "missing {c}");
    }
    assert!(d.postings.len() >= 40);
    assert!(d.postings.iter().any(|p| p.confidential));
    assert!(d.postings.iter().any(|p| p.level.is_none()));
    assert!(d.requisitions.iter().any(|r| r.confidential));

    // Offers only where the Offer stage was reached or the candidate was hired.
    for o in &d.opportunities {
        if !o.offers.is_empty() {
            assert!(
                o.max_stage_index() >= offer_idx || d.is_hired(o),
                "offer on {}",
                o.id
            );
        }
    }
    let with_offer_stage = d
        .opportunities
        .iter()
        .filter(|o| o.max_stage_index() >= offer_idx)
        .count();
    let share = with_offer_stage as f64 / d.opportunities.len() as f64;
    assert!((0.2..0.4).contains(&share), "offer-stage share {share}");

    // Shape variants.
    let opps = &d.opportunities;
    assert!(
        opps.iter()
            .any(|o| o.shape.archive_top_level && o.archive.is_some())
    );
    assert!(opps.iter().any(|o| o.shape.string_timestamps));
    assert!(opps.iter().any(|o| o.updated_at.is_none()));
    assert!(
        opps.iter()
            .any(|o| o.application.is_none() && !o.offers.is_empty())
    );
    assert!(opps.iter().any(|o| o.offers.len() == 2));
    assert!(opps.iter().any(|o| {
        o.application
            .as_ref()
            .is_some_and(|a| a.requisition_for_hire.is_some())
    }));
    let offers: Vec<&Offer> = opps.iter().flat_map(|o| &o.offers).collect();
    let t = |f: fn(&OfferTerms) -> bool| offers.iter().any(|o| f(&o.terms));
    assert!(t(|t| t.requisition.is_none()));
    assert!(t(|t| t.job_posting.is_none()));
    assert!(t(|t| t.interval == Interval::Month));
    assert!(t(|t| t.interval == Interval::Hour));
    assert!(t(|t| t
        .sign_on_bonus
        .is_some_and(|p| p.shape == Shape::MoneyObject)));
    assert!(t(|t| t
        .salary
        .is_some_and(|p| p.shape == Shape::NumericString)));
    assert!(t(|t| t.rsu_grant_value.is_some_and(|p| p.amount.is_none())));
    assert!(t(|t| t
        .relocation
        .is_some_and(|p| p.amount == Some(Decimal::ZERO))));
    assert!(t(|t| t.notes.is_some()));
    for s in [
        "draft",
        "approval-sent",
        "approved",
        "sent",
        "sent-manually",
        "opened",
        "denied",
        "signed",
    ] {
        assert!(
            offers.iter().any(|o| o.status.as_str() == s),
            "no {s} offer"
        );
    }
    let other_posting = opps.iter().any(|o| {
        o.offers.iter().any(|f| {
            f.terms
                .job_posting
                .as_ref()
                .is_some_and(|p| o.application.as_ref().is_some_and(|a| &a.posting_id != p))
        })
    });
    assert!(other_posting);
    assert!(!d.deleted.is_empty());
}

#[test]
fn truth_follows_the_documented_rules() {
    let d = generate(11, 2000, DEFAULT_NOW_MS);
    let truth = d.truth();
    let offers: usize = d.opportunities.iter().map(|o| o.offers.len()).sum();
    assert_eq!(truth.offers.len(), offers);

    for t in &truth.offers {
        // Sorted by (kind, source_field); no element without an amount.
        let keys: Vec<_> = t
            .pay
            .iter()
            .map(|p| (p.kind, p.source_field.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);

        for p in &t.pay {
            match (p.kind, p.period) {
                (PayKind::HourlyWage, _) => {
                    assert_eq!(p.annualized_amount, Some(p.amount * Decimal::from(2080)))
                }
                (PayKind::BaseSalary, Period::Month) => {
                    assert_eq!(p.annualized_amount, Some(p.amount * Decimal::from(12)))
                }
                (_, Period::OneTime) => assert_eq!(p.annualized_amount, None),
                _ => {}
            }
            if p.unit == PayUnit::Shares {
                assert_eq!(p.currency, None);
            }
            if let Some(a) = p.annualized_amount {
                assert_eq!(a.scale(), 2, "annualized amounts have 2 decimals");
            }
        }
        let base = t.pay.iter().find(|p| p.source_field == "salary_amount");
        if let Some(bonus) = t.pay.iter().find(|p| p.unit == PayUnit::Percent) {
            let expected = base.and_then(|b| b.annualized_amount).map(|b| {
                let mut v = (b * bonus.amount / Decimal::from(100)).round_dp(2);
                v.rescale(2);
                v
            });
            assert_eq!(bonus.annualized_amount, expected);
        }

        // Outcome rule.
        let opp = d.opportunity(&t.opportunity_id).unwrap();
        let offer = opp.offers.iter().find(|o| o.id == t.offer_id).unwrap();
        let later = opp.offers.iter().any(|o| o.created_at > offer.created_at);
        let expected = if offer.status == OfferStatus::Signed {
            Outcome::Accepted
        } else if later {
            Outcome::Superseded
        } else if d.is_hired(opp) {
            Outcome::Accepted
        } else if opp.archive.is_some() {
            Outcome::Declined
        } else {
            Outcome::Pending
        };
        assert_eq!(t.outcome, expected);
        assert_eq!(
            t.keyed_by == KeyedBy::Application,
            t.application_id.is_some()
        );
        assert_eq!(t.requisition_id.is_some(), t.requisition_code.is_some());
    }

    // Zero amounts are elements; PII covers every name, e-mail and phone.
    assert!(
        truth
            .offers
            .iter()
            .flat_map(|t| &t.pay)
            .any(|p| p.amount.is_zero())
    );
    for o in &d.opportunities {
        for s in [&o.person.name, &o.person.email, &o.person.phone] {
            assert!(truth.pii.binary_search(s).is_ok(), "pii misses {s}");
        }
    }
}

#[test]
fn truth_serializes_in_the_documented_schema() {
    let truth = generate(3, 300, DEFAULT_NOW_MS).truth();
    let v = serde_json::to_value(&truth).unwrap();
    let offer = &v["offers"][0];
    for key in [
        "offer_id",
        "opportunity_id",
        "application_id",
        "keyed_by",
        "status",
        "outcome",
        "currency",
        "pay",
        "posting_id",
        "requisition_id",
        "requisition_code",
        "job",
        "stage_id",
        "archive_reason_id",
        "archived_at",
        "contact_id",
        "confidential",
    ] {
        assert!(offer.get(key).is_some(), "missing {key}");
    }
    let pay = &offer["pay"][0];
    assert!(pay["amount"].is_string());
    assert!(pay["annualized_amount"].is_string() || pay["annualized_amount"].is_null());
    let back: Truth = serde_json::from_value(v).unwrap();
    assert_eq!(back, truth);
}

#[test]
fn mapping_is_the_documented_document() {
    let m = tenant_mapping();
    assert_eq!(m["offer_fields"]["custom_rsu_shares"]["unit"], "shares");
    assert_eq!(m["requisition_fields"]["level"], "job_level");
    assert_eq!(m["annualization"]["hour"], "2080");
    assert!(m["default_currency"].is_null());
}

#[test]
fn large_generation_is_fast_enough() {
    let start = Instant::now();
    let d = generate(1, 50_000, DEFAULT_NOW_MS);
    let elapsed = start.elapsed();
    assert!(d.opportunities.len() > 49_000);
    // Release builds must stay under 5 s; debug builds get a generous bound.
    let bound = if cfg!(debug_assertions) {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(5)
    };
    assert!(elapsed < bound, "generation took {elapsed:?}");
}

// ---------- HTTP ----------

#[tokio::test]
async fn auth_is_required() {
    let sim = Sim::spawn(fast(50)).await;
    assert_eq!(get_as(&sim, "/stages", None).await.status, 401);
    let wrong = get_as(&sim, "/stages", Some("nope")).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["code"], "UnauthorizedError");
    assert_eq!(get(&sim, "/stages").await.status, 200);
}

#[tokio::test]
async fn paging_walks_every_opportunity_once() {
    let sim = Sim::spawn(fast(400)).await;
    let all = ids(&walk(&sim, "/opportunities?confidentiality=all", 37).await);
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "duplicates in the walk");

    let expected: HashSet<String> =
        sim.with_dataset(|d| d.opportunities.iter().map(|o| o.id.clone()).collect());
    assert_eq!(unique.len(), expected.len());
    assert!(all.iter().all(|id| expected.contains(id)));

    // Non-confidential by default.
    let public = walk(&sim, "/opportunities", 37).await;
    let confidential =
        sim.with_dataset(|d| d.opportunities.iter().filter(|o| o.confidential).count());
    assert!(confidential > 0);
    assert_eq!(public.len(), expected.len() - confidential);
    assert!(
        public
            .iter()
            .all(|o| o["confidentiality"] == "non-confidential")
    );
}

#[tokio::test]
async fn tokens_must_be_sent_back_verbatim() {
    let sim = Sim::spawn(fast(200)).await;
    let first = get(&sim, "/opportunities?limit=10").await.json();
    let next = first["next"].as_str().unwrap().to_string();
    assert!(next.starts_with("%5B") && next.ends_with("%5D"), "{next}");

    let decoded = percent_encoding::percent_decode_str(&next)
        .decode_utf8()
        .unwrap()
        .to_string();
    let decoded_sent = decoded.replace('"', "%22");
    let double = next.replace('%', "%25");
    for bad in [decoded_sent, double] {
        let r = get(&sim, &format!("/opportunities?limit=10&offset={bad}")).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(
            r.json(),
            serde_json::json!({
                "code": "BadRequestError",
                "message": "Invalid offset token: Offset token is invalid for sort",
            })
        );
    }

    // The verbatim token works, and continues after the first page.
    let second = get(&sim, &format!("/opportunities?limit=10&offset={next}"))
        .await
        .json();
    let first_ids = ids(first["data"].as_array().unwrap());
    let second_ids = ids(second["data"].as_array().unwrap());
    assert!(second_ids.iter().all(|id| !first_ids.contains(id)));

    // A token of another route is refused.
    assert_eq!(
        get(&sim, &format!("/postings?offset={next}")).await.status,
        400
    );

    // Invalidation.
    sim.set_faults(Faults {
        invalidate_tokens: Some(true),
        ..Faults::default()
    });
    assert_eq!(
        get(&sim, &format!("/opportunities?limit=10&offset={next}"))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn limit_is_bounded() {
    let sim = Sim::spawn(fast(50)).await;
    for bad in ["101", "0", "x"] {
        let r = get(&sim, &format!("/opportunities?limit={bad}")).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["code"], "BadRequestError");
    }
    let ok = get(&sim, "/opportunities?limit=100&confidentiality=all")
        .await
        .json();
    assert_eq!(ok["data"].as_array().unwrap().len(), 50);
    assert_eq!(ok["hasNext"], false);
}

#[tokio::test]
async fn confidential_records_need_confidentiality_all() {
    let sim = Sim::spawn(fast(300)).await;
    for list in ["postings", "requisitions"] {
        let public = walk(&sim, &format!("/{list}"), 100).await;
        let all = walk(&sim, &format!("/{list}?confidentiality=all"), 100).await;
        assert!(all.len() > public.len(), "{list}");
        assert!(
            public
                .iter()
                .all(|p| p["confidentiality"] == "non-confidential")
        );
    }

    // Confidential opportunities and their offers are served by id.
    let conf = sim.with_dataset(|d| {
        d.opportunities
            .iter()
            .find(|o| o.confidential)
            .map(|o| o.id.clone())
    });
    let id = conf.expect("a confidential opportunity");
    assert_eq!(get(&sim, &format!("/opportunities/{id}")).await.status, 200);
    assert_eq!(
        get(&sim, &format!("/opportunities/{id}/offers"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn rate_limit_answers_429_without_retry_after() {
    let cfg = SimConfig {
        opportunities: 20,
        rate_per_sec: 1.0,
        burst: 5,
        ..SimConfig::default()
    };
    let sim = Sim::spawn(cfg).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = get(&sim, "/stages").await;
        if r.status == 429 {
            assert!(r.headers.get("retry-after").is_none());
            assert_eq!(r.json()["code"], "TooManyRequests");
        }
        statuses.push(r.status);
    }
    assert_eq!(&statuses[..5], &[200; 5]);
    assert!(statuses[5..].contains(&429), "{statuses:?}");
    assert_eq!(
        sim.counters().get("GET /v1/stages", 429),
        statuses.iter().filter(|s| **s == 429).count() as u64
    );
}

#[tokio::test]
async fn faults_fire_the_requested_number_of_times() {
    let sim = Sim::spawn(fast(100)).await;

    sim.set_faults(Faults {
        fail_5xx: Some(3),
        ..Faults::default()
    });
    let mut s = Vec::new();
    for _ in 0..4 {
        s.push(get(&sim, "/stages").await.status);
    }
    assert_eq!(s, [500, 503, 500, 200]);

    sim.set_faults(Faults {
        storm_429: Some(2),
        ..Faults::default()
    });
    let mut s = Vec::new();
    for _ in 0..3 {
        s.push(get(&sim, "/stages").await.status);
    }
    assert_eq!(s, [429, 429, 200]);

    sim.set_faults(Faults {
        malformed_pages: Some(1),
        ..Faults::default()
    });
    let bad = get(&sim, "/opportunities").await;
    assert_eq!(bad.status, 200);
    assert!(serde_json::from_str::<Value>(&bad.body).is_err());
    assert!(serde_json::from_str::<Value>(&get(&sim, "/opportunities").await.body).is_ok());

    let opp = sim.with_dataset(|d| d.opportunities[0].id.clone());
    sim.set_faults(Faults {
        not_found_offers: Some(vec![opp.clone()]),
        ..Faults::default()
    });
    let r = get(&sim, &format!("/opportunities/{opp}/offers")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], "ResourceNotFound");

    sim.set_faults(Faults {
        slow_ms: Some(300),
        slow_count: Some(1),
        ..Faults::default()
    });
    let t0 = Instant::now();
    get(&sim, "/stages").await;
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let t1 = Instant::now();
    get(&sim, "/stages").await;
    assert!(t1.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn counters_by_route_template() {
    let sim = Sim::spawn(fast(60)).await;
    let opps: Vec<String> = sim.with_dataset(|d| {
        d.opportunities
            .iter()
            .take(3)
            .map(|o| o.id.clone())
            .collect()
    });
    for id in &opps {
        get(&sim, &format!("/opportunities/{id}/offers")).await;
    }
    get(&sim, "/opportunities/not-an-id/offers").await;
    get(&sim, "/nowhere").await;
    get_as(&sim, "/stages", None).await;

    let c = sim.counters();
    assert_eq!(c.get("GET /v1/opportunities/:id/offers", 200), 3);
    assert_eq!(c.get("GET /v1/opportunities/:id/offers", 404), 1);
    assert_eq!(c.get("GET /v1/*", 404), 1);
    assert_eq!(c.get("GET /v1/stages", 401), 1);
    assert_eq!(c.total, 6);

    // The control API reports the same and is not counted itself.
    let url = format!("{}/counters", sim.control_url());
    let over_http: Counters = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(over_http, c);
    assert_eq!(sim.counters().total, 6);

    let reset = reqwest::Client::new()
        .post(format!("{url}/reset"))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    assert_eq!(sim.counters(), Counters::default());
}

#[tokio::test]
async fn opportunity_shapes_and_expand() {
    let sim = Sim::spawn(fast(600)).await;
    let all = walk(
        &sim,
        "/opportunities?confidentiality=all&expand=applications",
        100,
    )
    .await;
    let plain = walk(&sim, "/opportunities?confidentiality=all", 100).await;

    let with_app = all
        .iter()
        .find(|o| !o["applications"].as_array().unwrap().is_empty())
        .unwrap();
    let app = &with_app["applications"][0];
    assert_eq!(app["opportunityId"], with_app["id"]);
    assert_eq!(app["type"], "posting");
    assert!(plain.iter().any(|o| o["applications"][0].is_string()));
    assert!(
        all.iter()
            .any(|o| o["applications"].as_array().unwrap().is_empty())
    );

    assert!(
        all.iter()
            .any(|o| o["archived"].is_null() && o.get("archivedAt").is_none())
    );
    assert!(all.iter().any(|o| o["archived"]["reason"].is_string()));
    assert!(
        all.iter()
            .any(|o| o.get("archived").is_none() && o["archiveReason"].is_string())
    );
    assert!(all.iter().any(|o| o["createdAt"].is_string()));
    assert!(all.iter().any(|o| o["updatedAt"].is_null()));
}

#[tokio::test]
async fn filters_match_lever_semantics() {
    let sim = Sim::spawn(fast(400)).await;
    let d = sim.dataset();
    let pivot = d.opportunities[d.opportunities.len() / 2]
        .updated_at
        .unwrap_or(d.now_ms);

    let updated = walk(
        &sim,
        &format!("/opportunities?confidentiality=all&updated_at_start={pivot}"),
        100,
    )
    .await;
    let expected = d
        .opportunities
        .iter()
        .filter(|o| o.updated_at.is_some_and(|u| u >= pivot))
        .count();
    assert_eq!(updated.len(), expected);

    let from0 = walk(
        &sim,
        "/opportunities?confidentiality=all&updated_at_start=0",
        100,
    )
    .await;
    let nulls = d
        .opportunities
        .iter()
        .filter(|o| o.updated_at.is_none())
        .count();
    assert_eq!(from0.len(), d.opportunities.len() - nulls);

    let archived = walk(
        &sim,
        "/opportunities?confidentiality=all&archived=true",
        100,
    )
    .await;
    assert_eq!(
        archived.len(),
        d.opportunities
            .iter()
            .filter(|o| o.archive.is_some())
            .count()
    );

    let c = d.opportunities[10].created_at;
    let exact = walk(
        &sim,
        &format!("/opportunities?confidentiality=all&created_at_start={c}&created_at_end={c}"),
        100,
    )
    .await;
    assert!(ids(&exact).contains(&d.opportunities[10].id));

    let stages = ids(&walk(&sim, "/stages", 100).await);
    assert_eq!(
        stages,
        d.stages.iter().map(|s| s.id.clone()).collect::<Vec<_>>()
    );
    let hired = walk(&sim, "/archive_reasons?type=hired", 100).await;
    assert!(hired.iter().all(|r| r["type"] == "hired") && !hired.is_empty());
    let active_users = walk(&sim, "/users", 100).await.len();
    let all_users = walk(&sim, "/users?includeDeactivated=true", 100)
        .await
        .len();
    assert!(all_users > active_users);
}

#[tokio::test]
async fn mutations_change_truth_and_respect_updated_at() {
    let sim = Sim::spawn(fast(500)).await;
    let twin = Sim::spawn(fast(500)).await;
    let before = sim.truth();
    let old = sim.dataset();

    let changes = sim.mutate(8);
    assert_eq!(changes.len(), 8);
    let twin_changes = twin.mutate(8);
    let strip = |c: &[Change]| {
        c.iter()
            .map(|c| (c.opportunity_id.clone(), c.kind))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strip(&changes),
        strip(&twin_changes),
        "mutations are deterministic"
    );

    let after = sim.truth();
    assert_ne!(before, after);
    let kinds: HashSet<ChangeKind> = changes.iter().map(|c| c.kind).collect();
    assert_eq!(kinds.len(), 4, "all kinds happen");

    let touched_once = |id: &str| changes.iter().filter(|c| c.opportunity_id == id).count() == 1;
    for c in changes.iter().filter(|c| touched_once(&c.opportunity_id)) {
        let opp = get(&sim, &format!("/opportunities/{}", c.opportunity_id))
            .await
            .json();
        let was = old.opportunity(&c.opportunity_id).unwrap().updated_at;
        let now = opp["data"]["updatedAt"].as_i64();
        match c.kind {
            ChangeKind::OfferSigned | ChangeKind::SalaryRevised => {
                assert_eq!(now, was, "offer-only change")
            }
            ChangeKind::ArchivedDeclined | ChangeKind::Hired | ChangeKind::MovedToOffer => {
                assert!(now > was);
                assert!(
                    opp["data"]["archived"].is_object() || !opp["data"]["archivedAt"].is_null()
                );
            }
        }
        let offer = after.offer(c.offer_ids.last().unwrap()).unwrap();
        match c.kind {
            ChangeKind::OfferSigned | ChangeKind::Hired => {
                assert_eq!(offer.outcome, Outcome::Accepted)
            }
            ChangeKind::MovedToOffer => assert_eq!(offer.outcome, Outcome::Pending),
            ChangeKind::ArchivedDeclined => assert_eq!(offer.outcome, Outcome::Declined),
            ChangeKind::SalaryRevised => {
                let base = |t: &Truth| {
                    t.offer(&offer.offer_id)
                        .unwrap()
                        .pay
                        .iter()
                        .find(|p| p.source_field == "salary_amount")
                        .map(|p| p.amount)
                };
                assert!(base(&after) > base(&before));
            }
        }
    }
}

#[tokio::test]
async fn deleted_opportunities_leave_the_lists() {
    let sim = Sim::spawn(fast(200)).await;
    let id = sim.with_dataset(|d| {
        d.opportunities
            .iter()
            .find(|o| !o.offers.is_empty())
            .unwrap()
            .id
            .clone()
    });
    assert!(sim.delete(&id));
    assert!(!sim.delete(&id));

    assert_eq!(get(&sim, &format!("/opportunities/{id}")).await.status, 404);
    assert_eq!(
        get(&sim, &format!("/opportunities/{id}/offers"))
            .await
            .status,
        404
    );
    let deleted = walk(&sim, "/opportunities/deleted", 100).await;
    let entry = deleted
        .iter()
        .find(|d| d["id"] == id.as_str())
        .expect("tombstone");
    assert!(entry["deletedAt"].is_i64() && entry["deletedBy"].is_string());
    assert!(sim.truth().offers.iter().all(|o| o.opportunity_id != id));
}

#[tokio::test]
async fn minimum_calls_matches_a_full_walk() {
    let sim = Sim::spawn(fast(250)).await;
    for list in ["/stages", "/archive_reasons", "/requisition_fields"] {
        walk(&sim, list, 100).await;
    }
    for list in ["/requisitions", "/postings", "/opportunities"] {
        walk(&sim, &format!("{list}?confidentiality=all"), 100).await;
    }
    walk(&sim, "/opportunities/deleted?deleted_at_start=0", 100).await;
    let offer_stage = sim.offer_stage_id();
    let targets: Vec<String> = sim.with_dataset(|d| {
        let idx = d.stage_index(&offer_stage).unwrap();
        d.opportunities
            .iter()
            .filter(|o| o.max_stage_index() >= idx || d.is_hired(o))
            .map(|o| o.id.clone())
            .collect()
    });
    for id in &targets {
        get(&sim, &format!("/opportunities/{id}/offers")).await;
    }

    assert_eq!(sim.counters().total, sim.minimum_calls(Some(&offer_stage)));
    let everyone = sim.with_dataset(|d| d.opportunities.len() as u64);
    assert_eq!(
        sim.minimum_calls(None) - sim.minimum_calls(Some(&offer_stage)),
        everyone - targets.len() as u64
    );
}

#[tokio::test]
async fn offers_render_lever_fields() {
    let sim = Sim::spawn(fast(300)).await;
    let truth = sim.truth();
    let t = truth.offers.iter().find(|o| o.status == "signed").unwrap();
    let r = get(&sim, &format!("/opportunities/{}/offers", t.opportunity_id))
        .await
        .json();
    assert_eq!(r["hasNext"], false);
    let offer = r["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == t.offer_id.as_str())
        .unwrap();
    assert_eq!(offer["status"], "signed");
    assert_eq!(offer["signatures"]["candidate"]["signed"], true);
    assert!(
        offer["signedDocument"]["downloadUrl"]
            .as_str()
            .unwrap()
            .starts_with(&sim.base_url())
    );
    let fields = offer["fields"].as_array().unwrap();
    let field = |id: &str| {
        fields
            .iter()
            .find(|f| f["identifier"] == id)
            .map(|f| f["value"].clone())
    };
    assert_eq!(
        field("compensation_currency"),
        t.currency.clone().map(Value::from)
    );
    assert!(
        field("candidate_name")
            .unwrap()
            .as_str()
            .is_some_and(|n| truth.pii.contains(&n.to_string()))
    );
}

#[tokio::test]
async fn control_api_over_http() {
    let sim = Sim::spawn(fast(300)).await;
    let client = reqwest::Client::new();
    let control = sim.control_url();
    let post = |path: &str, body: Value| client.post(format!("{control}{path}")).json(&body).send();

    let truth: Truth = reqwest::get(format!("{control}/truth"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(truth, sim.truth());
    let mapping: Value = reqwest::get(format!("{control}/mapping"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mapping, tenant_mapping());

    let r: Value = post("/mutate", serde_json::json!({ "count": 2 }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let changed = r["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 2);
    assert!(changed[0]["kind"].is_string() && changed[0]["offer_ids"].is_array());

    let id = sim.with_dataset(|d| d.opportunities[0].id.clone());
    let ok = post("/delete", serde_json::json!({ "opportunity_id": id }))
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let again = post("/delete", serde_json::json!({ "opportunity_id": id }))
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 404);

    let faults = post(
        "/faults",
        serde_json::json!({ "storm_429": 1, "rate_per_sec": 5.0, "burst": 2 }),
    );
    assert!(faults.await.unwrap().status().is_success());
    let statuses = [
        get(&sim, "/stages").await.status,
        get(&sim, "/stages").await.status,
    ];
    assert_eq!(statuses, [429, 200]);
    let typo = post("/faults", serde_json::json!({ "storm429": 1 }))
        .await
        .unwrap();
    assert!(typo.status().is_client_error());

    let calls: Value = reqwest::get(format!("{control}/minimum_calls"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        calls["minimum_calls"].as_u64(),
        Some(sim.minimum_calls(None))
    );
}
