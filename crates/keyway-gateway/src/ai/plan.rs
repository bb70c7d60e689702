//! The order in which a model's targets are tried: one target picked by
//! weight, then the model's other targets (heavier first), then its
//! fallbacks in the order configured. Targets whose provider is gone are
//! left out.

use keyway_core::providers::{AiModel, ModelTarget, Provider};
use keyway_pipeline::Snapshot;
use std::sync::Arc;

/// One attempt: a provider and the model asked of it.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The provider.
    pub provider: Arc<Provider>,
    /// The provider's model name (Azure: the deployment).
    pub model: String,
    /// Whether this is one of the model's fallbacks.
    pub fallback: bool,
}

/// The attempts for `model`, in order.
pub fn attempts(snapshot: &Snapshot, model: &AiModel) -> Vec<Attempt> {
    let live = |t: &ModelTarget| snapshot.providers.get(&t.provider_id).filter(|p| p.deleted_at.is_none()).cloned();
    let mut targets: Vec<(&ModelTarget, Arc<Provider>)> = model.targets.iter().filter_map(|t| live(t).map(|p| (t, p))).collect();
    let first = pick(&targets.iter().map(|(t, _)| t.weight).collect::<Vec<_>>(), rand::random::<f64>());
    let mut out = Vec::with_capacity(targets.len() + model.fallbacks.len());
    if let Some(i) = first {
        let (t, p) = targets.remove(i);
        out.push(Attempt { provider: p, model: t.model.clone(), fallback: false });
    }
    targets.sort_by_key(|(t, _)| std::cmp::Reverse(t.weight));
    out.extend(targets.into_iter().map(|(t, p)| Attempt { provider: p, model: t.model.clone(), fallback: false }));
    out.extend(
        model.fallbacks.iter().filter_map(|t| live(t).map(|p| Attempt { provider: p, model: t.model.clone(), fallback: true })),
    );
    out
}

/// `attempts` without those whose provider cannot honour `req` (see
/// [`keyway_ai::ProviderKind::unsupported`]: an answer that ignores the ask
/// is not what the caller asked for); refused, naming the parameter, when
/// that leaves none.
pub fn able(attempts: Vec<Attempt>, req: &keyway_ai::ChatRequest) -> Result<Vec<Attempt>, keyway_core::Refusal> {
    let mut refused = None;
    let kept: Vec<Attempt> = attempts
        .into_iter()
        .filter(|a| match a.provider.kind.unsupported(req) {
            Some(u) => {
                refused.get_or_insert((u, a.provider.name.clone()));
                false
            }
            None => true,
        })
        .collect();
    match (kept.is_empty(), refused) {
        (true, Some((u, provider))) => Err(keyway_core::Refusal::request_invalid(
            Some(u.param),
            format_args!("{} cannot be honoured by provider {provider}: {}", u.param, u.reason),
        )),
        _ => Ok(kept),
    }
}

/// The index chosen by weight for a uniform `draw` in [0, 1); weight 0
/// is never chosen unless every weight is 0 (then the first).
fn pick(weights: &[u32], draw: f64) -> Option<usize> {
    if weights.is_empty() {
        return None;
    }
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return Some(0);
    }
    let mut point = (draw * total as f64) as u64;
    for (i, w) in weights.iter().enumerate() {
        let w = u64::from(*w);
        if point < w {
            return Some(i);
        }
        point -= w;
    }
    Some(weights.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn weights_share_the_draws() {
        let weights = [1, 3, 0];
        let mut counts = [0; 3];
        for i in 0..1000 {
            counts[pick(&weights, f64::from(i) / 1000.0).unwrap()] += 1;
        }
        assert_eq!(counts, [250, 750, 0]);
        assert_eq!(pick(&[0, 0], 0.7), Some(0));
        assert_eq!(pick(&[], 0.5), None);
        assert_eq!(pick(&[2], 0.999_999), Some(0));
    }
}
