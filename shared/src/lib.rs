//! lever-offers: keeps a company's Lever job offers in DynamoDB, normalized for compensation
//! analytics.
//!
//! The functions in `functions/` are transport only; everything they do lives here, behind
//! the ports in [`ports`]: the Lever API, the offer store, the secret source and the clock.

pub mod config;
pub mod error;
pub mod lever;
pub mod metrics;
pub mod normalize;
pub mod ports;
pub mod record;
pub mod secrets;
pub mod settings;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod webhook;
pub mod wiring;

#[cfg(test)]
mod test_support;
