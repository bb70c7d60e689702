//! Phase model: the model the caller named, found among the models of
//! the API's tenant (`model_unknown`), and allowed by the key's, the
//! app's and the tenant's `allowed_models` (`model_not_allowed`).

use keyway_core::providers::AiModel;
use keyway_core::refusals::ModelListOf;
use keyway_core::Refusal;
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
    let lists: [(ModelListOf, &str, &[String]); 3] = [
        (ModelListOf::Key, admitted.key.key.id.as_str(), &admitted.key.key.ai_limits().allowed_models),
        (ModelListOf::App, admitted.app.id.as_str(), &admitted.app.ai.allowed_models),
        (ModelListOf::Tenant, admitted.tenant.id.as_str(), &admitted.tenant.ai.allowed_models),
    ];
    lists.into_iter().find(|(_, _, list)| !list.is_empty() && !list.iter().any(|m| m == name))
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
