//! The small lookup lists an offer is joined with: stages, archive reasons, postings,
//! requisitions and requisition fields. Loaded once per run.

use crate::lever::model::{ArchiveReason, Posting, Requisition, RequisitionField, Stage};
use std::collections::HashMap;

/// Lookups by id, built from Lever's dimension lists.
#[derive(Debug, Clone, Default)]
pub struct Dimensions {
    pub stages: HashMap<String, Stage>,
    /// Pipeline position of each stage, in the order `/stages` lists them.
    pub stage_index: HashMap<String, i64>,
    pub archive_reasons: HashMap<String, ArchiveReason>,
    pub postings: HashMap<String, Posting>,
    pub requisitions: HashMap<String, Requisition>,
    pub requisitions_by_code: HashMap<String, String>,
    pub requisition_fields: HashMap<String, RequisitionField>,
}

impl Dimensions {
    /// Indexes the lists; `stages` must be in pipeline order, as Lever returns them.
    pub fn new(
        stages: Vec<Stage>,
        archive_reasons: Vec<ArchiveReason>,
        postings: Vec<Posting>,
        requisitions: Vec<Requisition>,
        requisition_fields: Vec<RequisitionField>,
    ) -> Self {
        let stage_index = stages
            .iter()
            .zip(0..)
            .map(|(s, i)| (s.id.clone(), i))
            .collect();
        let requisitions_by_code = requisitions
            .iter()
            .filter_map(|r| Some((r.requisition_code.clone()?, r.id.clone())))
            .collect();

        Dimensions {
            stages: by_id(stages, |s| &s.id),
            stage_index,
            archive_reasons: by_id(archive_reasons, |r| &r.id),
            postings: by_id(postings, |p| &p.id),
            requisitions: by_id(requisitions, |r| &r.id),
            requisitions_by_code,
            requisition_fields: by_id(requisition_fields, |f| &f.id),
        }
    }

    /// The archive reason with this id, if known.
    pub fn archive_reason(&self, id: Option<&str>) -> Option<&ArchiveReason> {
        self.archive_reasons.get(id?)
    }
}

fn by_id<T>(items: Vec<T>, id: impl Fn(&T) -> &String) -> HashMap<String, T> {
    items
        .into_iter()
        .map(|item| (id(&item).clone(), item))
        .collect()
}
