//! The derived outcome of an offer.
//!
//! Rule (per offer, first match wins; also in `docs/data-model.md` and the README):
//! 1. status `signed` → accepted;
//! 2. another offer on the same opportunity was created later → superseded;
//! 3. the opportunity is archived with a `hired`-type reason → accepted;
//! 4. the opportunity is archived with any other reason → declined;
//! 5. otherwise → pending.
//!
//! A hired archive without a signed offer still means the candidate accepted (offers are
//! often signed outside Lever); an archive for any other reason after an offer means the
//! candidacy ended without the offer being taken.

use crate::lever::model::{ArchiveReason, Offer, Opportunity};
use crate::record::Outcome;

/// The outcome of `offer`, one of `siblings` (all offers of `opportunity`, itself included).
pub fn outcome(
    offer: &Offer,
    siblings: &[Offer],
    opportunity: &Opportunity,
    reason: Option<&ArchiveReason>,
) -> Outcome {
    if offer.status.as_deref() == Some("signed") {
        return Outcome::Accepted;
    }

    if siblings
        .iter()
        .any(|other| other.id != offer.id && is_newer(other, offer))
    {
        return Outcome::Superseded;
    }

    match (&opportunity.archived, reason) {
        (None, _) => Outcome::Pending,
        (Some(_), Some(reason)) if reason.is_hired() => Outcome::Accepted,
        (Some(_), _) => Outcome::Declined,
    }
}

/// Later creation time; ties broken by id so the order is total and stable.
fn is_newer(a: &Offer, b: &Offer) -> bool {
    (a.created_at.unwrap_or(i64::MIN), &a.id) > (b.created_at.unwrap_or(i64::MIN), &b.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lever::model::Archived;

    fn offer(id: &str, status: &str, created_at: i64) -> Offer {
        Offer {
            id: id.into(),
            status: Some(status.into()),
            created_at: Some(created_at),
            ..Offer::default()
        }
    }

    fn archived(reason: &str) -> Opportunity {
        let archived = Archived {
            reason_id: Some(reason.into()),
            archived_at: Some(9),
        };
        Opportunity {
            id: "o".into(),
            archived: Some(archived),
            ..Opportunity::default()
        }
    }

    fn reason(kind: &str) -> ArchiveReason {
        ArchiveReason {
            id: "r".into(),
            text: None,
            reason_type: Some(kind.into()),
        }
    }

    #[test]
    fn signed_is_accepted_even_with_a_newer_draft() {
        let old = offer("a", "signed", 1);
        let all = [old.clone(), offer("b", "draft", 2)];
        let active = Opportunity::default();
        assert_eq!(outcome(&old, &all, &active, None), Outcome::Accepted);
    }

    #[test]
    fn older_unsigned_offer_is_superseded() {
        let old = offer("a", "sent", 1);
        let all = [old.clone(), offer("b", "signed", 2)];
        assert_eq!(
            outcome(&old, &all, &Opportunity::default(), None),
            Outcome::Superseded
        );
    }

    #[test]
    fn archive_type_decides_accepted_or_declined() {
        let sent = offer("a", "sent", 1);
        let all = [sent.clone()];
        let hired = reason("hired");
        let other = reason("non-hired");

        assert_eq!(
            outcome(&sent, &all, &archived("r"), Some(&hired)),
            Outcome::Accepted
        );
        assert_eq!(
            outcome(&sent, &all, &archived("r"), Some(&other)),
            Outcome::Declined
        );
        assert_eq!(
            outcome(&sent, &all, &archived("gone"), None),
            Outcome::Declined
        );
        assert_eq!(
            outcome(&sent, &all, &Opportunity::default(), None),
            Outcome::Pending
        );
    }
}
