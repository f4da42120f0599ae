//! Renders model objects as Lever Data API JSON, including the shape variants.

use crate::dataset::{
    ArchiveReason, Dataset, DeletedOpportunity, Offer, OfferTerms, Opportunity, Planned, Posting,
    Requisition, RequisitionField, Shape, Stage, User,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

/// A timestamp as a JSON number, or as a numeric string when `as_string`.
fn ts(ms: i64, as_string: bool) -> Value {
    if as_string {
        Value::String(ms.to_string())
    } else {
        json!(ms)
    }
}

/// A decimal as a JSON number (integer when it has no fraction).
pub(crate) fn number(d: Decimal) -> Value {
    if d.fract().is_zero() {
        d.to_i64().map_or(Value::Null, |i| json!(i))
    } else {
        d.to_f64().map_or(Value::Null, |f| json!(f))
    }
}

/// The `value` of a planned numeric offer field.
fn planned_value(p: &Planned, currency: &str) -> Value {
    match (p.amount, p.shape) {
        (None, _) => Value::Null,
        (Some(a), Shape::Number) => number(a),
        (Some(a), Shape::NumericString) => Value::String(a.to_string()),
        (Some(a), Shape::MoneyObject) => json!({ "amount": number(a), "currency": currency }),
    }
}

/// An opportunity; `expand_applications` inlines the application object.
pub fn opportunity(d: &Dataset, o: &Opportunity, expand_applications: bool) -> Value {
    let strings = o.shape.string_timestamps;
    let mut m = Map::new();
    m.insert("id".into(), json!(o.id));
    m.insert("name".into(), json!(o.person.name));
    m.insert("headline".into(), json!(""));
    m.insert("contact".into(), json!(o.contact));
    m.insert("emails".into(), json!([o.person.email]));
    m.insert(
        "phones".into(),
        json!([{ "type": "mobile", "value": o.person.phone }]),
    );
    m.insert(
        "confidentiality".into(),
        json!(confidentiality(o.confidential)),
    );
    m.insert("stage".into(), json!(o.stage_id));
    m.insert(
        "stageChanges".into(),
        o.stage_changes
            .iter()
            .map(|c| {
                json!({ "toStageId": c.to_stage_id, "toStageIndex": c.to_stage_index,
                        "userId": c.user_id, "updatedAt": c.updated_at })
            })
            .collect(),
    );
    m.insert("origin".into(), json!(o.origin));
    m.insert("sources".into(), json!([source_for(o.origin)]));
    m.insert("owner".into(), json!(o.owner));
    m.insert("followers".into(), json!([o.owner]));
    m.insert("tags".into(), json!([]));
    m.insert("links".into(), json!([]));
    m.insert("isAnonymized".into(), json!(false));

    // Archive: Lever's object form, or (shape variant) top-level fields.
    if o.shape.archive_top_level {
        m.insert(
            "archivedAt".into(),
            o.archive
                .as_ref()
                .map_or(Value::Null, |a| ts(a.at, strings)),
        );
        m.insert(
            "archiveReason".into(),
            o.archive
                .as_ref()
                .map_or(Value::Null, |a| json!(a.reason_id)),
        );
    } else {
        m.insert(
            "archived".into(),
            o.archive.as_ref().map_or(
                Value::Null,
                |a| json!({ "reason": a.reason_id, "archivedAt": ts(a.at, strings) }),
            ),
        );
    }

    let applications: Vec<Value> = o
        .application
        .iter()
        .map(|a| {
            if expand_applications {
                application(d, o, a)
            } else {
                json!(a.id)
            }
        })
        .collect();
    m.insert("applications".into(), Value::Array(applications));

    m.insert("createdAt".into(), ts(o.created_at, strings));
    m.insert(
        "updatedAt".into(),
        o.updated_at.map_or(Value::Null, |u| json!(u)),
    );
    m.insert(
        "lastInteractionAt".into(),
        json!(o.updated_at.unwrap_or(o.created_at)),
    );
    m.insert("lastAdvancedAt".into(), ts(o.last_advanced_at, strings));
    Value::Object(m)
}

fn confidentiality(confidential: bool) -> &'static str {
    if confidential {
        "confidential"
    } else {
        "non-confidential"
    }
}

fn source_for(origin: &str) -> &'static str {
    match origin {
        "sourced" => "LinkedIn",
        "referred" => "Referral",
        "agency" => "Agency",
        "internal" => "Internal",
        "university" => "University fair",
        _ => "Company website",
    }
}

/// The expanded application of an opportunity.
fn application(d: &Dataset, o: &Opportunity, a: &crate::dataset::Application) -> Value {
    let hire = a.requisition_for_hire.as_ref().and_then(|id| d.requisition(id)).map(|r| {
        json!({ "id": r.id, "requisitionCode": r.code, "hiringManagerOnHire": r.hiring_manager })
    });
    let mut v = json!({
        "id": a.id,
        "opportunityId": o.id,
        "candidateId": o.id,
        "type": a.kind,
        "posting": a.posting_id,
        "createdAt": a.created_at,
        "user": null,
        "name": o.person.name,
        "email": o.person.email,
        "phone": { "type": "mobile", "value": o.person.phone },
        "customQuestions": [],
    });
    if let Some(hire) = hire {
        v["requisitionForHire"] = hire;
    }
    v
}

/// A deleted-opportunity record.
pub fn deleted(d: &DeletedOpportunity) -> Value {
    json!({ "id": d.opportunity.id, "deletedAt": d.deleted_at, "deletedBy": d.deleted_by })
}

/// An offer. `api_base` is the `/v1` root used for document download URLs.
pub fn offer(o: &Opportunity, f: &Offer, api_base: &str) -> Value {
    let download = |status: &str| {
        format!(
            "{api_base}/opportunities/{}/offers/{}/download?status={status}",
            o.id, f.id
        )
    };
    let candidate = json!({
        "role": "candidate",
        "name": o.person.name,
        "email": o.person.email,
        "signed": f.signed_at.is_some(),
        "signedAt": f.signed_at,
        "firstOpenedAt": f.opened_at,
        "lastOpenedAt": f.opened_at,
    });
    let sent_document = f.sent_at.map_or(Value::Null, |at| {
        json!({ "fileName": "offer-letter.pdf", "uploadedAt": at, "downloadUrl": download("sent") })
    });
    let signed_document = f.signed_at.map_or(Value::Null, |at| {
        json!({ "fileName": "offer-letter-signed.pdf", "uploadedAt": at,
                "downloadUrl": download("signed") })
    });

    let signatures = if f.sent_at.is_some() {
        json!({ "candidate": candidate })
    } else {
        json!({})
    };

    json!({
        "id": f.id,
        "createdAt": ts(f.created_at, f.string_created_at),
        "status": f.status.as_str(),
        "creator": f.creator,
        "approved": f.approved_at.is_some(),
        "approvedAt": f.approved_at,
        "sentAt": f.sent_at,
        "posting": f.terms.job_posting,
        "fields": offer_fields(&f.terms),
        "signatures": signatures,
        "sentDocument": sent_document,
        "signedDocument": signed_document,
    })
}

/// The offer form's `fields` array.
fn offer_fields(t: &OfferTerms) -> Vec<Value> {
    let mut out = Vec::new();
    let mut push = |text: &str, identifier: &str, value: Value| {
        out.push(json!({ "text": text, "identifier": identifier, "value": value }));
    };
    let planned = |p: &Option<Planned>| p.as_ref().map(|p| planned_value(p, &t.currency));

    if let Some(p) = &t.job_posting {
        push("Job posting", "job_posting", json!(p));
    }
    push("Job title", "job_title", json!(t.job_title));
    if let Some(r) = &t.requisition {
        push("Requisition", "requisition", json!(r));
    }
    push("Candidate name", "candidate_name", json!(t.candidate_name));
    if let Some(v) = planned(&t.salary) {
        push("Offered compensation amount", "salary_amount", v);
    }
    push(
        "Compensation currency",
        "compensation_currency",
        json!(t.currency),
    );
    push(
        "Type of earnings",
        "salary_interval",
        json!(t.interval.as_str()),
    );
    if let Some(s) = t.start_date {
        push("Anticipated start date", "anticipated_start_date", json!(s));
    }
    push("Hiring manager", "hiring_manager", json!(t.hiring_manager));

    let custom: [(&str, &str, &Option<Planned>); 6] = [
        ("Sign-on bonus", "custom_sign_on_bonus", &t.sign_on_bonus),
        (
            "RSU grant value",
            "custom_rsu_grant_value",
            &t.rsu_grant_value,
        ),
        ("RSU shares", "custom_rsu_shares", &t.rsu_shares),
        (
            "Annual bonus target (%)",
            "custom_annual_bonus_pct",
            &t.annual_bonus_pct,
        ),
        ("OTE commission", "custom_ote_commission", &t.ote_commission),
        ("Relocation allowance", "custom_relocation", &t.relocation),
    ];
    for (text, identifier, p) in custom {
        if let Some(v) = planned(p) {
            push(text, identifier, v);
        }
    }
    if let Some(n) = &t.notes {
        push("Offer notes", "custom_offer_notes", json!(n));
    }
    if let Some(n) = &t.offer_type {
        push("Offer type", "custom_offer_type", json!(n));
    }
    if let Some(n) = &t.preferred_name {
        push("Preferred name", "custom_preferred_name", json!(n));
    }
    out
}

/// A posting.
pub fn posting(p: &Posting) -> Value {
    json!({
        "id": p.id,
        "text": p.text,
        "state": p.state,
        "confidentiality": confidentiality(p.confidential),
        "categories": {
            "team": p.team, "department": p.department, "location": p.location,
            "allLocations": [p.location], "commitment": p.commitment, "level": p.level,
        },
        "country": p.country,
        "workplaceType": p.workplace_type,
        "requisitionCodes": p.requisition_codes,
        "owner": p.owner,
        "hiringManager": p.hiring_manager,
        "tags": [],
        "createdAt": p.created_at,
        "updatedAt": p.updated_at,
    })
}

/// A requisition; `offer_ids` are the offers the simulator attributes to it.
pub fn requisition(r: &Requisition, offer_ids: &[String]) -> Value {
    let c = &r.custom;
    let mut custom = Map::new();
    if let Some(v) = &c.job_family {
        custom.insert("job_family".into(), json!(v));
    }
    if let Some(v) = &c.job_level {
        custom.insert("job_level".into(), json!(v));
    }
    if let Some(v) = &c.work_location {
        custom.insert("work_location".into(), json!(v));
    }
    custom.insert(
        "cost_center".into(),
        json!({ "code": c.cost_center.0, "city": c.cost_center.1 }),
    );

    json!({
        "id": r.id,
        "requisitionCode": r.code,
        "name": r.name,
        "status": r.status,
        "confidentiality": confidentiality(r.confidential),
        "headcountTotal": r.headcount_total,
        "headcountHired": 0,
        "employmentStatus": r.employment_status,
        "location": r.location,
        "team": r.team,
        "department": r.department,
        "compensationBand": {
            "currency": r.band.0, "interval": r.band.1, "min": r.band.2, "max": r.band.3,
        },
        "customFields": custom,
        "postings": r.posting_ids,
        "offerIds": offer_ids,
        "hiringManager": r.hiring_manager,
        "owner": r.hiring_manager,
        "backfill": false,
        "createdAt": r.created_at,
        "updatedAt": r.updated_at,
    })
}

/// A requisition custom-field definition.
pub fn requisition_field(f: &RequisitionField) -> Value {
    let mut v = json!({ "id": f.id, "text": f.text, "type": f.kind, "isRequired": f.required });
    if !f.options.is_empty() {
        v["options"] = f
            .options
            .iter()
            .map(|(id, text)| json!({ "id": id, "text": text }))
            .collect();
    }
    if !f.subfields.is_empty() {
        v["subfields"] = f
            .subfields
            .iter()
            .map(|(id, text)| json!({ "id": id, "text": text }))
            .collect();
    }
    v
}

/// A stage.
pub fn stage(s: &Stage) -> Value {
    json!({ "id": s.id, "text": s.text })
}

/// An archive reason.
pub fn archive_reason(r: &ArchiveReason) -> Value {
    json!({
        "id": r.id,
        "text": r.text,
        "status": if r.active { "active" } else { "inactive" },
        "type": if r.hired { "hired" } else { "non-hired" },
    })
}

/// A user.
pub fn user(u: &User) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "username": u.email.split('@').next().unwrap_or_default(),
        "email": u.email,
        "accessRole": "team member",
        "createdAt": u.created_at,
        "deactivatedAt": u.deactivated_at,
    })
}
