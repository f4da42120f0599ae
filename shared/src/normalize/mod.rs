//! Normalization: Lever objects in, [`OfferRecord`]s out. Pure: no I/O, no clock.
//!
//! One opportunity is normalized at a time because an offer's outcome depends on its
//! siblings. What is dropped, always: `candidate_name` and fields the mapping marks personal,
//! signer names and emails, document download URLs (never decoded), and free-text fields the
//! mapping does not allow.

pub mod dimensions;
pub mod mapping;
pub mod outcome;
pub mod pay;
pub mod pseudonym;
pub mod value;

pub use dimensions::Dimensions;
pub use mapping::FieldMapping;
pub use pseudonym::Pseudonymizer;

use crate::lever::model::{Offer, Opportunity, Posting, Requisition};
use crate::record::{
    JobContext, KeyedBy, OfferRecord, PayElement, PayKind, Pipeline, Provenance, SCHEMA_VERSION,
    Source,
};
use mapping::{
    CURRENCY, JOB_POSTING, JOB_TITLE, REQUISITION, SALARY_AMOUNT, SALARY_INTERVAL, START_DATE,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Standard identifiers consumed into typed columns rather than `extra_fields`.
const CONSUMED: [&str; 7] = [
    SALARY_AMOUNT,
    SALARY_INTERVAL,
    CURRENCY,
    JOB_POSTING,
    REQUISITION,
    START_DATE,
    JOB_TITLE,
];

/// Standard identifiers that hold dates rather than amounts.
const DATE_FIELDS: [&str; 2] = [START_DATE, "today_date"];

/// Everything besides the Lever objects that a normalized record depends on.
pub struct NormalizeContext<'a> {
    pub tenant: &'a str,
    pub mapping: &'a FieldMapping,
    pub dimensions: &'a Dimensions,
    /// `None` in PII mode `omit`.
    pub pseudonymizer: Option<&'a Pseudonymizer>,
    pub source: Source,
    pub synced_at: i64,
}

/// Normalizes every offer of one opportunity.
pub fn normalize_opportunity(
    ctx: &NormalizeContext<'_>,
    opportunity: &Opportunity,
    offers: &[Offer],
) -> Vec<OfferRecord> {
    offers
        .iter()
        .map(|offer| normalize_offer(ctx, opportunity, offer, offers))
        .collect()
}

fn normalize_offer(
    ctx: &NormalizeContext<'_>,
    opportunity: &Opportunity,
    offer: &Offer,
    siblings: &[Offer],
) -> OfferRecord {
    let fields = FieldView::new(offer);
    let archive_reason = ctx.dimensions.archive_reason(
        opportunity
            .archived
            .as_ref()
            .and_then(|a| a.reason_id.as_deref()),
    );

    let currency = fields
        .currency()
        .or_else(|| ctx.mapping.default_currency.clone());
    let pay = pay_elements(ctx.mapping, &fields, currency.as_deref());

    let posting_id = fields.text(JOB_POSTING).or_else(|| {
        opportunity
            .application
            .as_ref()
            .and_then(|a| a.posting.clone())
    });
    let posting = posting_id
        .as_deref()
        .and_then(|id| ctx.dimensions.postings.get(id));
    let (requisition_id, requisition_code) =
        requisition_of(ctx.dimensions, opportunity, &fields, posting);
    let requisition = requisition_id
        .as_deref()
        .and_then(|id| ctx.dimensions.requisitions.get(id));

    let (extra_fields, unmapped_numeric) = extra_fields(ctx.mapping, offer);
    let mut record = OfferRecord {
        schema_version: SCHEMA_VERSION,
        tenant: ctx.tenant.to_owned(),
        application_id: opportunity.application.as_ref().map(|a| a.id.clone()),
        opportunity_id: opportunity.id.clone(),
        offer_id: offer.id.clone(),
        keyed_by: match opportunity.application {
            Some(_) => KeyedBy::Application,
            None => KeyedBy::Opportunity,
        },
        posting_id,
        requisition_id,
        requisition_code,
        status: offer.status.clone().unwrap_or_else(|| "unknown".to_owned()),
        outcome: outcome::outcome(offer, siblings, opportunity, archive_reason),
        created_at: offer.created_at,
        approved_at: offer.approved_at,
        sent_at: offer.sent_at,
        signed_at: offer.signed_at.iter().copied().max(),
        anticipated_start_date: fields
            .get(START_DATE)
            .and_then(crate::lever::model::value_as_i64),
        currency,
        pay,
        job: job_context(ctx, posting, requisition, &fields),
        pipeline: pipeline(ctx, opportunity, archive_reason),
        candidate_ref: candidate_ref(ctx, opportunity),
        extra_fields,
        unmapped_numeric,
        provenance: Provenance {
            source: ctx.source,
            synced_at: ctx.synced_at,
            content_hash: String::new(),
        },
    };

    record.provenance.content_hash = content_hash(&record);
    record
}

/// The salary element first, then every mapped custom field, sorted by kind and field.
fn pay_elements(
    mapping: &FieldMapping,
    fields: &FieldView<'_>,
    currency: Option<&str>,
) -> Vec<PayElement> {
    let salary = fields.get(SALARY_AMOUNT).and_then(value::amount);
    let interval = fields.text(SALARY_INTERVAL);
    let base = pay::base_pay(salary, interval.as_deref(), currency, mapping);
    let annual_base = base
        .as_ref()
        .filter(|b| matches!(b.kind, PayKind::BaseSalary | PayKind::HourlyWage))
        .and_then(|b| b.annualized_amount);

    let mapped = fields.all().filter_map(|(identifier, raw)| {
        let rule = mapping.offer_fields.get(identifier)?;
        if mapping.is_personal(identifier) {
            return None;
        }
        let amount = value::amount(raw)?;
        Some(pay::mapped_element(
            identifier,
            rule,
            amount,
            currency,
            annual_base,
            mapping,
        ))
    });

    let mut elements: Vec<PayElement> = base.into_iter().chain(mapped).collect();
    elements.sort_by(|a, b| (a.kind, &a.source_field).cmp(&(b.kind, &b.source_field)));
    elements
}

/// The requisition an offer was made against: the offer's own `requisition` field, then the
/// requisition the application was hired against, then the posting's requisition codes.
fn requisition_of(
    dims: &Dimensions,
    opportunity: &Opportunity,
    fields: &FieldView<'_>,
    posting: Option<&Posting>,
) -> (Option<String>, Option<String>) {
    let hire = opportunity
        .application
        .as_ref()
        .and_then(|a| a.requisition_for_hire.as_ref());
    let by_code = |code: &String| dims.requisitions_by_code.get(code).cloned();

    let id = fields
        .text(REQUISITION)
        .or_else(|| hire.and_then(|h| h.id.clone()))
        .or_else(|| {
            hire.and_then(|h| h.requisition_code.as_ref())
                .and_then(by_code)
        })
        .or_else(|| posting.and_then(|p| p.requisition_codes.iter().find_map(by_code)));

    let code = id
        .as_deref()
        .and_then(|id| dims.requisitions.get(id))
        .and_then(|r| r.requisition_code.clone())
        .or_else(|| hire.and_then(|h| h.requisition_code.clone()));
    (id, code)
}

/// Job context from the posting, with job family, level and location from the requisition.
fn job_context(
    ctx: &NormalizeContext<'_>,
    posting: Option<&Posting>,
    requisition: Option<&Requisition>,
    fields: &FieldView<'_>,
) -> JobContext {
    let ids = &ctx.mapping.requisition_fields;
    let custom = |id: &Option<String>| {
        let value = requisition?.custom_fields.get(id.as_deref()?)?;
        requisition_value(ctx.dimensions, id.as_deref()?, value)
    };
    let categories = posting.map(|p| &p.categories);

    JobContext {
        title: posting
            .and_then(|p| p.text.clone())
            .or_else(|| fields.text(JOB_TITLE)),
        department: categories.and_then(|c| c.department.clone()),
        team: categories.and_then(|c| c.team.clone()),
        location: categories.and_then(|c| c.location.clone()),
        commitment: categories.and_then(|c| c.commitment.clone()),
        level: categories.and_then(|c| c.level.clone()),
        workplace_type: posting.and_then(|p| p.workplace_type.clone()),
        country: posting.and_then(|p| p.country.clone()),
        job_family: custom(&ids.job_family),
        req_level: custom(&ids.level),
        req_location: custom(&ids.location),
    }
}

/// A requisition custom-field value as text; dropdown option ids become their option text.
fn requisition_value(dims: &Dimensions, field_id: &str, value: &Value) -> Option<String> {
    let raw = match value {
        Value::Number(n) => Some(n.to_string()),
        other => value::text(other),
    }?;
    let options = dims
        .requisition_fields
        .get(field_id)
        .map(|f| f.options.as_slice());

    let option_text = options
        .unwrap_or_default()
        .iter()
        .find(|o| o.id.as_deref() == Some(raw.as_str()))
        .and_then(|o| o.text.clone());
    Some(option_text.unwrap_or(raw))
}

fn pipeline(
    ctx: &NormalizeContext<'_>,
    opportunity: &Opportunity,
    reason: Option<&crate::lever::model::ArchiveReason>,
) -> Pipeline {
    let stage_name = opportunity
        .stage_id
        .as_deref()
        .and_then(|id| ctx.dimensions.stages.get(id))
        .and_then(|s| s.text.clone());
    let archived = opportunity.archived.as_ref();

    Pipeline {
        stage_id: opportunity.stage_id.clone(),
        stage_name,
        archive_reason_id: archived.and_then(|a| a.reason_id.clone()),
        archive_reason: reason.and_then(|r| r.text.clone()),
        archive_type: reason.and_then(|r| r.reason_type.clone()),
        archived_at: archived.and_then(|a| a.archived_at),
    }
}

fn candidate_ref(ctx: &NormalizeContext<'_>, opportunity: &Opportunity) -> Option<String> {
    let contact = opportunity.contact.as_deref()?;
    ctx.pseudonymizer.map(|p| p.reference(contact))
}

/// Unmapped fields worth keeping: numbers, numeric strings, currency codes, ids, and text the
/// tenant allows. Returns them with the list of unmapped numeric identifiers.
fn extra_fields(mapping: &FieldMapping, offer: &Offer) -> (BTreeMap<String, String>, Vec<String>) {
    let mut kept = BTreeMap::new();
    let mut numeric = Vec::new();

    for field in &offer.fields {
        let id = field.identifier.as_str();
        let skip = id.is_empty()
            || CONSUMED.contains(&id)
            || mapping.is_personal(id)
            || mapping.offer_fields.contains_key(id);
        if skip {
            continue;
        }

        let Some((text, is_number)) = keepable(mapping, id, &field.value) else {
            continue;
        };
        if is_number && !DATE_FIELDS.contains(&id) {
            numeric.push(id.to_owned());
        }
        kept.insert(id.to_owned(), text);
    }
    (kept, numeric)
}

/// The stored text of an unmapped value, and whether it is a number; `None` drops it.
fn keepable(mapping: &FieldMapping, id: &str, raw: &Value) -> Option<(String, bool)> {
    match raw {
        Value::Number(n) => Some((value::decimal(&n.to_string())?.to_string(), true)),
        Value::String(s) => {
            if let Some(d) = value::decimal(s) {
                return Some((d.to_string(), true));
            }
            let trimmed = s.trim();
            let structured = value::currency_code(trimmed)
                .filter(|c| c == trimmed)
                .is_some()
                || value::looks_like_id(trimmed);
            (structured || mapping.allow_text_fields.contains(id))
                .then(|| (trimmed.to_owned(), false))
        }
        _ => None,
    }
}

/// SHA-256 of the record's content, provenance excluded, as lowercase hex.
pub fn content_hash(record: &OfferRecord) -> String {
    let mut content = record.clone();
    content.provenance = Provenance {
        source: Source::Backfill,
        synced_at: 0,
        content_hash: String::new(),
    };

    let bytes = serde_json::to_vec(&content).expect("records serialize");
    hex::encode(Sha256::digest(bytes))
}

/// An offer's fields by identifier (the first occurrence wins).
struct FieldView<'a> {
    offer: &'a Offer,
}

impl<'a> FieldView<'a> {
    fn new(offer: &'a Offer) -> Self {
        FieldView { offer }
    }

    fn all(&self) -> impl Iterator<Item = (&'a str, &'a Value)> + '_ {
        let offer: &'a Offer = self.offer;
        offer
            .fields
            .iter()
            .map(|f| (f.identifier.as_str(), &f.value))
    }

    fn get(&self, identifier: &str) -> Option<&'a Value> {
        let offer: &'a Offer = self.offer;
        offer
            .fields
            .iter()
            .find(|f| f.identifier == identifier)
            .map(|f| &f.value)
    }

    fn text(&self, identifier: &str) -> Option<String> {
        self.get(identifier).and_then(value::text)
    }

    fn currency(&self) -> Option<String> {
        self.text(CURRENCY)
            .as_deref()
            .and_then(value::currency_code)
    }
}

#[cfg(test)]
mod tests;
