//! Row <-> struct mapping of the AI tables (migration 10): providers, with
//! their credentials' sealed secrets as hex in a JSON column of this
//! crate's own form (the model's serialization never carries them), and
//! models.

use super::codec::{Json, Time};
use super::rows::Table;
use keyway_core::ids::{CredentialId, ModelId, ProviderId, TenantId};
use keyway_core::providers::{AiModel, Provider, ProviderCredential, ProviderKind};
use rusqlite::types::Type;
use rusqlite::{params, Row, Statement};
use serde::{Deserialize, Serialize};

/// The `ai_providers` table.
pub(crate) const PROVIDERS: Table = Table {
    name: "ai_providers",
    cols: &["id", "tenant_id", "name", "kind", "base_url", "preset", "api_version", "credentials", "created_at", "deleted_at"],
};

/// The `ai_models` table.
pub(crate) const MODELS: Table = Table {
    name: "ai_models",
    cols: &["id", "tenant_id", "name", "targets", "fallbacks", "timeout_ms", "price", "created_at", "deleted_at"],
};

/// A credential as stored: its sealed secret as hex.
#[derive(Serialize, Deserialize)]
struct StoredCredential {
    id: String,
    sealed: String,
    last4: String,
    rejected_at: Option<keyway_core::Timestamp>,
}

impl StoredCredential {
    fn of(c: &ProviderCredential) -> Self {
        Self { id: c.id.to_string(), sealed: hex::encode(&c.sealed), last4: c.last4.clone(), rejected_at: c.rejected_at }
    }

    fn into_credential(self) -> Option<ProviderCredential> {
        let sealed = hex::decode(&self.sealed).ok()?;
        Some(ProviderCredential { id: CredentialId::from(self.id), sealed, last4: self.last4, rejected_at: self.rejected_at })
    }
}

fn conversion(col: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, Type::Text, what.into())
}

/// Reads a provider from a row of [`PROVIDERS`] columns.
pub(crate) fn provider(r: &Row<'_>) -> rusqlite::Result<Provider> {
    let kind: String = r.get(3)?;
    let kind = kind.parse::<ProviderKind>().map_err(|e| conversion(3, e.to_string()))?;
    let stored: Vec<StoredCredential> = r.get::<_, Json<_>>(7)?.0;
    let credentials = stored
        .into_iter()
        .map(|c| c.into_credential().ok_or_else(|| conversion(7, "a sealed credential is not hex".into())))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Provider {
        id: ProviderId(r.get::<_, String>(0)?.into()),
        tenant_id: TenantId(r.get::<_, String>(1)?.into()),
        name: r.get(2)?,
        kind,
        base_url: r.get(4)?,
        preset: r.get(5)?,
        api_version: r.get(6)?,
        credentials,
        created_at: r.get::<_, Time>(8)?.0,
        deleted_at: r.get::<_, Option<Time>>(9)?.map(|t| t.0),
    })
}

/// Binds a provider to a [`PROVIDERS`] insert or update and runs it.
pub(crate) fn write_provider(stmt: &mut Statement<'_>, p: &Provider) -> rusqlite::Result<usize> {
    let stored: Vec<StoredCredential> = p.credentials.iter().map(StoredCredential::of).collect();
    stmt.execute(params![
        p.id.as_str(),
        p.tenant_id.as_str(),
        p.name,
        p.kind.as_str(),
        p.base_url,
        p.preset,
        p.api_version,
        Json(&stored),
        Time(p.created_at),
        p.deleted_at.map(Time),
    ])
}

/// Reads a model from a row of [`MODELS`] columns.
pub(crate) fn model(r: &Row<'_>) -> rusqlite::Result<AiModel> {
    Ok(AiModel {
        id: ModelId(r.get::<_, String>(0)?.into()),
        tenant_id: TenantId(r.get::<_, String>(1)?.into()),
        name: r.get(2)?,
        targets: r.get::<_, Json<_>>(3)?.0,
        fallbacks: r.get::<_, Json<_>>(4)?.0,
        timeout_ms: r.get::<_, Option<i64>>(5)?.and_then(|ms| u64::try_from(ms).ok()),
        price: r.get::<_, Option<Json<_>>>(6)?.map(|p| p.0),
        created_at: r.get::<_, Time>(7)?.0,
        deleted_at: r.get::<_, Option<Time>>(8)?.map(|t| t.0),
    })
}

/// Binds a model to a [`MODELS`] insert or update and runs it.
pub(crate) fn write_model(stmt: &mut Statement<'_>, m: &AiModel) -> rusqlite::Result<usize> {
    stmt.execute(params![
        m.id.as_str(),
        m.tenant_id.as_str(),
        m.name,
        Json(&m.targets),
        Json(&m.fallbacks),
        m.timeout_ms.and_then(|ms| i64::try_from(ms).ok()),
        m.price.as_ref().map(Json),
        Time(m.created_at),
        m.deleted_at.map(Time),
    ])
}
