//! Phase model: the model the caller named, found among the models of
//! the API's tenant (`model_unknown`), and allowed by the key's, the
//! app's and the tenant's `allowed_models` (`model_not_allowed`).

use keyway_core::ids::ModelId;
use keyway_core::providers::AiModel;
use keyway_core::refusals::ModelListOf;
use keyway_core::text::Text;
use keyway_core::Refusal;
use keyway_limits::Level;
use keyway_pipeline::{Admitted, Snapshot};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Models whose evidence is kept at the most; past it the cache starts again.
const MAX_MODELS: usize = 4096;

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

/// The phase's evidence of each model, made once per model record: a
/// model changed by the admin API is a new record, so it gets a new text.
#[derive(Debug, Default)]
pub struct EvidenceCache {
    made: Mutex<HashMap<ModelId, Made>>,
}

/// A model record and the evidence made of it.
type Made = (Arc<AiModel>, Arc<str>);

impl EvidenceCache {
    /// [`evidence`] of `model`, shared.
    pub fn of(&self, model: &Arc<AiModel>) -> Text {
        let mut made = self.made.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, text)) = made.get(&model.id).filter(|(m, _)| Arc::ptr_eq(m, model)) {
            return Text::Shared(text.clone());
        }
        if made.len() >= MAX_MODELS {
            made.clear();
        }
        let text: Arc<str> = evidence(model).into();
        made.insert(model.id.clone(), (model.clone(), text.clone()));
        Text::Shared(text)
    }
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
