//! OAuth tenants end to end: the engine over HTTP against lever-sim's token endpoint and Data
//! API, with the secret and the refresh lease in moto.

mod common;

use common::{Stack, check, fast_sim, unique};
use lever_sim::{OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAuthControl};
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::sync::{Mode, RunRequest, RunStatus};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// The error a tenant with a dead grant ends with.
const INVALID_GRANT: &str = "lever oauth grant is invalid; the tenant must re-authorize";

/// A stack whose Lever OAuth host is the simulator.
async fn oauth_stack(env: &[(&'static str, &str)]) -> Stack {
    let mut stack = Stack::with_env(fast_sim(300), 300.0, 300, env).await;
    stack.config.lever_auth_url = stack.sim.root_url();
    stack
}

/// The tenant secret of an OAuth tenant: like `make demo`'s, with a grant instead of a key.
fn oauth_secret(stack: &Stack, refresh_token: &str) -> Value {
    json!({
        "lever": { "oauth": {
            "client_id": OAUTH_CLIENT_ID,
            "client_secret": OAUTH_CLIENT_SECRET,
            "refresh_token": refresh_token,
        } },
        "pseudonym_key": "integration-pseudonym-key-0123456789abcdef",
        "settings": {
            "min_stage_id": stack.sim.offer_stage_id(),
            "field_mapping": lever_sim::tenant_mapping(),
        }
    })
}

fn secrets_client(stack: &Stack) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&stack.aws)
}

fn secret_id(stack: &Stack, tenant: &str) -> String {
    format!("{}{}", stack.config.secret_prefix, tenant)
}

/// Replaces the stack tenant's secret (created with an API key by `Stack`).
async fn replace_secret(stack: &Stack, secret: &Value) {
    secrets_client(stack)
        .put_secret_value()
        .secret_id(secret_id(stack, &stack.tenant))
        .secret_string(secret.to_string())
        .send()
        .await
        .expect("put secret value");
}

/// Creates the secret of another tenant.
async fn create_secret(stack: &Stack, tenant: &str, secret: &Value) {
    secrets_client(stack)
        .create_secret()
        .name(secret_id(stack, tenant))
        .secret_string(secret.to_string())
        .send()
        .await
        .expect("create secret");
}

/// The secret document as moto holds it now.
async fn stored_secret(stack: &Stack, tenant: &str) -> Value {
    let output = secrets_client(stack)
        .get_secret_value()
        .secret_id(secret_id(stack, tenant))
        .send()
        .await
        .expect("get secret value");
    serde_json::from_str(output.secret_string().expect("string")).expect("json")
}

/// Log lines of the current thread, as production would print them at `LOG_LEVEL=trace`.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(shared::telemetry::filter("trace"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("logs").clone()).expect("utf8")
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Asserts that no token the simulator issued, nor the client secret, is in `texts`.
fn assert_no_secrets(stack: &Stack, texts: &[String]) {
    let report = stack.sim.oauth();
    let mut secrets = vec![OAUTH_CLIENT_SECRET.to_owned()];
    secrets.extend(report.access_tokens);
    secrets.extend(report.refresh_tokens);

    for text in texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} leaked into {text}"
            );
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn oauth_tenant_syncs_across_a_forced_expiry_and_two_refreshes() {
    // One offer read at a time, so exactly one request meets the expired token.
    let stack = oauth_stack(&[("LEVER_CONCURRENCY", "1")]).await;
    let first = stack.sim.issue_refresh_token();
    replace_secret(&stack, &oauth_secret(&stack, &first)).await;
    stack.sim.set_oauth(OAuthControl {
        expire_after_requests: Some(40),
        ..OAuthControl::default()
    });
    let (logs, _guard) = Logs::capture();

    let summary = stack.syncer().run(&stack.request(Mode::Full), None).await;

    assert_eq!(summary.status, RunStatus::Complete, "{:?}", summary.error);
    assert_eq!(
        check::compare(&stack.sim.truth(), &stack.records().await),
        Vec::<String>::new()
    );

    let report = stack.sim.oauth();
    assert_eq!(report.counters.token_requests, 2);
    assert_eq!(report.counters.refreshed, 2);
    assert_eq!(report.counters.invalid_grant, 0);
    assert_eq!(report.counters.bearer_rejected, 1);
    assert_eq!(stack.served("401"), 1);
    assert_eq!(report.refresh_tokens.len(), 3);
    let last = report.last_refresh_token.clone().expect("issued");
    assert_eq!(last, report.refresh_tokens[2]);

    let stored = stored_secret(&stack, &stack.tenant).await;
    assert_eq!(stored["lever"]["oauth"]["refresh_token"], last.as_str());
    assert_eq!(
        stored,
        oauth_secret(&stack, &last),
        "every other field is kept"
    );

    let minimum = stack.sim.minimum_calls(Some(&stack.sim.offer_stage_id()));
    assert_eq!(
        summary.api_calls,
        minimum + 1,
        "only the refused page is sent twice"
    );

    let logs = logs.text();
    assert_eq!(logs.matches("oauth_token_refreshed").count(), 2, "{logs}");
    assert_eq!(logs.matches("oauth_token_refused").count(), 1, "{logs}");
    let items = stack.raw_items().await;
    assert_no_secrets(&stack, &[logs]);
    assert_no_secrets(&stack, &items);

    let digest = shared::lever::oauth::digest(&SecretString::from(last));
    let lease: Vec<&String> = items.iter().filter(|i| i.contains("OAUTH_LEASE")).collect();
    assert_eq!(lease.len(), 1);
    assert!(
        lease[0].contains(&digest),
        "lease records the stored token's digest"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_revoked_grant_fails_only_its_tenant() {
    let stack = oauth_stack(&[]).await;
    let oauth_tenant = unique("oauth");
    let first = stack.sim.issue_refresh_token();
    create_secret(&stack, &oauth_tenant, &oauth_secret(&stack, &first)).await;
    stack.sim.set_oauth(OAuthControl {
        revoke_grants: Some(true),
        ..OAuthControl::default()
    });
    let (logs, _guard) = Logs::capture();

    let tenants = [oauth_tenant.clone(), stack.tenant.clone()];
    let summaries = stack.syncer().run_scheduled(&tenants, None).await;

    assert_eq!(summaries[0].tenant, oauth_tenant);
    assert_eq!(summaries[0].status, RunStatus::Failed);
    assert_eq!(summaries[0].error.as_deref(), Some(INVALID_GRANT));
    assert_eq!(summaries[0].api_calls, 0);

    assert_eq!(summaries[1].tenant, stack.tenant);
    assert_eq!(
        summaries[1].status,
        RunStatus::Complete,
        "{:?}",
        summaries[1].error
    );
    assert_eq!(
        check::compare(&stack.sim.truth(), &stack.records().await),
        Vec::<String>::new()
    );

    let report = stack.sim.oauth();
    assert_eq!(report.counters.token_requests, 1, "no retry loop");
    assert_eq!(report.counters.invalid_grant, 1);
    assert_eq!(report.counters.refreshed, 0);
    let stored = stored_secret(&stack, &oauth_tenant).await;
    assert_eq!(stored, oauth_secret(&stack, &first), "secret untouched");

    let logs = logs.text();
    let alarms: Vec<&str> = logs.lines().filter(|l| l.contains("auth_failed")).collect();
    assert_eq!(alarms.len(), 1, "{logs}");
    assert!(alarms[0].contains("ERROR"), "{}", alarms[0]);
    assert!(
        alarms[0].contains(&format!("tenant={oauth_tenant}")),
        "{}",
        alarms[0]
    );
    assert!(
        alarms[0].contains("reason=\"invalid_grant\""),
        "{}",
        alarms[0]
    );
    assert_no_secrets(&stack, &[logs]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_containers_refresh_one_after_the_other_through_the_lease() {
    let stack = oauth_stack(&[]).await;
    let first = stack.sim.issue_refresh_token();
    replace_secret(&stack, &oauth_secret(&stack, &first)).await;
    let ids: Vec<String> = stack.sim.with_dataset(|d| {
        d.opportunities
            .iter()
            .take(6)
            .map(|o| o.id.clone())
            .collect()
    });
    let request = |ids: &[String]| RunRequest {
        opportunity_ids: Some(ids.to_vec()),
        ..stack.request(Mode::Full)
    };
    let (one, two) = (stack.syncer(), stack.syncer());
    let (first_half, second_half) = (request(&ids[..3]), request(&ids[3..]));

    let (a, b) = tokio::join!(one.run(&first_half, None), two.run(&second_half, None));

    assert_eq!(
        (a.status, b.status),
        (RunStatus::Complete, RunStatus::Complete)
    );
    let report = stack.sim.oauth();
    assert_eq!(report.counters.token_requests, 2);
    assert_eq!(report.counters.refreshed, 2);
    assert_eq!(report.counters.invalid_grant, 0);
    let stored = stored_secret(&stack, &stack.tenant).await;
    assert_eq!(
        stored["lever"]["oauth"]["refresh_token"],
        report.last_refresh_token.expect("issued").as_str()
    );
}
