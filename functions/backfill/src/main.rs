//! Backfill Lambda: the nightly schedule and console re-syncs. Transport only; the work is
//! `shared::sync`.

mod handler;

use lambda_runtime::{Error, service_fn};
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();

    let config = Config::from_env()?;
    let aws = shared::wiring::aws_config().await;
    let syncer = shared::wiring::syncer(&config, &aws);
    let tenants = config.tenants.clone();

    lambda_runtime::run(service_fn(|event| {
        handler::handle(&syncer, &tenants, event)
    }))
    .await
}
