//! Normalizer tests on Lever-shaped JSON (invented ids, no real people).

use super::*;
use crate::lever::model::{ArchiveReason, Posting, Requisition, RequisitionField, Stage};
use crate::record::{Outcome, PayUnit, Period};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::str::FromStr;

const OPP: &str = "1f000000-0000-4000-8000-000000000001";
const POSTING: &str = "5d000000-0000-4000-8000-000000000001";
const REQ: &str = "6e000000-0000-4000-8000-000000000001";

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

fn from<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("fixture decodes")
}

fn dimensions() -> Dimensions {
    let stages: Vec<Stage> = from(json!([
        { "id": "lead-new", "text": "New lead" },
        { "id": "7a000000-0000-4000-8000-000000000005", "text": "Offer" }
    ]));
    let reasons: Vec<ArchiveReason> = from(json!([
        { "id": "hired", "text": "Hired", "type": "hired" },
        { "id": "declined", "text": "Offer declined", "type": "non-hired" }
    ]));
    let postings: Vec<Posting> = from(json!([{
        "id": POSTING, "text": "Backend Engineer II", "country": "DE", "workplaceType": "hybrid",
        "categories": { "team": "Platform", "department": "Engineering", "location": "Berlin",
                        "commitment": "Full-time", "level": "L3" },
        "requisitionCodes": ["ENG-0042"]
    }]));
    let requisitions: Vec<Requisition> = from(json!([{
        "id": REQ, "requisitionCode": "ENG-0042",
        "customFields": { "job_family": "Software Engineering", "job_level": "opt-3",
                          "cost_center": { "city": "Berlin", "code": "7" } }
    }]));
    let fields: Vec<RequisitionField> = from(json!([
        { "id": "job_level", "type": "dropdown", "options": [{ "id": "opt-3", "text": "L3" }] }
    ]));
    Dimensions::new(stages, reasons, postings, requisitions, fields)
}

fn opportunity(extra: Value) -> Opportunity {
    let mut base = json!({
        "id": OPP, "contact": "2c000000-0000-4000-8000-000000000001",
        "stage": "7a000000-0000-4000-8000-000000000005", "archived": null,
        "applications": [{ "id": "a1", "posting": POSTING, "name": "Jane Roe" }]
    });
    base.as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
    from(base)
}

fn offer(id: &str, status: &str, created_at: i64, fields: Value) -> Offer {
    from(
        json!({ "id": id, "status": status, "createdAt": created_at, "fields": fields,
                 "signatures": { "candidate": { "name": "Jane Roe", "email": "jane@example.com",
                                                "signedAt": 1714200000000_i64 } },
                 "sentDocument": { "downloadUrl": "https://example.invalid/doc" } }),
    )
}

fn standard_fields() -> Value {
    json!([
        { "identifier": "job_posting", "value": POSTING },
        { "identifier": "requisition", "value": REQ },
        { "identifier": "candidate_name", "value": "Jane Roe" },
        { "identifier": "salary_amount", "value": 85000 },
        { "identifier": "compensation_currency", "value": "EUR" },
        { "identifier": "salary_interval", "value": "per-year-salary" },
        { "identifier": "anticipated_start_date", "value": "1717200000000" },
        { "identifier": "hiring_manager", "value": "4b000000-0000-4000-8000-000000000001" },
        { "identifier": "custom_sign_on_bonus", "value": { "amount": 5000, "currency": "EUR" } },
        { "identifier": "custom_annual_bonus_pct", "value": "15" },
        { "identifier": "custom_rsu_shares", "value": 1200 },
        { "identifier": "custom_offer_notes", "value": "Jane prefers a March start" },
        { "identifier": "custom_preferred_name", "value": "Janey" },
        { "identifier": "custom_offer_type", "value": "new hire" },
        { "identifier": "custom_laptop_budget", "value": 2500 },
        { "identifier": "custom_nothing", "value": null }
    ])
}

fn tenant_mapping() -> FieldMapping {
    FieldMapping::with_overrides(&from(json!({
        "offer_fields": {
            "custom_sign_on_bonus": { "kind": "signing_bonus" },
            "custom_annual_bonus_pct": { "kind": "target_bonus", "unit": "percent" },
            "custom_rsu_shares": { "kind": "equity", "unit": "shares" }
        },
        "personal_fields": ["custom_preferred_name"],
        "allow_text_fields": ["custom_offer_type"]
    })))
}

fn run(opp: &Opportunity, offers: &[Offer], pii: Option<&Pseudonymizer>) -> Vec<OfferRecord> {
    let (mapping, dims) = (tenant_mapping(), dimensions());
    let ctx = NormalizeContext {
        tenant: "acme",
        mapping: &mapping,
        dimensions: &dims,
        pseudonymizer: pii,
        source: Source::Backfill,
        synced_at: 1,
    };
    normalize_opportunity(&ctx, opp, offers)
}

#[test]
fn signed_offer_is_joined_with_job_context_and_pay() {
    let pii = Pseudonymizer::new(SecretString::from("k"));
    let records = run(
        &opportunity(json!({})),
        &[offer("f1", "signed", 10, standard_fields())],
        Some(&pii),
    );
    let record = &records[0];

    assert_eq!(record.application_id.as_deref(), Some("a1"));
    assert_eq!(record.keyed_by, KeyedBy::Application);
    assert_eq!(record.outcome, Outcome::Accepted);
    assert_eq!(record.signed_at, Some(1714200000000));
    assert_eq!(record.anticipated_start_date, Some(1717200000000));
    assert_eq!(record.currency.as_deref(), Some("EUR"));
    assert_eq!(record.requisition_code.as_deref(), Some("ENG-0042"));
    assert_eq!(record.job.title.as_deref(), Some("Backend Engineer II"));
    assert_eq!(record.job.department.as_deref(), Some("Engineering"));
    assert_eq!(record.job.country.as_deref(), Some("DE"));
    assert_eq!(
        record.job.job_family.as_deref(),
        Some("Software Engineering")
    );
    assert_eq!(
        record.job.req_level.as_deref(),
        Some("L3"),
        "dropdown option id resolved"
    );
    assert_eq!(record.pipeline.stage_name.as_deref(), Some("Offer"));
    assert_eq!(
        record.candidate_ref,
        Some(pii.reference("2c000000-0000-4000-8000-000000000001"))
    );

    let kinds: Vec<(PayKind, PayUnit, Period, Decimal, Option<Decimal>)> = record
        .pay
        .iter()
        .map(|p| (p.kind, p.unit, p.period, p.amount, p.annualized_amount))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                PayKind::BaseSalary,
                PayUnit::Currency,
                Period::Year,
                dec("85000"),
                Some(dec("85000"))
            ),
            (
                PayKind::TargetBonus,
                PayUnit::Percent,
                Period::Year,
                dec("15"),
                Some(dec("12750"))
            ),
            (
                PayKind::SigningBonus,
                PayUnit::Currency,
                Period::OneTime,
                dec("5000"),
                None
            ),
            (
                PayKind::Equity,
                PayUnit::Shares,
                Period::OneTime,
                dec("1200"),
                None
            ),
        ]
    );
}

#[test]
fn personal_and_free_text_fields_never_reach_the_record() {
    let records = run(
        &opportunity(json!({})),
        &[offer("f1", "sent", 10, standard_fields())],
        None,
    );
    let stored = serde_json::to_string(&records[0]).expect("serializes");

    for secret in [
        "Jane",
        "jane@example.com",
        "Janey",
        "March",
        "example.invalid",
    ] {
        assert!(!stored.contains(secret), "{secret} leaked: {stored}");
    }
    assert_eq!(records[0].candidate_ref, None, "PII mode omit");
    let extra = &records[0].extra_fields;
    assert_eq!(
        extra.get("custom_offer_type").map(String::as_str),
        Some("new hire")
    );
    assert_eq!(
        extra.get("custom_laptop_budget").map(String::as_str),
        Some("2500")
    );
    assert!(extra.contains_key("hiring_manager"), "ids are kept");
    assert_eq!(
        records[0].unmapped_numeric,
        vec!["custom_laptop_budget".to_owned()]
    );
}

#[test]
fn revised_offers_and_archive_reasons_set_outcomes() {
    let fields = json!([{ "identifier": "salary_amount", "value": 1 }]);
    let offers = [
        offer("old", "sent", 1, fields.clone()),
        offer("new", "sent", 2, fields),
    ];
    let declined = opportunity(json!({ "archived": { "reason": "declined", "archivedAt": 5 } }));

    let records = run(&declined, &offers, None);
    assert_eq!(records[0].outcome, Outcome::Superseded);
    assert_eq!(records[1].outcome, Outcome::Declined);
    assert_eq!(
        records[1].pipeline.archive_type.as_deref(),
        Some("non-hired")
    );
    assert_eq!(records[1].pipeline.archived_at, Some(5));

    let hired = opportunity(json!({ "archiveReason": "hired", "archivedAt": "6" }));
    assert_eq!(run(&hired, &offers, None)[1].outcome, Outcome::Accepted);
    assert_eq!(
        run(&opportunity(json!({})), &offers, None)[1].outcome,
        Outcome::Pending
    );
}

#[test]
fn application_less_offer_is_keyed_by_opportunity_and_finds_requisition_by_code() {
    let lead = opportunity(json!({ "applications": [] }));
    let fields = json!([
        { "identifier": "job_posting", "value": POSTING },
        { "identifier": "salary_amount", "value": "27.50" },
        { "identifier": "salary_interval", "value": "per-hour-wage" },
        { "identifier": "compensation_currency", "value": "usd" }
    ]);
    let record = &run(&lead, &[offer("f1", "draft", 1, fields)], None)[0];

    assert_eq!(
        (record.keyed_by, record.application_id.as_deref()),
        (KeyedBy::Opportunity, None)
    );
    assert_eq!(
        record.requisition_id.as_deref(),
        Some(REQ),
        "via the posting's requisition code"
    );
    assert_eq!(record.pay[0].kind, PayKind::HourlyWage);
    assert_eq!(record.pay[0].annualized_amount, Some(dec("57200")));
    assert_eq!(record.currency.as_deref(), Some("USD"));
}

#[test]
fn missing_and_null_fields_give_a_sparse_record() {
    let record = &run(
        &opportunity(json!({})),
        &[offer(
            "f1",
            "draft",
            1,
            json!([
                { "identifier": "salary_amount", "value": null },
                { "identifier": "compensation_currency", "value": null },
                { "identifier": "custom_sign_on_bonus" }
            ]),
        )],
        None,
    )[0];

    assert!(record.pay.is_empty());
    assert_eq!(record.currency, None);
    assert_eq!(
        record.posting_id.as_deref(),
        Some(POSTING),
        "falls back to the application's posting"
    );
    assert_eq!(record.requisition_id.as_deref(), Some(REQ));
}

#[test]
fn content_hash_ignores_provenance_but_not_content() {
    let offers = [offer("f1", "sent", 1, standard_fields())];
    let a = run(&opportunity(json!({})), &offers, None).remove(0);
    let mut b = a.clone();
    b.provenance.synced_at = 99;
    b.provenance.source = Source::Webhook;
    assert_eq!(content_hash(&a), content_hash(&b));
    assert_eq!(a.provenance.content_hash, content_hash(&a));

    b.pay[0].amount = dec("85001");
    assert_ne!(content_hash(&a), content_hash(&b));
}
