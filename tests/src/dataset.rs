//! The simulated Lever account: typed model of every object the simulator serves.
//!
//! The model keeps the generator's intent (e.g. the base salary it decided) next to the
//! "shape" choices that only affect how an object is rendered as Lever JSON (a timestamp
//! written as a string, an archive written as top-level fields, ...). Rendering lives in
//! `render`, the ground truth in `truth`.

use rust_decimal::Decimal;
use std::collections::HashMap;

/// A pipeline stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Stage id: sometimes a readable id like `lead-new`, otherwise UUID-shaped.
    pub id: String,
    /// Display name.
    pub text: String,
}

/// An archive reason.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveReason {
    /// Lever id.
    pub id: String,
    /// Display text, e.g. "Offer declined".
    pub text: String,
    /// `true` for the `hired` type.
    pub hired: bool,
    /// `false` for an inactive reason (still referenced by old opportunities).
    pub active: bool,
}

/// A Lever user (recruiter, hiring manager, offer creator).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Lever id.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Work e-mail.
    pub email: String,
    /// Creation time, ms.
    pub created_at: i64,
    /// Deactivation time, ms; deactivated users are hidden from lists by default.
    pub deactivated_at: Option<i64>,
}

/// A job posting.
#[derive(Debug, Clone, PartialEq)]
pub struct Posting {
    /// Lever id.
    pub id: String,
    /// Title.
    pub text: String,
    /// `published`, `internal` or `closed`.
    pub state: &'static str,
    /// Confidential postings are hidden from lists without `confidentiality=all`.
    pub confidential: bool,
    /// Department category.
    pub department: String,
    /// Team category.
    pub team: String,
    /// Location category (a city).
    pub location: String,
    /// Commitment category: Full-time, Part-time, Intern or Contract.
    pub commitment: String,
    /// Level category; may be absent.
    pub level: Option<String>,
    /// ISO country code of the location.
    pub country: String,
    /// `onsite`, `remote` or `hybrid`.
    pub workplace_type: &'static str,
    /// HRIS requisition codes (0, 1 or 2).
    pub requisition_codes: Vec<String>,
    /// Currency used for offers on this posting.
    pub currency: String,
    /// Owner user id.
    pub owner: String,
    /// Hiring manager user id.
    pub hiring_manager: String,
    /// Creation time, ms.
    pub created_at: i64,
    /// Update time, ms.
    pub updated_at: i64,
}

/// Requisition custom-field values (keyed by requisition-field id when rendered).
#[derive(Debug, Clone, PartialEq)]
pub struct RequisitionCustom {
    /// `job_family` (text field).
    pub job_family: Option<String>,
    /// `job_level` (dropdown field; rendered as the option text).
    pub job_level: Option<String>,
    /// `work_location` (text field).
    pub work_location: Option<String>,
    /// `cost_center` (object field, not mapped): (code, city).
    pub cost_center: (String, String),
}

/// A requisition.
#[derive(Debug, Clone, PartialEq)]
pub struct Requisition {
    /// Lever id.
    pub id: String,
    /// HRIS requisition code, e.g. `ENG-0042`.
    pub code: String,
    /// Name (usually the job title).
    pub name: String,
    /// `open`, `onHold`, `closed`.
    pub status: &'static str,
    /// Confidential requisitions are hidden from lists without `confidentiality=all`.
    pub confidential: bool,
    /// Location text.
    pub location: String,
    /// Team.
    pub team: String,
    /// Department.
    pub department: String,
    /// `full-time`, `part-time`, `intern`, `contractor`.
    pub employment_status: &'static str,
    /// Headcount.
    pub headcount_total: u32,
    /// Postings that carry this requisition's code.
    pub posting_ids: Vec<String>,
    /// Custom fields.
    pub custom: RequisitionCustom,
    /// Compensation band: (currency, interval, min, max).
    pub band: (String, &'static str, i64, i64),
    /// Hiring manager user id.
    pub hiring_manager: String,
    /// Creation time, ms.
    pub created_at: i64,
    /// Update time, ms.
    pub updated_at: i64,
}

/// A requisition custom-field definition.
#[derive(Debug, Clone, PartialEq)]
pub struct RequisitionField {
    /// Field id (the key inside `requisition.customFields`).
    pub id: String,
    /// Label.
    pub text: String,
    /// `text`, `dropdown` or `object`.
    pub kind: &'static str,
    /// Whether the field is required.
    pub required: bool,
    /// Dropdown options: (id, text).
    pub options: Vec<(String, String)>,
    /// Object subfields: (id, text).
    pub subfields: Vec<(String, String)>,
}

/// A candidate's personal data (the PII the product must not store).
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// Full name, e.g. "Priya Raman".
    pub name: String,
    /// E-mail address at example.com.
    pub email: String,
    /// Phone number.
    pub phone: String,
}

impl Person {
    /// The first word of the name.
    pub fn first_name(&self) -> &str {
        self.name.split(' ').next().unwrap_or(&self.name)
    }
}

/// One entry of `stageChanges`.
#[derive(Debug, Clone, PartialEq)]
pub struct StageChange {
    /// Stage id moved to.
    pub to_stage_id: String,
    /// Position of that stage in the pipeline.
    pub to_stage_index: usize,
    /// User who moved the candidate.
    pub user_id: String,
    /// When, ms.
    pub updated_at: i64,
}

/// An archive state.
#[derive(Debug, Clone, PartialEq)]
pub struct Archive {
    /// Archive reason id.
    pub reason_id: String,
    /// Archive time, ms.
    pub at: i64,
}

/// How an opportunity is rendered (Lever shape variants the product must tolerate).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OppShape {
    /// Render `archivedAt`/`archiveReason` at top level instead of an `archived` object.
    pub archive_top_level: bool,
    /// Render `createdAt`, `lastAdvancedAt` and `archivedAt` as numeric strings.
    pub string_timestamps: bool,
}

/// An application (at most one per opportunity).
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    /// Lever id.
    pub id: String,
    /// Posting applied to.
    pub posting_id: String,
    /// `posting` (the only type generated).
    pub kind: &'static str,
    /// Requisition hired against (set on some hires).
    pub requisition_for_hire: Option<String>,
    /// Creation time, ms.
    pub created_at: i64,
}

/// An opportunity (one candidacy of one contact).
#[derive(Debug, Clone, PartialEq)]
pub struct Opportunity {
    /// Lever id.
    pub id: String,
    /// Contact (person) id; a contact can have several opportunities.
    pub contact: String,
    /// Candidate PII.
    pub person: Person,
    /// `applied`, `sourced`, `referred`, `agency`, `internal`, `university`.
    pub origin: &'static str,
    /// Owner user id.
    pub owner: String,
    /// Current stage id.
    pub stage_id: String,
    /// Stage history, oldest first.
    pub stage_changes: Vec<StageChange>,
    /// Archive state; `None` when active.
    pub archive: Option<Archive>,
    /// Rendering variants.
    pub shape: OppShape,
    /// Confidentiality.
    pub confidential: bool,
    /// Creation time, ms.
    pub created_at: i64,
    /// Update time, ms; `None` for some old records.
    pub updated_at: Option<i64>,
    /// Time of the last stage advance, ms.
    pub last_advanced_at: i64,
    /// The application, absent for some sourced leads.
    pub application: Option<Application>,
    /// Offers, oldest first.
    pub offers: Vec<Offer>,
}

impl Opportunity {
    /// Highest stage index in the stage history.
    pub fn max_stage_index(&self) -> usize {
        self.stage_changes
            .iter()
            .map(|c| c.to_stage_index)
            .max()
            .unwrap_or(0)
    }
}

/// A deleted opportunity (served by `/opportunities/deleted`).
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedOpportunity {
    /// The opportunity as it was.
    pub opportunity: Opportunity,
    /// Deletion time, ms.
    pub deleted_at: i64,
    /// User who deleted it.
    pub deleted_by: String,
}

/// Offer status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferStatus {
    /// `draft`
    Draft,
    /// `approval-sent`
    ApprovalSent,
    /// `approved`
    Approved,
    /// `sent`
    Sent,
    /// `sent-manually`
    SentManually,
    /// `opened`
    Opened,
    /// `denied`
    Denied,
    /// `signed`
    Signed,
}

impl OfferStatus {
    /// Lever's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Draft => "draft",
            OfferStatus::ApprovalSent => "approval-sent",
            OfferStatus::Approved => "approved",
            OfferStatus::Sent => "sent",
            OfferStatus::SentManually => "sent-manually",
            OfferStatus::Opened => "opened",
            OfferStatus::Denied => "denied",
            OfferStatus::Signed => "signed",
        }
    }

    /// Whether the offer has been approved (or went further).
    pub fn approved(self) -> bool {
        !matches!(
            self,
            OfferStatus::Draft | OfferStatus::ApprovalSent | OfferStatus::Denied
        )
    }

    /// Whether the offer document has been sent to the candidate.
    pub fn sent(self) -> bool {
        matches!(
            self,
            OfferStatus::Sent
                | OfferStatus::SentManually
                | OfferStatus::Opened
                | OfferStatus::Signed
        )
    }
}

/// `salary_interval` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// `per-year-salary`
    Year,
    /// `per-month-salary`
    Month,
    /// `per-hour-wage`
    Hour,
}

impl Interval {
    /// Lever's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Year => "per-year-salary",
            Interval::Month => "per-month-salary",
            Interval::Hour => "per-hour-wage",
        }
    }
}

/// How a numeric offer-field value is written in the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A JSON number.
    Number,
    /// A numeric string, e.g. `"150000"`.
    NumericString,
    /// An object `{ "amount": n, "currency": "EUR" }` (currency amounts only).
    MoneyObject,
}

/// A planned numeric offer field: `amount` `None` renders `value: null`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planned {
    /// The value, or `None` for JSON null.
    pub amount: Option<Decimal>,
    /// How the value is written.
    pub shape: Shape,
}

impl Planned {
    /// A plain JSON number.
    pub fn number(amount: Decimal) -> Planned {
        Planned {
            amount: Some(amount),
            shape: Shape::Number,
        }
    }
}

/// What the offer says: the generator's intent, from which both the Lever `fields` array and
/// the ground truth are derived. `None` on an optional field means the field is absent.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferTerms {
    /// `job_posting` (posting id).
    pub job_posting: Option<String>,
    /// `job_title`.
    pub job_title: String,
    /// `requisition` (requisition Lever id).
    pub requisition: Option<String>,
    /// `candidate_name` (PII).
    pub candidate_name: String,
    /// `salary_amount`.
    pub salary: Option<Planned>,
    /// `compensation_currency`.
    pub currency: String,
    /// `salary_interval`.
    pub interval: Interval,
    /// `anticipated_start_date`, ms.
    pub start_date: Option<i64>,
    /// `hiring_manager` user id.
    pub hiring_manager: Option<String>,
    /// `custom_sign_on_bonus` (currency, one-time).
    pub sign_on_bonus: Option<Planned>,
    /// `custom_rsu_grant_value` (currency, one-time equity).
    pub rsu_grant_value: Option<Planned>,
    /// `custom_rsu_shares` (share count).
    pub rsu_shares: Option<Planned>,
    /// `custom_annual_bonus_pct` (percent of base).
    pub annual_bonus_pct: Option<Planned>,
    /// `custom_ote_commission` (annual currency amount).
    pub ote_commission: Option<Planned>,
    /// `custom_relocation` (currency, one-time).
    pub relocation: Option<Planned>,
    /// `custom_offer_notes` (free text holding PII).
    pub notes: Option<String>,
    /// `custom_offer_type` (free text the tenant allows).
    pub offer_type: Option<String>,
    /// `custom_preferred_name` (a personal field).
    pub preferred_name: Option<String>,
}

/// An offer.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// Lever id.
    pub id: String,
    /// Creation time, ms.
    pub created_at: i64,
    /// Status.
    pub status: OfferStatus,
    /// Creator user id.
    pub creator: String,
    /// Approval time, ms.
    pub approved_at: Option<i64>,
    /// Sent time, ms.
    pub sent_at: Option<i64>,
    /// Candidate signature time, ms.
    pub signed_at: Option<i64>,
    /// First time the candidate opened it, ms.
    pub opened_at: Option<i64>,
    /// Render `createdAt` as a numeric string.
    pub string_created_at: bool,
    /// The offer's content.
    pub terms: OfferTerms,
}

/// The whole simulated account.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Seed it was generated from.
    pub seed: u64,
    /// The generator's "now", ms.
    pub now_ms: i64,
    /// Stages in pipeline order.
    pub stages: Vec<Stage>,
    /// Archive reasons.
    pub archive_reasons: Vec<ArchiveReason>,
    /// Users.
    pub users: Vec<User>,
    /// Postings, sorted by (createdAt, id).
    pub postings: Vec<Posting>,
    /// Requisitions, sorted by (createdAt, id).
    pub requisitions: Vec<Requisition>,
    /// Requisition field definitions.
    pub requisition_fields: Vec<RequisitionField>,
    /// Live opportunities, sorted by (createdAt, id).
    pub opportunities: Vec<Opportunity>,
    /// Deleted opportunities, sorted by (deletedAt, id).
    pub deleted: Vec<DeletedOpportunity>,
    /// Every candidate name, e-mail and phone generated (sorted, unique).
    pub pii: Vec<String>,
    pub(crate) opp_index: HashMap<String, usize>,
}

impl Dataset {
    /// Id of the "Offer" stage.
    pub fn offer_stage_id(&self) -> &str {
        &self.stages[crate::catalog::OFFER_STAGE_INDEX].id
    }

    /// Position of a stage in the pipeline.
    pub fn stage_index(&self, stage_id: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.id == stage_id)
    }

    /// A live opportunity by id.
    pub fn opportunity(&self, id: &str) -> Option<&Opportunity> {
        self.opp_index.get(id).map(|&i| &self.opportunities[i])
    }

    /// A live opportunity by id, mutable.
    pub fn opportunity_mut(&mut self, id: &str) -> Option<&mut Opportunity> {
        self.opp_index
            .get(id)
            .copied()
            .map(move |i| &mut self.opportunities[i])
    }

    /// A posting by id.
    pub fn posting(&self, id: &str) -> Option<&Posting> {
        self.postings.iter().find(|p| p.id == id)
    }

    /// A requisition by Lever id.
    pub fn requisition(&self, id: &str) -> Option<&Requisition> {
        self.requisitions.iter().find(|r| r.id == id)
    }

    /// A requisition by HRIS code.
    pub fn requisition_by_code(&self, code: &str) -> Option<&Requisition> {
        self.requisitions.iter().find(|r| r.code == code)
    }

    /// An archive reason by id.
    pub fn archive_reason(&self, id: &str) -> Option<&ArchiveReason> {
        self.archive_reasons.iter().find(|r| r.id == id)
    }

    /// Whether the opportunity is archived with a hired-type reason.
    pub fn is_hired(&self, opp: &Opportunity) -> bool {
        opp.archive
            .as_ref()
            .and_then(|a| self.archive_reason(&a.reason_id))
            .is_some_and(|r| r.hired)
    }

    /// Moves a live opportunity to the deleted list. Returns `false` if it is unknown.
    pub fn delete(&mut self, id: &str, deleted_at: i64, deleted_by: &str) -> bool {
        let Some(pos) = self.opp_index.get(id).copied() else {
            return false;
        };

        let opportunity = self.opportunities.remove(pos);
        self.deleted.push(DeletedOpportunity {
            opportunity,
            deleted_at,
            deleted_by: deleted_by.to_string(),
        });
        self.deleted.sort_by(|a, b| {
            (a.deleted_at, &a.opportunity.id).cmp(&(b.deleted_at, &b.opportunity.id))
        });

        self.reindex();
        true
    }

    /// Rebuilds the id → position index after the opportunity list changed.
    pub(crate) fn reindex(&mut self) {
        self.opp_index = self
            .opportunities
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id.clone(), i))
            .collect();
    }
}
