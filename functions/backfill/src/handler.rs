//! Turns an invocation into sync runs and their summaries into the response.

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Value, json};
use shared::sync::{Invocation, RunSummary, Syncer, parse_invocation};
use std::time::{Duration, Instant};

/// Runs the requested backfill and answers with its summary: the run's summary for a console
/// payload, `{"runs": [...]}` (one per tenant) for the nightly schedule.
///
/// A payload that is not valid is an `InvalidPayload` error naming the problem; a run that
/// fails is still a summary, with `status` and `error` saying why, so the console shows what
/// happened.
pub async fn handle(
    syncer: &Syncer,
    tenants: &[String],
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let deadline = deadline_of(&event);
    let invocation = parse_invocation(&event.payload).map_err(invalid_payload)?;

    Ok(match invocation {
        Invocation::Scheduled => {
            let runs: Vec<RunSummary> = syncer.run_scheduled(tenants, deadline).await;
            json!({ "runs": runs })
        }
        Invocation::Console(request) => json!(syncer.run(&request, deadline).await),
    })
}

fn invalid_payload(message: String) -> Diagnostic {
    Diagnostic {
        error_type: "InvalidPayload".to_owned(),
        error_message: message,
    }
}

/// The invocation's deadline as an `Instant`, from the runtime's epoch-ms deadline.
fn deadline_of(event: &LambdaEvent<Value>) -> Option<Instant> {
    let deadline = Duration::from_millis(event.context.deadline);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(Instant::now() + deadline.checked_sub(now)?)
}
