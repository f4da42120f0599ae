//! Lever objects as the API returns them, decoded leniently.
//!
//! Lever adds fields without notice and its responses vary in shape (see
//! `../shared/lever-api.md` §4 and §6): unknown fields are ignored, timestamps may be numbers
//! or numeric strings, `archived` may be null, an object, or top-level fields, and stage ids
//! are not always UUIDs. Only the fields the offers sync uses are decoded; personal fields
//! (names, emails, phones) are deliberately absent so they can never be stored or logged.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// One page of a Lever list endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_next: bool,
    /// Opaque paging token, sent back byte-for-byte as `offset`.
    #[serde(default)]
    pub next: Option<String>,
}

/// A single-object response (`{ "data": {...} }`).
#[derive(Debug, Clone, Deserialize)]
pub struct Single<T> {
    pub data: T,
}

/// A candidacy of one person for a job.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "RawOpportunity")]
pub struct Opportunity {
    pub id: String,
    pub contact: Option<String>,
    pub stage_id: Option<String>,
    pub stage_changes: Vec<StageChange>,
    pub archived: Option<Archived>,
    pub application: Option<Application>,
    pub confidential: bool,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
}

/// A move of an opportunity into a stage.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageChange {
    #[serde(default)]
    pub to_stage_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub to_stage_index: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub updated_at: Option<i64>,
}

/// Why and when an opportunity was archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub reason_id: Option<String>,
    pub archived_at: Option<i64>,
}

/// The application of an opportunity (Lever allows at most one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: String,
    #[serde(default, deserialize_with = "id_or_object")]
    pub posting: Option<String>,
    #[serde(default)]
    pub requisition_for_hire: Option<RequisitionForHire>,
}

/// The requisition an application was hired against.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequisitionForHire {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub requisition_code: Option<String>,
}

/// An offer made on an opportunity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub created_at: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub approved_at: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub sent_at: Option<i64>,
    #[serde(default)]
    pub fields: Vec<OfferField>,
    /// Signer objects hold names and emails: only the signing times are kept.
    #[serde(default, rename = "signatures", deserialize_with = "signed_times")]
    pub signed_at: Vec<i64>,
}

/// One offer-form field; `value` may be a number, a string, null or an object.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OfferField {
    #[serde(default)]
    pub identifier: String,
    #[serde(default)]
    pub value: Value,
}

/// A job posting and its categories.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Posting {
    pub id: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub categories: Categories,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub workplace_type: Option<String>,
    #[serde(default)]
    pub requisition_codes: Vec<String>,
}

/// The tags Lever keeps on a posting.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Categories {
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub commitment: Option<String>,
    #[serde(default)]
    pub level: Option<String>,
}

/// A requisition with its tenant-defined custom fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Requisition {
    pub id: String,
    #[serde(default)]
    pub requisition_code: Option<String>,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, Value>,
}

/// The schema of one requisition custom field.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RequisitionField {
    pub id: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default, rename = "type")]
    pub field_type: Option<String>,
    #[serde(default)]
    pub options: Vec<DropdownOption>,
}

/// One option of a dropdown requisition field.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DropdownOption {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// A pipeline stage.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Stage {
    pub id: String,
    #[serde(default)]
    pub text: Option<String>,
}

/// A reason an opportunity was archived.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ArchiveReason {
    pub id: String,
    #[serde(default)]
    pub text: Option<String>,
    /// `hired` or `non-hired`.
    #[serde(default, rename = "type")]
    pub reason_type: Option<String>,
}

impl ArchiveReason {
    /// True for reasons of Lever's `hired` type.
    pub fn is_hired(&self) -> bool {
        self.reason_type.as_deref() == Some("hired")
    }
}

/// An opportunity removed from Lever.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedOpportunity {
    pub id: String,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub deleted_at: Option<i64>,
}

/// The wire shape of an opportunity before its variants are folded together.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOpportunity {
    id: String,
    #[serde(default, deserialize_with = "id_or_object")]
    contact: Option<String>,
    #[serde(default, deserialize_with = "id_or_object")]
    stage: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    stage_changes: Vec<StageChange>,
    #[serde(default)]
    archived: Value,
    #[serde(default, deserialize_with = "lenient_i64")]
    archived_at: Option<i64>,
    #[serde(default, deserialize_with = "id_or_object")]
    archive_reason: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    applications: Vec<Value>,
    #[serde(default)]
    confidentiality: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    created_at: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    updated_at: Option<i64>,
}

impl From<RawOpportunity> for Opportunity {
    fn from(raw: RawOpportunity) -> Self {
        let archived = archived_from(&raw.archived, raw.archive_reason, raw.archived_at);
        let application = raw.applications.into_iter().find_map(application_from);

        Opportunity {
            id: raw.id,
            contact: raw.contact,
            stage_id: raw.stage,
            stage_changes: raw.stage_changes,
            archived,
            application,
            confidential: raw.confidentiality.as_deref() == Some("confidential"),
            created_at: raw.created_at,
            updated_at: raw.updated_at,
        }
    }
}

/// Folds the three archive shapes: `archived: {reason, archivedAt}`, top-level
/// `archiveReason`/`archivedAt`, or neither (active).
fn archived_from(nested: &Value, reason: Option<String>, at: Option<i64>) -> Option<Archived> {
    if let Value::Object(map) = nested {
        return Some(Archived {
            reason_id: map.get("reason").and_then(value_as_id),
            archived_at: map.get("archivedAt").and_then(value_as_i64),
        });
    }

    if reason.is_some() || at.is_some() {
        return Some(Archived {
            reason_id: reason,
            archived_at: at,
        });
    }
    None
}

/// An expanded application object, or a bare id when `expand=applications` was not honoured.
fn application_from(value: Value) -> Option<Application> {
    match value {
        Value::String(id) => Some(Application {
            id,
            ..Application::default()
        }),
        Value::Object(_) => serde_json::from_value(value).ok(),
        _ => None,
    }
}

/// Reads an epoch-millisecond value written as a number or a numeric string.
pub fn value_as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads an id given as a string, or as an expanded object carrying `id`.
fn value_as_id(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(map) => map.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn lenient_i64<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    Ok(value_as_i64(&Value::deserialize(de)?))
}

fn id_or_object<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    Ok(value_as_id(&Value::deserialize(de)?))
}

fn null_as_default<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// Keeps only the `signedAt` times of the signer objects, never their names or emails.
fn signed_times<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<i64>, D::Error> {
    let signers = Value::deserialize(de)?;
    let Value::Object(map) = signers else {
        return Ok(Vec::new());
    };

    let mut times: Vec<i64> = map
        .values()
        .filter_map(|signer| signer.get("signedAt").and_then(value_as_i64))
        .collect();
    times.sort_unstable();
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opportunity(value: Value) -> Opportunity {
        serde_json::from_value(value).expect("opportunity decodes")
    }

    #[test]
    fn archived_null_means_active() {
        let opp = opportunity(json!({ "id": "o1", "archived": null, "applications": [] }));
        assert_eq!(opp.archived, None);
        assert!(opp.application.is_none());
    }

    #[test]
    fn archived_object_is_read() {
        let opp = opportunity(json!({
            "id": "o1", "archived": { "reason": "r1", "archivedAt": 1714000000000_i64 }
        }));
        let expected = Archived {
            reason_id: Some("r1".into()),
            archived_at: Some(1714000000000),
        };
        assert_eq!(opp.archived, Some(expected));
    }

    #[test]
    fn archived_top_level_fields_are_read() {
        let opp = opportunity(json!({
            "id": "o1", "archiveReason": "r2", "archivedAt": "1714000000001"
        }));
        let expected = Archived {
            reason_id: Some("r2".into()),
            archived_at: Some(1714000000001),
        };
        assert_eq!(opp.archived, Some(expected));
    }

    #[test]
    fn timestamps_as_numbers_or_numeric_strings() {
        let opp = opportunity(json!({
            "id": "o1", "createdAt": "1700000000000", "updatedAt": 1700000000001_i64,
            "stageChanges": [{ "toStageId": "lead-new", "toStageIndex": "0", "updatedAt": 5 }]
        }));
        assert_eq!(opp.created_at, Some(1700000000000));
        assert_eq!(opp.updated_at, Some(1700000000001));
        assert_eq!(
            opp.stage_changes[0].to_stage_id.as_deref(),
            Some("lead-new")
        );
        assert_eq!(opp.stage_changes[0].to_stage_index, Some(0));
    }

    #[test]
    fn null_updated_at_and_unknown_fields_are_tolerated() {
        let opp = opportunity(json!({
            "id": "o1", "updatedAt": null, "brandNewField": { "x": 1 }, "stageChanges": null,
            "stage": { "id": "s1", "text": "Offer" }, "confidentiality": "confidential"
        }));
        assert_eq!(opp.updated_at, None);
        assert_eq!(opp.stage_id.as_deref(), Some("s1"));
        assert!(opp.confidential);
        assert!(opp.stage_changes.is_empty());
    }

    #[test]
    fn expanded_application_keeps_posting_and_requisition_for_hire() {
        let opp = opportunity(json!({
            "id": "o1",
            "applications": [{
                "id": "a1", "posting": "p1", "name": "Jane Roe", "email": "jane@example.com",
                "requisitionForHire": { "id": "q1", "requisitionCode": "ENG-1" }
            }]
        }));
        let app = opp.application.expect("application");
        assert_eq!(app.id, "a1");
        assert_eq!(app.posting.as_deref(), Some("p1"));
        assert_eq!(
            app.requisition_for_hire.and_then(|r| r.id).as_deref(),
            Some("q1")
        );
    }

    #[test]
    fn application_id_without_expansion_is_kept() {
        let opp = opportunity(json!({ "id": "o1", "applications": ["a9"] }));
        assert_eq!(opp.application.map(|a| a.id).as_deref(), Some("a9"));
    }

    #[test]
    fn offer_keeps_signing_times_but_not_signers() {
        let offer: Offer = serde_json::from_value(json!({
            "id": "f1", "status": "signed", "createdAt": 1, "sentAt": "2",
            "fields": [{ "text": "Amount", "identifier": "salary_amount", "value": 100 }],
            "signatures": { "candidate": { "name": "Jane Roe", "signedAt": 30 },
                            "manager": { "name": "Ann", "signedAt": 20 } }
        }))
        .expect("offer decodes");
        assert_eq!(offer.sent_at, Some(2));
        assert_eq!(offer.signed_at, vec![20, 30]);
        assert_eq!(offer.fields[0].value, json!(100));
    }
}
