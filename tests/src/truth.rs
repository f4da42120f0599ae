//! Ground truth: the normalized record each offer should become (docs/data-model.md).
//!
//! Derived from the generator's intent (`OfferTerms`), never from the rendered JSON, and
//! independent of the product's `shared` crate.

use crate::dataset::{
    Dataset, Interval, Offer, OfferStatus, OfferTerms, Opportunity, Planned, Requisition,
};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// The expected state of every live offer, plus every piece of candidate PII generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// One entry per offer on a live (not deleted) opportunity, confidential ones included.
    pub offers: Vec<TruthOffer>,
    /// Every candidate name, e-mail and phone the simulator generated (sorted, unique).
    pub pii: Vec<String>,
}

impl Truth {
    /// The entry for an offer id.
    pub fn offer(&self, offer_id: &str) -> Option<&TruthOffer> {
        self.offers.iter().find(|o| o.offer_id == offer_id)
    }
}

/// How a record is keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyedBy {
    /// By the opportunity's application (normal case).
    Application,
    /// By the opportunity (no application).
    Opportunity,
}

/// Outcome of an offer (rule in docs/data-model.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Signed, or the candidate was hired.
    Accepted,
    /// Archived with a non-hired reason.
    Declined,
    /// Still open.
    Pending,
    /// A later offer exists on the same opportunity.
    Superseded,
}

/// Pay element kind, in vocabulary order (the sort order of `pay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayKind {
    /// Salary paid per year/month/week.
    BaseSalary,
    /// Wage paid per hour.
    HourlyWage,
    /// Target bonus.
    TargetBonus,
    /// Sign-on bonus.
    SigningBonus,
    /// Equity (grant value or share count).
    Equity,
    /// Sales commission.
    Commission,
    /// Relocation allowance.
    Relocation,
    /// Anything else.
    Other,
}

/// Unit of a pay element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayUnit {
    /// Money.
    Currency,
    /// Percent of annual base pay.
    Percent,
    /// Share count.
    Shares,
}

/// Period of a pay element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Yearly.
    Year,
    /// Monthly.
    Month,
    /// Weekly.
    Week,
    /// Hourly.
    Hour,
    /// Paid once.
    OneTime,
}

/// One expected pay element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthPay {
    /// Kind.
    pub kind: PayKind,
    /// Unit.
    pub unit: PayUnit,
    /// Amount as given on the offer (decimal string).
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// ISO currency; `None` for share counts.
    pub currency: Option<String>,
    /// Period.
    pub period: Period,
    /// Amount per year, 2 decimals; `None` for one-time and share elements.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub annualized_amount: Option<Decimal>,
    /// The Lever offer-field identifier.
    pub source_field: String,
}

/// Expected job context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthJob {
    /// Posting title.
    pub title: String,
    /// Posting department.
    pub department: String,
    /// Posting team.
    pub team: String,
    /// Posting location.
    pub location: String,
    /// Posting commitment.
    pub commitment: String,
    /// Posting level.
    pub level: Option<String>,
    /// Posting workplace type.
    pub workplace_type: String,
    /// Posting country.
    pub country: String,
    /// Requisition custom field `job_family`.
    pub job_family: Option<String>,
    /// Requisition custom field `job_level`.
    pub req_level: Option<String>,
    /// Requisition custom field `work_location`.
    pub req_location: Option<String>,
}

/// The expected normalized record of one offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthOffer {
    /// Offer id.
    pub offer_id: String,
    /// Opportunity id.
    pub opportunity_id: String,
    /// Application id, if the opportunity has one.
    pub application_id: Option<String>,
    /// Record key kind.
    pub keyed_by: KeyedBy,
    /// Lever status.
    pub status: String,
    /// Derived outcome.
    pub outcome: Outcome,
    /// The offer's compensation currency.
    pub currency: Option<String>,
    /// Pay elements sorted by (kind, source_field).
    pub pay: Vec<TruthPay>,
    /// Posting the offer was made against.
    pub posting_id: String,
    /// Requisition (Lever id) the offer belongs to.
    pub requisition_id: Option<String>,
    /// That requisition's HRIS code.
    pub requisition_code: Option<String>,
    /// Job context.
    pub job: TruthJob,
    /// Current stage of the opportunity.
    pub stage_id: String,
    /// Archive reason, when archived.
    pub archive_reason_id: Option<String>,
    /// Archive time, when archived.
    pub archived_at: Option<i64>,
    /// Contact (person) id.
    pub contact_id: String,
    /// Opportunity confidentiality.
    pub confidential: bool,
}

impl Dataset {
    /// The ground truth for the current state of the dataset.
    pub fn truth(&self) -> Truth {
        let offers = self
            .opportunities
            .iter()
            .flat_map(|opp| {
                opp.offers
                    .iter()
                    .map(move |offer| offer_truth(self, opp, offer))
            })
            .collect();
        Truth {
            offers,
            pii: self.pii.clone(),
        }
    }
}

/// Expected record of one offer.
fn offer_truth(d: &Dataset, opp: &Opportunity, offer: &Offer) -> TruthOffer {
    let posting_id = offer_posting_id(opp, offer).unwrap_or_default();
    let posting = d
        .posting(&posting_id)
        .expect("generator gives every offer a posting");
    let requisition = offer_requisition(d, opp, offer);

    TruthOffer {
        offer_id: offer.id.clone(),
        opportunity_id: opp.id.clone(),
        application_id: opp.application.as_ref().map(|a| a.id.clone()),
        keyed_by: if opp.application.is_some() {
            KeyedBy::Application
        } else {
            KeyedBy::Opportunity
        },
        status: offer.status.as_str().to_string(),
        outcome: outcome(d, opp, offer),
        currency: Some(offer.terms.currency.clone()),
        pay: pay(&offer.terms),
        posting_id,
        requisition_id: requisition.map(|r| r.id.clone()),
        requisition_code: requisition.map(|r| r.code.clone()),
        job: TruthJob {
            title: posting.text.clone(),
            department: posting.department.clone(),
            team: posting.team.clone(),
            location: posting.location.clone(),
            commitment: posting.commitment.clone(),
            level: posting.level.clone(),
            workplace_type: posting.workplace_type.to_string(),
            country: posting.country.clone(),
            job_family: requisition.and_then(|r| r.custom.job_family.clone()),
            req_level: requisition.and_then(|r| r.custom.job_level.clone()),
            req_location: requisition.and_then(|r| r.custom.work_location.clone()),
        },
        stage_id: opp.stage_id.clone(),
        archive_reason_id: opp.archive.as_ref().map(|a| a.reason_id.clone()),
        archived_at: opp.archive.as_ref().map(|a| a.at),
        contact_id: opp.contact.clone(),
        confidential: opp.confidential,
    }
}

/// The offer's own `job_posting`, else the application's posting.
pub(crate) fn offer_posting_id(opp: &Opportunity, offer: &Offer) -> Option<String> {
    offer
        .terms
        .job_posting
        .clone()
        .or_else(|| opp.application.as_ref().map(|a| a.posting_id.clone()))
}

/// The offer's own `requisition`, else `requisitionForHire`, else the posting's codes.
pub(crate) fn offer_requisition<'a>(
    d: &'a Dataset,
    opp: &Opportunity,
    offer: &Offer,
) -> Option<&'a Requisition> {
    if let Some(id) = &offer.terms.requisition {
        return d.requisition(id);
    }
    if let Some(id) = opp
        .application
        .as_ref()
        .and_then(|a| a.requisition_for_hire.as_ref())
    {
        return d.requisition(id);
    }
    let posting = d.posting(&offer_posting_id(opp, offer)?)?;
    posting
        .requisition_codes
        .iter()
        .find_map(|code| d.requisition_by_code(code))
}

/// The outcome rule, first match wins.
fn outcome(d: &Dataset, opp: &Opportunity, offer: &Offer) -> Outcome {
    if offer.status == OfferStatus::Signed {
        return Outcome::Accepted;
    }
    if opp
        .offers
        .iter()
        .any(|o| o.id != offer.id && o.created_at > offer.created_at)
    {
        return Outcome::Superseded;
    }

    match &opp.archive {
        Some(_) if d.is_hired(opp) => Outcome::Accepted,
        Some(_) => Outcome::Declined,
        None => Outcome::Pending,
    }
}

/// Amount rounded to 2 decimals (midpoint away from zero), written with 2 decimals.
fn round2(v: Decimal) -> Decimal {
    let mut r = v.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

/// Pay elements of an offer, sorted by (kind, source_field).
fn pay(t: &OfferTerms) -> Vec<TruthPay> {
    let currency = Some(t.currency.clone());
    let value = |p: &Option<Planned>| p.as_ref().and_then(|p| p.amount);
    let element =
        |kind, unit, amount, currency: &Option<String>, period, annualized, source: &str| {
            TruthPay {
                kind,
                unit,
                amount,
                currency: currency.clone(),
                period,
                annualized_amount: annualized,
                source_field: source.to_string(),
            }
        };
    let mut pay = Vec::new();

    // Base pay, annualized with the default factors.
    let mut annual_base = None;
    if let Some(amount) = value(&t.salary) {
        let (kind, period, factor) = match t.interval {
            Interval::Year => (PayKind::BaseSalary, Period::Year, 1),
            Interval::Month => (PayKind::BaseSalary, Period::Month, 12),
            Interval::Hour => (PayKind::HourlyWage, Period::Hour, 2080),
        };
        let annual = round2(amount * Decimal::from(factor));
        annual_base = Some(annual);
        pay.push(element(
            kind,
            PayUnit::Currency,
            amount,
            &currency,
            period,
            Some(annual),
            "salary_amount",
        ));
    }

    // One-time money.
    let one_time = [
        (
            PayKind::SigningBonus,
            &t.sign_on_bonus,
            "custom_sign_on_bonus",
        ),
        (
            PayKind::Equity,
            &t.rsu_grant_value,
            "custom_rsu_grant_value",
        ),
        (PayKind::Relocation, &t.relocation, "custom_relocation"),
    ];
    for (kind, planned, source) in one_time {
        if let Some(amount) = value(planned) {
            pay.push(element(
                kind,
                PayUnit::Currency,
                amount,
                &currency,
                Period::OneTime,
                None,
                source,
            ));
        }
    }

    if let Some(shares) = value(&t.rsu_shares) {
        pay.push(element(
            PayKind::Equity,
            PayUnit::Shares,
            shares,
            &None,
            Period::OneTime,
            None,
            "custom_rsu_shares",
        ));
    }
    if let Some(pct) = value(&t.annual_bonus_pct) {
        let annualized = annual_base.map(|b| round2(b * pct / Decimal::from(100)));
        pay.push(element(
            PayKind::TargetBonus,
            PayUnit::Percent,
            pct,
            &currency,
            Period::Year,
            annualized,
            "custom_annual_bonus_pct",
        ));
    }
    if let Some(amount) = value(&t.ote_commission) {
        pay.push(element(
            PayKind::Commission,
            PayUnit::Currency,
            amount,
            &currency,
            Period::Year,
            Some(round2(amount)),
            "custom_ote_commission",
        ));
    }

    pay.sort_by(|a, b| (a.kind, &a.source_field).cmp(&(b.kind, &b.source_field)));
    pay
}
