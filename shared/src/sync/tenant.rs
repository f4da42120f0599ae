//! Everything one tenant's sync needs, loaded once per run: its Lever client, dimensions,
//! field mapping, eligibility rule and pseudonymizer.

use super::{Eligibility, Syncer};
use crate::error::SyncError;
use crate::normalize::{Dimensions, FieldMapping, NormalizeContext, Pseudonymizer};
use crate::ports::LeverApi;
use crate::record::Source;
use crate::secrets::TenantSecret;
use crate::settings::PiiMode;
use std::sync::Arc;
use tracing::info;

/// Builds the Lever client of a tenant from its secret.
pub trait LeverFactory: Send + Sync {
    fn client(&self, tenant: &str, secret: &TenantSecret) -> Result<Arc<dyn LeverApi>, SyncError>;
}

/// A tenant, ready to sync.
pub struct TenantContext {
    pub tenant: String,
    pub lever: Arc<dyn LeverApi>,
    pub dimensions: Dimensions,
    pub mapping: FieldMapping,
    pub eligibility: Eligibility,
    pub pseudonymizer: Option<Pseudonymizer>,
}

impl TenantContext {
    /// Reads the tenant's secret, builds its client and loads the dimension lists.
    pub async fn load(syncer: &Syncer, tenant: &str) -> Result<Self, SyncError> {
        let secret = syncer.secrets.tenant_secret(tenant).await?;
        let lever = syncer.lever.client(tenant, &secret)?;
        Self::with_client(syncer, tenant, &secret, lever).await
    }

    /// Loads the dimension lists through a client built from the tenant's secret. Its call
    /// count stays readable by the caller when loading fails.
    pub async fn with_client(
        syncer: &Syncer,
        tenant: &str,
        secret: &TenantSecret,
        lever: Arc<dyn LeverApi>,
    ) -> Result<Self, SyncError> {
        let dimensions = load_dimensions(lever.as_ref()).await?;
        info!(
            event = "dimensions_loaded",
            tenant,
            stages = dimensions.stages.len(),
            postings = dimensions.postings.len(),
            requisitions = dimensions.requisitions.len(),
            api_calls = lever.calls(),
        );

        let settings = &secret.settings;
        let eligibility = Eligibility::new(settings, &dimensions)?;
        let pseudonymizer = match settings.pii_mode.unwrap_or(syncer.options.pii_mode) {
            PiiMode::Pseudonymize => Some(Pseudonymizer::new(secret.pseudonym_key.clone())),
            PiiMode::Omit => None,
        };

        Ok(TenantContext {
            tenant: tenant.to_owned(),
            lever,
            dimensions,
            mapping: FieldMapping::with_overrides(&settings.field_mapping),
            eligibility,
            pseudonymizer,
        })
    }

    /// The normalizer's view of this tenant.
    pub fn normalize_context(&self, source: Source, synced_at: i64) -> NormalizeContext<'_> {
        NormalizeContext {
            tenant: &self.tenant,
            mapping: &self.mapping,
            dimensions: &self.dimensions,
            pseudonymizer: self.pseudonymizer.as_ref(),
            source,
            synced_at,
        }
    }
}

/// The five small lists, read concurrently (each pages internally).
async fn load_dimensions(lever: &dyn LeverApi) -> Result<Dimensions, SyncError> {
    let (stages, reasons, postings, requisitions, fields) = futures::try_join!(
        lever.stages(),
        lever.archive_reasons(),
        lever.postings(),
        lever.requisitions(),
        lever.requisition_fields(),
    )?;
    Ok(Dimensions::new(
        stages,
        reasons,
        postings,
        requisitions,
        fields,
    ))
}
