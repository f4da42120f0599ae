//! Deterministic "the world moves on" mutations (`POST /_sim/mutate`).
//!
//! Choices are seeded by the dataset seed and a mutation serial; timestamps are the wall
//! clock. Offer-only changes do not bump `opportunity.updatedAt` (as in Lever).

use crate::catalog;
use crate::dataset::{Archive, Dataset, Interval, OfferStatus, Opportunity};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What a mutation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The latest offer was signed (no `updatedAt` bump).
    OfferSigned,
    /// The latest offer's salary was raised 5 % (no `updatedAt` bump).
    SalaryRevised,
    /// Archived with "Offer declined" (bumps `updatedAt`).
    ArchivedDeclined,
    /// Latest offer signed and archived as hired (bumps `updatedAt`).
    Hired,
    /// An active candidate without offers moves to the offer stage and gets a sent offer
    /// (bumps `updatedAt`). Only by request (`/_sim/change`), never by `mutate`.
    MovedToOffer,
}

impl ChangeKind {
    /// The Lever webhook event this change fires, if any (Lever has no offer events).
    pub fn webhook_event(self) -> Option<&'static str> {
        match self {
            ChangeKind::OfferSigned | ChangeKind::SalaryRevised => None,
            ChangeKind::ArchivedDeclined => Some("candidateArchiveChange"),
            ChangeKind::Hired => Some("candidateHired"),
            ChangeKind::MovedToOffer => Some("candidateStageChange"),
        }
    }
}

/// One applied mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The opportunity changed.
    pub opportunity_id: String,
    /// What happened.
    pub kind: ChangeKind,
    /// Offers whose truth changed.
    pub offer_ids: Vec<String>,
}

const KINDS: [ChangeKind; 4] = [
    ChangeKind::OfferSigned,
    ChangeKind::SalaryRevised,
    ChangeKind::ArchivedDeclined,
    ChangeKind::Hired,
];

/// Applies up to `count` mutations; `serial` is the number of mutations applied before.
/// Returns fewer changes when no opportunity qualifies any more.
pub fn mutate(d: &mut Dataset, serial: u64, count: usize, now_ms: i64) -> Vec<Change> {
    let mut changes = Vec::new();
    for i in 0..count as u64 {
        let n = serial + i;
        let mut rng = StdRng::seed_from_u64(d.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));

        // Try the kinds round-robin, starting with this serial's kind.
        for k in 0..KINDS.len() {
            let kind = KINDS[(n as usize + k) % KINDS.len()];
            let offer_stage = catalog::OFFER_STAGE_INDEX;
            let eligible: Vec<usize> = d
                .opportunities
                .iter()
                .enumerate()
                .filter(|(_, o)| eligible(o, kind, offer_stage))
                .map(|(i, _)| i)
                .collect();
            if let Some(&idx) = eligible.choose(&mut rng) {
                changes.push(apply(d, idx, kind, now_ms));
                break;
            }
        }
    }
    changes
}

/// Applies one change of `kind`: to `opportunity_id` when given and it qualifies, else to a
/// choice seeded by `serial` among the qualifying opportunities. `None` when none qualifies.
pub fn change(
    d: &mut Dataset,
    serial: u64,
    kind: ChangeKind,
    opportunity_id: Option<&str>,
    now_ms: i64,
) -> Option<Change> {
    let mut rng = StdRng::seed_from_u64(d.seed ^ serial.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let qualifying: Vec<usize> = d
        .opportunities
        .iter()
        .enumerate()
        .filter(|(_, o)| opportunity_id.is_none_or(|id| o.id == id))
        .filter(|(_, o)| qualifies(d, o, kind))
        .map(|(i, _)| i)
        .collect();

    let &idx = qualifying.choose(&mut rng)?;
    Some(match kind {
        ChangeKind::MovedToOffer => move_to_offer(d, idx, &mut rng, now_ms),
        other => apply(d, idx, other, now_ms),
    })
}

fn qualifies(d: &Dataset, o: &Opportunity, kind: ChangeKind) -> bool {
    match kind {
        ChangeKind::MovedToOffer => {
            o.archive.is_none()
                && o.offers.is_empty()
                && o.max_stage_index() < catalog::OFFER_STAGE_INDEX
                && donor(d, o).is_some()
        }
        other => eligible(o, other, catalog::OFFER_STAGE_INDEX),
    }
}

/// An offer made on another opportunity for the same posting: the model of a new offer.
fn donor<'a>(d: &'a Dataset, o: &Opportunity) -> Option<&'a crate::dataset::Offer> {
    let posting = &o.application.as_ref()?.posting_id;
    d.opportunities
        .iter()
        .filter(|other| {
            other
                .application
                .as_ref()
                .is_some_and(|a| &a.posting_id == posting)
        })
        .flat_map(|other| other.offers.iter())
        .find(|offer| offer.terms.job_posting.as_ref() == Some(posting))
}

/// Moves the opportunity to the offer stage with a new, sent offer modelled on a donor's
/// terms (the candidate's own name; no notes or preferred name).
fn move_to_offer(d: &mut Dataset, idx: usize, rng: &mut StdRng, now_ms: i64) -> Change {
    let offer_stage = d.stages[catalog::OFFER_STAGE_INDEX].id.clone();
    let model = donor(d, &d.opportunities[idx]).cloned();
    let o = &mut d.opportunities[idx];
    let now = now_ms.max(o.updated_at.unwrap_or(o.created_at) + 1);

    let mut offer = model.expect("qualifying opportunities have a donor offer");
    offer.id = uuid(rng);
    offer.created_at = now;
    offer.status = OfferStatus::Sent;
    offer.approved_at = Some(now);
    offer.sent_at = Some(now);
    offer.opened_at = None;
    offer.signed_at = None;
    offer.string_created_at = false;
    offer.terms.candidate_name = o.person.name.clone();
    offer.terms.notes = None;
    offer.terms.preferred_name = None;

    o.stage_changes.push(crate::dataset::StageChange {
        to_stage_id: offer_stage.clone(),
        to_stage_index: catalog::OFFER_STAGE_INDEX,
        user_id: offer.creator.clone(),
        updated_at: now,
    });
    o.stage_id = offer_stage;
    o.updated_at = Some(now);
    o.last_advanced_at = now;
    let offer_ids = vec![offer.id.clone()];
    o.offers.push(offer);

    Change {
        opportunity_id: o.id.clone(),
        kind: ChangeKind::MovedToOffer,
        offer_ids,
    }
}

/// A random version-4 UUID.
fn uuid(rng: &mut StdRng) -> String {
    let mut v: u128 = rng.random();
    v = (v & !(0xF << 76)) | (0x4 << 76);
    v = (v & !(0x3 << 62)) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn eligible(o: &Opportunity, kind: ChangeKind, offer_stage: usize) -> bool {
    let Some(latest) = o.offers.last() else {
        return false;
    };
    if o.archive.is_some() {
        return false;
    }
    match kind {
        ChangeKind::OfferSigned => matches!(
            latest.status,
            OfferStatus::Approved
                | OfferStatus::Sent
                | OfferStatus::SentManually
                | OfferStatus::Opened
        ),
        ChangeKind::SalaryRevised => {
            latest.status != OfferStatus::Signed
                && latest.terms.salary.is_some_and(|s| s.amount.is_some())
        }
        ChangeKind::ArchivedDeclined => {
            o.max_stage_index() >= offer_stage && latest.status != OfferStatus::Signed
        }
        ChangeKind::Hired => o.max_stage_index() >= offer_stage,
        ChangeKind::MovedToOffer => false,
    }
}

fn apply(d: &mut Dataset, idx: usize, kind: ChangeKind, now_ms: i64) -> Change {
    let reasons = (
        d.archive_reasons[catalog::REASON_DECLINED].id.clone(),
        d.archive_reasons[catalog::REASON_HIRED].id.clone(),
    );
    let o = &mut d.opportunities[idx];
    let now = now_ms.max(o.updated_at.unwrap_or(o.created_at) + 1);
    let all_offers: Vec<String> = o.offers.iter().map(|f| f.id.clone()).collect();
    let latest = o
        .offers
        .last_mut()
        .expect("eligible opportunities have offers");
    let latest_id = vec![latest.id.clone()];

    let offer_ids = match kind {
        ChangeKind::OfferSigned => {
            sign(latest, now);
            latest_id
        }
        ChangeKind::SalaryRevised => {
            if let Some(s) = latest.terms.salary.as_mut() {
                s.amount = s.amount.map(|a| raise(a, latest.terms.interval));
            }
            latest_id
        }
        ChangeKind::ArchivedDeclined => {
            o.archive = Some(Archive {
                reason_id: reasons.0,
                at: now,
            });
            o.updated_at = Some(now);
            all_offers
        }
        ChangeKind::Hired => {
            if latest.status != OfferStatus::Signed {
                sign(latest, now);
            }
            o.archive = Some(Archive {
                reason_id: reasons.1,
                at: now,
            });
            o.updated_at = Some(now);
            all_offers
        }
        ChangeKind::MovedToOffer => latest_id,
    };
    Change {
        opportunity_id: o.id.clone(),
        kind,
        offer_ids,
    }
}

fn sign(offer: &mut crate::dataset::Offer, now: i64) {
    offer.status = OfferStatus::Signed;
    offer.approved_at.get_or_insert(now);
    offer.sent_at.get_or_insert(now);
    offer.opened_at.get_or_insert(now);
    offer.signed_at = Some(now);
}

/// A 5 % raise, rounded like the original (cents for hourly wages, units otherwise).
fn raise(amount: Decimal, interval: Interval) -> Decimal {
    let raised = amount * Decimal::new(105, 2);
    match interval {
        Interval::Hour => {
            let mut r = raised.round_dp(2);
            r.rescale(2);
            r
        }
        _ => raised.round(),
    }
}
