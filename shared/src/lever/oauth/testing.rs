//! Test doubles of the OAuth ports: a strictly rotating token endpoint, a settable clock, a
//! secret store that can fail writes, and a journal recording the order of events.

use super::{
    ClientCredentials, ExchangeError, OAuthOptions, OAuthPorts, TokenExchange, TokenGrant,
    TokenProvider,
};
use crate::error::SecretError;
use crate::ports::{Clock, SecretWriter};
use crate::secrets::{LeverCredential, OAuthCredential, StaticSecrets, TenantSecret};
use crate::store::lease::MemoryLease;
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const TENANT: &str = "acme";
pub(crate) const CLIENT_ID: &str = "client-1";
pub(crate) const CLIENT_SECRET: &str = "client-secret-xyz";
pub(crate) const FIRST_REFRESH: &str = "rt-0";

/// Events in the order they happened, e.g. `exchange rt-0`, `store rt-1`, `use at-1`.
#[derive(Default)]
pub(crate) struct Journal(Mutex<Vec<String>>);

impl Journal {
    pub(crate) fn push(&self, entry: String) {
        self.0.lock().expect("journal lock").push(entry);
    }

    pub(crate) fn entries(&self) -> Vec<String> {
        self.0.lock().expect("journal lock").clone()
    }
}

/// A token endpoint with strict rotation: `rt-n` buys `at-(n+1)` and `rt-(n+1)` once.
pub(crate) struct FakeExchange {
    journal: Arc<Journal>,
    valid: Mutex<HashSet<String>>,
    serial: AtomicU32,
    expires_in: Duration,
    delay: Duration,
    sent: Mutex<Vec<String>>,
}

impl FakeExchange {
    pub(crate) fn new(journal: Arc<Journal>, expires_in: Duration, delay: Duration) -> Self {
        FakeExchange {
            journal,
            valid: Mutex::new(HashSet::from([FIRST_REFRESH.to_owned()])),
            serial: AtomicU32::new(0),
            expires_in,
            delay,
            sent: Mutex::new(Vec::new()),
        }
    }

    /// Every refresh token sent, in order.
    pub(crate) fn sent(&self) -> Vec<String> {
        self.sent.lock().expect("sent lock").clone()
    }

    /// A person consents again: `refresh_token` becomes valid.
    pub(crate) fn grant(&self, refresh_token: &str) {
        self.valid
            .lock()
            .expect("valid lock")
            .insert(refresh_token.to_owned());
    }

    /// Revokes the grant: every refresh token is refused from now on.
    pub(crate) fn revoke(&self) {
        self.valid.lock().expect("valid lock").clear();
    }
}

#[async_trait]
impl TokenExchange for FakeExchange {
    async fn refresh(
        &self,
        client: &ClientCredentials,
        refresh_token: &SecretString,
    ) -> Result<TokenGrant, ExchangeError> {
        let sent = refresh_token.expose_secret().to_owned();
        self.sent.lock().expect("sent lock").push(sent.clone());
        self.journal.push(format!("exchange {sent}"));
        tokio::time::sleep(self.delay).await;

        if client.client_id != CLIENT_ID || client.client_secret.expose_secret() != CLIENT_SECRET {
            return Err(ExchangeError::Rejected { status: 401 });
        }
        if !self.valid.lock().expect("valid lock").remove(&sent) {
            return Err(ExchangeError::InvalidGrant);
        }

        let n = self.serial.fetch_add(1, Ordering::SeqCst) + 1;
        let next = format!("rt-{n}");
        self.valid.lock().expect("valid lock").insert(next.clone());
        Ok(TokenGrant {
            access_token: SecretString::from(format!("at-{n}")),
            refresh_token: Some(SecretString::from(next)),
            expires_in: self.expires_in,
        })
    }
}

/// A clock the test moves by hand (epoch ms).
pub(crate) struct FakeClock(AtomicI64);

impl FakeClock {
    pub(crate) fn new(now_ms: i64) -> Self {
        FakeClock(AtomicI64::new(now_ms))
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// [`StaticSecrets`] that journals writes and can fail the next few.
pub(crate) struct JournalSecrets {
    inner: StaticSecrets,
    journal: Arc<Journal>,
    failing_writes: AtomicU32,
}

impl JournalSecrets {
    pub(crate) fn fail_next_writes(&self, count: u32) {
        self.failing_writes.store(count, Ordering::SeqCst);
    }

    /// The refresh token the secret holds now.
    pub(crate) fn stored_refresh(&self) -> String {
        let secret = futures::executor::block_on(self.inner.reload_secret(TENANT)).expect("secret");
        match secret.lever {
            LeverCredential::Oauth(oauth) => oauth.refresh_token.expose_secret().to_owned(),
            LeverCredential::ApiKey(_) => panic!("expected oauth"),
        }
    }
}

#[async_trait]
impl SecretWriter for JournalSecrets {
    async fn reload_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        self.inner.reload_secret(tenant).await
    }

    async fn store_refresh_token(
        &self,
        tenant: &str,
        refresh_token: &SecretString,
    ) -> Result<(), SecretError> {
        let failing = self.failing_writes.load(Ordering::SeqCst);
        if failing > 0 {
            self.failing_writes.store(failing - 1, Ordering::SeqCst);
            self.journal.push("store failed".to_owned());
            return Err(SecretError::Backend("InternalServiceError".to_owned()));
        }

        self.journal
            .push(format!("store {}", refresh_token.expose_secret()));
        self.inner.store_refresh_token(tenant, refresh_token).await
    }
}

/// The OAuth credential of the test tenant.
pub(crate) fn credential(refresh_token: &str) -> OAuthCredential {
    OAuthCredential {
        client_id: CLIENT_ID.to_owned(),
        client_secret: SecretString::from(CLIENT_SECRET),
        refresh_token: SecretString::from(refresh_token),
    }
}

/// A whole tenant secret holding [`credential`].
pub(crate) fn oauth_secret(refresh_token: &str) -> TenantSecret {
    TenantSecret {
        lever: LeverCredential::Oauth(credential(refresh_token)),
        pseudonym_key: SecretString::from("pseudonym-key"),
        webhook_tokens: BTreeMap::new(),
        settings: Default::default(),
    }
}

/// Fakes wired together: one simulated Lever grant, one secret, one lease.
pub(crate) struct Harness {
    pub journal: Arc<Journal>,
    pub exchange: Arc<FakeExchange>,
    pub secrets: Arc<JournalSecrets>,
    pub lease: Arc<MemoryLease>,
    pub clock: Arc<FakeClock>,
}

impl Harness {
    /// Access tokens live `expires_in`; each exchange takes `delay`.
    pub(crate) fn new(expires_in: Duration, delay: Duration) -> Self {
        let journal = Arc::new(Journal::default());
        let secrets = StaticSecrets::default().with(TENANT, oauth_secret(FIRST_REFRESH));

        Harness {
            exchange: Arc::new(FakeExchange::new(journal.clone(), expires_in, delay)),
            secrets: Arc::new(JournalSecrets {
                inner: secrets,
                journal: journal.clone(),
                failing_writes: AtomicU32::new(0),
            }),
            lease: Arc::new(MemoryLease::default()),
            clock: Arc::new(FakeClock::new(1_700_000_000_000)),
            journal,
        }
    }

    pub(crate) fn ports(&self) -> OAuthPorts {
        OAuthPorts {
            exchange: self.exchange.clone(),
            secrets: self.secrets.clone(),
            lease: self.lease.clone(),
            clock: self.clock.clone(),
        }
    }

    /// A provider as one process would build it from the secret's first grant.
    pub(crate) fn provider(&self) -> Arc<TokenProvider> {
        let options = OAuthOptions {
            poll: Duration::from_millis(5),
            ..OAuthOptions::default()
        };
        Arc::new(TokenProvider::new(
            TENANT,
            &credential(FIRST_REFRESH),
            self.ports(),
            options,
        ))
    }
}
