//! Lever's Data API: wire types, the HTTP client and its rate limiter.

pub mod client;
pub mod limiter;
pub mod model;
pub mod oauth;

pub use client::{HttpLever, RetryPolicy};
pub use limiter::{RateLimiter, RateLimiters};
