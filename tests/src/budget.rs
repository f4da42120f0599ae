//! The minimum number of API calls a complete backfill of a dataset needs.

use crate::dataset::Dataset;
use crate::paging::MAX_LIMIT;

/// Pages needed to list `n` items with `limit=100` (an empty list still takes one call).
fn pages(n: usize) -> u64 {
    n.div_ceil(MAX_LIMIT).max(1) as u64
}

impl Dataset {
    /// The minimum number of calls a full backfill needs, with `limit=100` everywhere:
    ///
    /// ```text
    ///   pages(stages) + pages(archive_reasons) + pages(requisition_fields)
    /// + pages(requisitions?confidentiality=all) + pages(postings?confidentiality=all)
    /// + pages(opportunities?confidentiality=all, no date filter)
    /// + pages(opportunities/deleted since the beginning)
    /// + offer reads
    /// ```
    ///
    /// where `pages(n) = max(1, ceil(n / 100))` and "offer reads" is one
    /// `GET /opportunities/:id/offers` per live opportunity whose `stageChanges` reached the
    /// index of `min_stage_id` (or later) or that is archived with a hired-type reason; with
    /// `None`, every live opportunity. An unknown `min_stage_id` reaches no stage, so only
    /// hired opportunities count. Users are not included.
    pub fn minimum_calls(&self, min_stage_id: Option<&str>) -> u64 {
        let dimensions = pages(self.stages.len())
            + pages(self.archive_reasons.len())
            + pages(self.requisition_fields.len())
            + pages(self.requisitions.len())
            + pages(self.postings.len());
        let opportunity_pages = pages(self.opportunities.len()) + pages(self.deleted.len());

        let offer_reads = match min_stage_id {
            None => self.opportunities.len(),
            Some(stage) => {
                let index = self.stage_index(stage);
                self.opportunities
                    .iter()
                    .filter(|o| index.is_some_and(|i| o.max_stage_index() >= i) || self.is_hired(o))
                    .count()
            }
        };

        dimensions + opportunity_pages + offer_reads as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_round_up_and_never_zero() {
        assert_eq!(pages(0), 1);
        assert_eq!(pages(100), 1);
        assert_eq!(pages(101), 2);
    }
}
