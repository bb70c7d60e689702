//! Phase model: the model the caller named, found among the models of
//! the API's tenant (`model_unknown`), and allowed by the key's, the
//! app's and the tenant's `allowed_models` (`model_not_allowed`).

use keyway_core::providers::AiModel;
use keyway_core::refusals::ModelListOf;
use keyway_core::Refusal;
use keyway_limits::Level;
use keyway_pipeline::{Admitted, Snapshot};
use std::sync::Arc;

/// The model named `name`, if the caller may use it.
pub fn resolve(snapshot: &Snapshot, admitted: &Admitted, name: &str) -> Result<Arc<AiModel>, Refusal> {
    let tenant = &admitted.api.api.tenant_id;
    let Some(model) = snapshot.model_named(tenant, name) else {
        let mut known: Vec<&str> = snapshot.models_of(tenant).map(|m| m.name.as_str()).collect();
        known.sort_unstable();
        let slug = snapshot.tenants.get(tenant).map_or("?", |t| t.slug.as_str());
        return Err(Refusal::model_unknown(name, slug, &known));
    };
    if let Some((of, id, list)) = refusing_list(admitted, name) {
        return Err(Refusal::model_not_allowed(name, of, id, list));
    }
    Ok(model.clone())
}

/// Whether the caller may use the model named `name` (for listings).
pub fn allowed(admitted: &Admitted, name: &str) -> bool {
    refusing_list(admitted, name).is_none()
}

/// The first non-empty `allowed_models` list, key first, that leaves
/// `name` out.
fn refusing_list<'a>(admitted: &'a Admitted, name: &str) -> Option<(ModelListOf, &'a str, &'a [String])> {
    super::admission::levels(admitted).into_iter().find(|(_, _, limits)| !limits.allows_model(name)).map(|(level, id, limits)| {
        let of = match level {
            Level::Key => ModelListOf::Key,
            Level::App => ModelListOf::App,
            Level::Tenant | Level::Api => ModelListOf::Tenant,
        };
        (of, id, limits.allowed_models.as_slice())
    })
}

/// What the phase found, for the trace.
pub fn evidence(model: &AiModel) -> String {
    format!(
        "model {} ({}) allowed: {} target(s), {} fallback(s)",
        model.name,
        model.id,
        model.targets.len(),
        model.fallbacks.len()
    )
}
