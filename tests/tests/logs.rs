//! Proves the backfill's logs say what happened without personal data or secrets: every log
//! line of a debug-level, demo-sized sync (2,000 opportunities, with retries) is captured and
//! searched. To see it fail, log a Lever response body at debug in `shared::lever::client`:
//! the candidates' phones and emails show up in the assertion.

mod common;

use base64::Engine;
use common::{Stack, fast_sim};
use shared::sync::{Mode, RunStatus};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_of_a_sync_hold_no_personal_data_or_secrets() {
    let capture = Capture::default();
    shared::telemetry::try_init_with("debug", true, capture.clone()).expect("subscriber");
    let stack = Stack::new(fast_sim(2_000), 400.0, 400).await;
    let truth = stack.sim.truth();
    stack.sim.set_faults(lever_sim::Faults {
        storm_429: Some(3),
        fail_5xx: Some(3),
        ..Default::default()
    });

    let summary = stack.syncer().run(&stack.request(Mode::Full), None).await;
    assert_eq!(summary.status, RunStatus::Complete, "{:?}", summary.error);

    let text = String::from_utf8(capture.0.lock().expect("lock").clone()).expect("utf-8 logs");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 5, "the sync logged its steps");
    for line in &lines {
        let parsed: serde_json::Value = serde_json::from_str(line).expect("every line is JSON");
        assert!(
            parsed.get("event").is_some() || parsed.get("message").is_some(),
            "{line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"event\":\"backfill_summary\""))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("retry") || l.contains("\"status\":429")),
        "retries were logged"
    );

    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", stack.sim.api_key()));
    let secrets = [
        stack.sim.api_key(),
        basic.as_str(),
        "integration-pseudonym-key-0123456789abcdef",
        "Authorization",
        "offset=",
    ];
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} appeared in the logs");
    }
    let leaked: Vec<&String> = truth
        .pii
        .iter()
        .filter(|pii| text.contains(pii.as_str()))
        .collect();
    assert_eq!(leaked, Vec::<&String>::new());
}
