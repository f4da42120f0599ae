//! Lever webhooks: verified events update one opportunity's offers in real time.
//!
//! - [`signature`]: the HMAC check of `lever-api.md` §8.4, pure.
//! - [`delivery`]: the body, parsed into typed fields with clear errors.
//! - [`service`]: the flow from request to status, over the ports of [`crate::ports`].
//! - [`response`]: the one mapping of results to statuses and short JSON bodies.
//!
//! The function in `functions/webhook` only turns a Function URL request into a
//! [`WebhookRequest`] and a [`WebhookResponse`] back into HTTP.

pub mod delivery;
pub mod response;
pub mod service;
pub mod signature;

pub use response::{Accepted, Rejection, WebhookResponse};
pub use service::{WebhookRequest, WebhookService};

#[cfg(test)]
mod tests;
