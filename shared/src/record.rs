//! The normalized offer record (schema version 1), as stored in DynamoDB.
//!
//! See `docs/data-model.md` for the vocabulary and the outcome rule.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the record layout; bumped when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// One offer, normalized and joined with its job context and outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferRecord {
    pub schema_version: u32,
    pub tenant: String,
    pub application_id: Option<String>,
    pub opportunity_id: String,
    pub offer_id: String,
    pub keyed_by: KeyedBy,
    pub posting_id: Option<String>,
    pub requisition_id: Option<String>,
    pub requisition_code: Option<String>,

    pub status: String,
    pub outcome: Outcome,
    pub created_at: Option<i64>,
    pub approved_at: Option<i64>,
    pub sent_at: Option<i64>,
    pub signed_at: Option<i64>,
    pub anticipated_start_date: Option<i64>,

    pub currency: Option<String>,
    pub pay: Vec<PayElement>,
    pub job: JobContext,
    pub pipeline: Pipeline,
    /// Keyed pseudonym of the Lever contact id; absent in PII mode `omit`.
    pub candidate_ref: Option<String>,
    /// Unmapped offer fields kept by identifier (numbers, currencies, dates, ids only).
    pub extra_fields: BTreeMap<String, String>,
    /// Unmapped fields holding numbers: reported so the tenant can map them.
    pub unmapped_numeric: Vec<String>,

    pub provenance: Provenance,
}

/// Whether the record is keyed by its application or, lacking one, by its opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyedBy {
    Application,
    Opportunity,
}

/// The derived result of an offer; the rule is on `normalize::outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    Declined,
    Pending,
    Superseded,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Declined => "declined",
            Outcome::Pending => "pending",
            Outcome::Superseded => "superseded",
        }
    }
}

/// One element of pay on an offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayElement {
    pub kind: PayKind,
    pub unit: PayUnit,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: Option<String>,
    pub period: Period,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub annualized_amount: Option<Decimal>,
    /// The Lever offer-field identifier the value came from.
    pub source_field: String,
}

/// What a pay element pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayKind {
    BaseSalary,
    HourlyWage,
    TargetBonus,
    SigningBonus,
    Equity,
    Commission,
    Relocation,
    Other,
}

/// How a pay element's amount is expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PayUnit {
    #[default]
    Currency,
    Percent,
    Shares,
}

/// How often a pay element is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Year,
    Month,
    Week,
    Hour,
    OneTime,
}

/// Where the job is and what it is, from the posting and the requisition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobContext {
    pub title: Option<String>,
    pub department: Option<String>,
    pub team: Option<String>,
    pub location: Option<String>,
    pub commitment: Option<String>,
    pub level: Option<String>,
    pub workplace_type: Option<String>,
    pub country: Option<String>,
    pub job_family: Option<String>,
    pub req_level: Option<String>,
    pub req_location: Option<String>,
}

/// Where the candidacy stands in the pipeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub stage_id: Option<String>,
    pub stage_name: Option<String>,
    pub archive_reason_id: Option<String>,
    pub archive_reason: Option<String>,
    /// `hired` or `non-hired`.
    pub archive_type: Option<String>,
    pub archived_at: Option<i64>,
}

/// How and when the record was produced; excluded from the content hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub source: Source,
    pub synced_at: i64,
    pub content_hash: String,
}

/// Which function wrote the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Webhook,
    Backfill,
}
