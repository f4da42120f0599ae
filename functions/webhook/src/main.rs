//! Webhook Lambda behind a Function URL: Lever's event deliveries. Transport only; the work is
//! `shared::webhook`.

mod handler;

use lambda_http::{Error, service_fn};
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();

    let config = Config::from_env()?;
    let aws = shared::wiring::aws_config().await;
    let service = shared::wiring::webhook(&config, &aws);

    lambda_http::run(service_fn(|request| handler::handle(&service, request))).await
}
