//! Deterministic "the world moves on" mutations (`POST /_sim/mutate`).
//!
//! Choices are seeded by the dataset seed and a mutation serial; timestamps are the wall
//! clock. Offer-only changes do not bump `opportunity.updatedAt` (as in Lever).

use crate::catalog;
use crate::dataset::{Archive, Dataset, Interval, OfferStatus, Opportunity};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
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
