//! Turns an invocation into sync runs and their summaries into the response.

use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};
use shared::sync::{Invocation, RunSummary, Syncer, parse_invocation};
use std::time::{Duration, Instant};

/// Runs the requested backfill and answers with its summary (one per tenant when scheduled).
///
/// A payload that is not valid is an error naming the problem; a run that fails is still a
/// summary, with `status` and `error` saying why, so the console shows what happened.
pub async fn handle(
    syncer: &Syncer,
    tenants: &[String],
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let deadline = deadline_of(&event);
    let invocation = parse_invocation(&event.payload).map_err(Error::from)?;

    let summaries: Vec<RunSummary> = match invocation {
        Invocation::Scheduled => syncer.run_scheduled(tenants, deadline).await,
        Invocation::Console(request) => vec![syncer.run(&request, deadline).await],
    };

    Ok(match summaries.as_slice() {
        [one] => serde_json::to_value(one)?,
        many => json!({ "runs": many }),
    })
}

/// The invocation's deadline as an `Instant`, from the runtime's epoch-ms deadline.
fn deadline_of(event: &LambdaEvent<Value>) -> Option<Instant> {
    let deadline = Duration::from_millis(event.context.deadline);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(Instant::now() + deadline.checked_sub(now)?)
}
