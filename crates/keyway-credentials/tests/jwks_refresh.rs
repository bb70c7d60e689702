//! The JWKS cache against a real loopback HTTP server whose key set
//! rotates: picked up on an unknown kid, at most one fetch per interval
//! however many bad kids arrive, and on TTL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

mod common;

use bytes::Bytes;
use common::{claims, jwks, TestKey, NOW};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::Algorithm;
use keyway_credentials::jwt::{Alg, Issuer, IssuerConfig, JwksError, RefreshOutcome, RefreshPolicy, TokenRefusal};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A loopback IdP serving whatever JWKS it holds, counting GETs.
struct Idp {
    url: String,
    jwks: Arc<Mutex<(u16, String)>>,
    hits: Arc<AtomicUsize>,
}

impl Idp {
    async fn start(initial: String) -> Idp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        let jwks = Arc::new(Mutex::new((200, initial)));
        let hits = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (jwks.clone(), hits.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (served, counted) = (served.clone(), counted.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |_req| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let (status, body) = served.lock().unwrap().clone();
                        let response = hyper::Response::builder().status(status).body(Full::new(Bytes::from(body)));
                        async move { Ok::<_, Infallible>(response.unwrap()) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Idp { url, jwks, hits }
    }

    fn publish(&self, keys: &[&TestKey]) {
        *self.jwks.lock().unwrap() = (200, jwks(keys).to_string());
    }

    fn fail_with(&self, status: u16) {
        self.jwks.lock().unwrap().0 = status;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn issuer(url: &str, policy: RefreshPolicy) -> Issuer {
    let mut config = IssuerConfig::new("https://idp.test", &[Alg::ES256]);
    config.jwks_url = Some(url.to_owned());
    Issuer::with_refresh_policy(&config, policy).unwrap()
}

fn policy(ttl_ms: u64, unknown_kid_ms: u64) -> RefreshPolicy {
    RefreshPolicy {
        ttl: Duration::from_millis(ttl_ms),
        unknown_kid_interval: Duration::from_millis(unknown_kid_ms),
        ..RefreshPolicy::default()
    }
}

#[tokio::test]
async fn the_first_token_fetches_and_later_ones_use_the_cache() {
    let k1 = TestKey::ec(Algorithm::ES256, "k1");
    let idp = Idp::start(jwks(&[&k1]).to_string()).await;
    let issuer = issuer(&idp.url, policy(60_000, 60_000));
    for _ in 0..5 {
        issuer.verify_refreshing(&k1.sign(&claims()), NOW).await.unwrap();
    }
    assert_eq!(idp.hits(), 1);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_one_refresh_on_its_unknown_kid() {
    let (k1, k2) = (TestKey::ec(Algorithm::ES256, "k1"), TestKey::ec(Algorithm::ES256, "k2"));
    let idp = Idp::start(jwks(&[&k1]).to_string()).await;
    let issuer = issuer(&idp.url, policy(60_000, 500));
    issuer.verify_refreshing(&k1.sign(&claims()), NOW).await.unwrap();
    idp.publish(&[&k2]);
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Without I/O the held set does not know k2.
    assert_eq!(issuer.verify(&k2.sign(&claims()), NOW).unwrap_err(), TokenRefusal::KeyUnknown { kid: Some("k2".into()) });
    let v = issuer.verify_refreshing(&k2.sign(&claims()), NOW).await.unwrap();
    assert_eq!(v.kid.as_deref(), Some("k2"));
    assert_eq!(idp.hits(), 2);
    // k1 is gone from the IdP's set, so from ours.
    assert_eq!(issuer.verify(&k1.sign(&claims()), NOW).unwrap_err(), TokenRefusal::KeyUnknown { kid: Some("k1".into()) });
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_once_per_interval() {
    let k1 = TestKey::ec(Algorithm::ES256, "k1");
    let idp = Idp::start(jwks(&[&k1]).to_string()).await;
    let issuer = Arc::new(issuer(&idp.url, policy(60_000, 500)));
    issuer.verify_refreshing(&k1.sign(&claims()), NOW).await.unwrap();
    // Right after a fetch, an unknown kid fetches nothing.
    let bogus = TestKey::ec(Algorithm::ES256, "bogus").sign(&claims());
    assert!(issuer.verify_refreshing(&bogus, NOW).await.is_err());
    assert_eq!(idp.hits(), 1);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let issuer = issuer.clone();
        let forged = TestKey::ec(Algorithm::ES256, &format!("bogus-{i}")).sign(&claims());
        tasks.push(tokio::spawn(async move { issuer.verify_refreshing(&forged, NOW).await }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Err(TokenRefusal::KeyUnknown { .. })));
    }
    assert_eq!(idp.hits(), 2, "one initial fetch, one refresh for the whole flood");
    let cache = issuer.jwks_cache().unwrap();
    assert!(matches!(cache.refresh_for_unknown_kid(&cache.keys()).await, RefreshOutcome::RateLimited { .. }));
    assert_eq!(cache.fetch_count(), 2);
}

#[tokio::test]
async fn after_the_interval_an_unknown_kid_may_refresh_again() {
    let (k1, k2) = (TestKey::ec(Algorithm::ES256, "k1"), TestKey::ec(Algorithm::ES256, "k2"));
    let idp = Idp::start(jwks(&[&k1]).to_string()).await;
    let issuer = issuer(&idp.url, policy(60_000, 500));
    issuer.verify_refreshing(&k1.sign(&claims()), NOW).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let bogus = TestKey::ec(Algorithm::ES256, "bogus").sign(&claims());
    assert!(issuer.verify_refreshing(&bogus, NOW).await.is_err());
    assert_eq!(idp.hits(), 2);
    idp.publish(&[&k1, &k2]);
    // Inside the interval: not fetched, k2 still unknown.
    assert!(issuer.verify_refreshing(&k2.sign(&claims()), NOW).await.is_err());
    assert_eq!(idp.hits(), 2);
    tokio::time::sleep(Duration::from_millis(600)).await;
    issuer.verify_refreshing(&k2.sign(&claims()), NOW).await.unwrap();
    assert_eq!(idp.hits(), 3);
}

#[tokio::test]
async fn a_stale_set_is_refreshed_on_ttl_without_an_unknown_kid() {
    let (k1, k2) = (TestKey::ec(Algorithm::ES256, "k1"), TestKey::ec(Algorithm::ES256, "k2"));
    let idp = Idp::start(jwks(&[&k1]).to_string()).await;
    let issuer = issuer(&idp.url, policy(200, 60_000));
    issuer.verify_refreshing(&k1.sign(&claims()), NOW).await.unwrap();
    idp.publish(&[&k2]);
    tokio::time::sleep(Duration::from_millis(250)).await;
    // k1 was dropped by the IdP: the TTL refresh alone makes it unknown.
    assert_eq!(
        issuer.verify_refreshing(&k1.sign(&claims()), NOW).await.unwrap_err(),
        TokenRefusal::KeyUnknown { kid: Some("k1".into()) }
    );
    assert_eq!(idp.hits(), 2, "the TTL refresh; the set it brought is too young to refetch for the unknown kid");
}

#[tokio::test]
async fn a_failing_idp_keeps_the_held_keys() {
    let k1 = TestKey::ec(Algorithm::ES256, "k1");
    let idp = Idp::start(jwks(&[&k1]).to_string()).await;
    let issuer = issuer(&idp.url, policy(100, 60_000));
    issuer.verify_refreshing(&k1.sign(&claims()), NOW).await.unwrap();
    idp.fail_with(503);
    tokio::time::sleep(Duration::from_millis(150)).await;
    issuer.verify_refreshing(&k1.sign(&claims()), NOW).await.unwrap();
    let cache = issuer.jwks_cache().unwrap();
    assert_eq!(cache.refresh().await, Err(JwksError::Status(503)));
    assert!(!cache.keys().is_empty());
}

#[tokio::test]
async fn an_idp_that_is_down_is_asked_at_most_once_per_interval() {
    let k1 = TestKey::ec(Algorithm::ES256, "k1");
    let idp = Idp::start(jwks(&[&k1]).to_string()).await;
    idp.fail_with(500);
    let issuer = issuer(&idp.url, policy(100, 60_000));
    for _ in 0..20 {
        assert_eq!(
            issuer.verify_refreshing(&k1.sign(&claims()), NOW).await.unwrap_err(),
            TokenRefusal::KeyUnknown { kid: Some("k1".into()) }
        );
    }
    assert_eq!(idp.hits(), 1, "neither the TTL nor the unknown kid retries inside the interval");
}
