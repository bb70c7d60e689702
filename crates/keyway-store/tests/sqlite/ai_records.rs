//! AI providers and models: stored, loaded back, names unique per tenant
//! among live records, and a provider's secret never stored in the clear.

use crate::fixtures::*;
use keyway_core::change::{Change, Record};
use keyway_core::ids::{CredentialId, ModelId, ProviderId, TenantId};
use keyway_core::providers::{AiModel, ModelTarget, Price, Provider, ProviderCredential, ProviderKind};
use keyway_core::sealed::{last4, Sealer, PROVIDER_CREDENTIALS};
use keyway_store::{Store, StoreError};

const SECRET: &str = "sk-test-ZYXWVUTSRQPONMLK";

fn provider(tenant: &TenantId, name: &str, sealer: &Sealer) -> Provider {
    let id = CredentialId::generate();
    Provider {
        id: ProviderId::generate(),
        tenant_id: tenant.clone(),
        name: name.into(),
        kind: ProviderKind::AzureOpenAi,
        base_url: Some("https://acme.openai.azure.com".into()),
        preset: None,
        api_version: Some("2024-10-21".into()),
        credentials: vec![ProviderCredential {
            sealed: sealer.seal(SECRET.as_bytes(), id.as_str()),
            id,
            last4: last4(SECRET),
            rejected_at: None,
        }],
        created_at: at(0),
        deleted_at: None,
    }
}

fn model(tenant: &TenantId, provider: &Provider) -> AiModel {
    AiModel {
        id: ModelId::generate(),
        tenant_id: tenant.clone(),
        name: "gpt-4o".into(),
        targets: vec![ModelTarget { provider_id: provider.id.clone(), model: "gpt4o-prod".into(), weight: 3 }],
        fallbacks: vec![ModelTarget { provider_id: provider.id.clone(), model: "gpt4o-backup".into(), weight: 1 }],
        timeout_ms: Some(30_000),
        price: Some(Price {
            input_per_mtok: 2.5,
            output_per_mtok: 10.0,
            cached_input_per_mtok: Some(1.25),
            ..Default::default()
        }),
        created_at: at(1),
        deleted_at: None,
    }
}

#[tokio::test]
async fn providers_and_models_round_trip_and_the_secret_opens_again() {
    let s = store();
    let t = tenant("acme");
    s.apply(&[Change::Insert(Record::Tenant(t.clone()))], &[]).await.unwrap();
    let sealer = Sealer::derive(b"server secret", PROVIDER_CREDENTIALS);
    let p = provider(&t.id, "azure-east", &sealer);
    let m = model(&t.id, &p);
    s.apply(&[Change::Insert(Record::Provider(p.clone())), Change::Insert(Record::Model(m.clone()))], &[]).await.unwrap();
    let dump = s.load_all().await.unwrap();
    assert_eq!(dump.providers, vec![p.clone()]);
    assert_eq!(dump.models, vec![m]);
    let c = &dump.providers[0].credentials[0];
    assert_eq!(sealer.open(&c.sealed, c.id.as_str()).unwrap(), SECRET.as_bytes());
}

#[tokio::test]
async fn names_are_unique_per_tenant_among_live_records() {
    let s = store();
    let (a, b) = (tenant("a"), tenant("b"));
    s.apply(&[Change::Insert(Record::Tenant(a.clone())), Change::Insert(Record::Tenant(b.clone()))], &[]).await.unwrap();
    let sealer = Sealer::derive(b"k", b"p");
    let first = provider(&a.id, "main", &sealer);
    s.apply(&[Change::Insert(Record::Provider(first.clone()))], &[]).await.unwrap();
    let clash = s.apply(&[Change::Insert(Record::Provider(provider(&a.id, "main", &sealer)))], &[]).await.unwrap_err();
    assert!(matches!(&clash, StoreError::Conflict(m) if m.contains("provider name 'main' is taken")), "{clash:?}");
    s.apply(&[Change::Insert(Record::Provider(provider(&b.id, "main", &sealer)))], &[]).await.unwrap();
    let deleted = Provider { deleted_at: Some(at(5)), ..first };
    s.apply(&[Change::Update(Record::Provider(deleted))], &[]).await.unwrap();
    s.apply(&[Change::Insert(Record::Provider(provider(&a.id, "main", &sealer)))], &[]).await.unwrap();
    let missing = s.apply(&[Change::Insert(Record::Provider(provider(&TenantId::generate(), "x", &sealer)))], &[]).await;
    assert!(matches!(missing, Err(StoreError::NotFound(m)) if m.contains("tenant")));
}

#[tokio::test]
async fn the_database_file_never_holds_the_secret() {
    let dir = std::env::temp_dir().join(format!("keyway-ai-records-{}", ProviderId::generate()));
    let path = dir.join("keyway.db");
    {
        let s = keyway_store::sqlite::SqliteStore::open(&path).unwrap();
        let t = tenant("acme");
        s.apply(&[Change::Insert(Record::Tenant(t.clone()))], &[]).await.unwrap();
        let p = provider(&t.id, "azure", &Sealer::derive(b"server secret", PROVIDER_CREDENTIALS));
        s.apply(&[Change::Insert(Record::Provider(p))], &[]).await.unwrap();
        s.close().await.unwrap();
    }
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(!bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()), "the plaintext secret is stored");
    assert!(bytes.windows(4).any(|w| w == b"MLK\"") || bytes.windows(4).any(|w| w == b"NMLK"), "last4 is stored");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn providers_and_models_are_read_by_id_and_by_tenant() {
    let s = store();
    let (a, b) = (tenant("a"), tenant("b"));
    s.apply(&[Change::Insert(Record::Tenant(a.clone())), Change::Insert(Record::Tenant(b.clone()))], &[]).await.unwrap();
    let sealer = Sealer::derive(b"server secret", PROVIDER_CREDENTIALS);
    let p = provider(&a.id, "main", &sealer);
    let other = provider(&b.id, "main", &sealer);
    let m = model(&a.id, &p);
    let changes = [
        Change::Insert(Record::Provider(p.clone())),
        Change::Insert(Record::Provider(other.clone())),
        Change::Insert(Record::Model(m.clone())),
    ];
    s.apply(&changes, &[]).await.unwrap();
    assert_eq!(s.provider(&p.id).await.unwrap(), Some(p.clone()));
    assert_eq!(s.provider(&ProviderId::generate()).await.unwrap(), None);
    assert_eq!(s.providers_of_tenant(&a.id).await.unwrap(), vec![p.clone()]);
    assert_eq!(s.providers_of_tenant(&b.id).await.unwrap(), vec![other]);
    assert_eq!(s.model(&m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(s.model(&ModelId::generate()).await.unwrap(), None);
    assert_eq!(s.models_of_tenant(&a.id).await.unwrap(), vec![m.clone()]);
    assert!(s.models_of_tenant(&b.id).await.unwrap().is_empty());
    let deleted = AiModel { deleted_at: Some(at(9)), ..m };
    s.apply(&[Change::Update(Record::Model(deleted.clone()))], &[]).await.unwrap();
    assert_eq!(s.models_of_tenant(&a.id).await.unwrap(), vec![deleted], "deleted ones are still read");
}
