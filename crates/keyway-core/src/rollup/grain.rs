//! Grains: which dimensions rollup rows keep. Every call is counted once
//! in each grain, so a query answered from a coarser grain (fewer, larger
//! rows) equals the same query answered from the full one; the planner
//! picks the coarsest grain that keeps every dimension a query filters or
//! groups by.

use super::{Level, RollupKey};

/// A dimension calls are filtered, grouped or ranked by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// The tenant.
    Tenant,
    /// The API.
    Api,
    /// The app.
    App,
    /// The key.
    Key,
    /// The refusal code, `ok` for accepted calls.
    Code,
}

impl Dimension {
    /// Every dimension's name, as the analytics API spells it.
    pub const NAMES: &'static [&'static str] = &["api", "app", "key", "code", "tenant"];

    /// The dimension named `s`.
    pub fn parse(s: &str) -> Option<Dimension> {
        Some(match s {
            "tenant" => Dimension::Tenant,
            "api" => Dimension::Api,
            "app" => Dimension::App,
            "key" => Dimension::Key,
            "code" => Dimension::Code,
            _ => return None,
        })
    }

    /// Its value in `k` (empty when the call had none).
    pub fn of(self, k: &RollupKey) -> &str {
        match self {
            Dimension::Tenant => &k.tenant_id,
            Dimension::Api => &k.api_id,
            Dimension::App => &k.app_id,
            Dimension::Key => &k.key_id,
            Dimension::Code => &k.code,
        }
    }
}

/// The dimensions a rollup row keeps; the ones a grain drops are stored
/// as empty text (status class 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    /// Every dimension: tenant, API, app, key, status class and code.
    Full,
    /// Per key: tenant, app and key, over every API and outcome (no API,
    /// status class or code). Hour and day rows only: a minute holds so
    /// few calls per key that its rows would be as many as the full
    /// grain's.
    Key,
    /// Per API and outcome: tenant, API, status class and code (no app,
    /// no key).
    Api,
    /// Per app: tenant and app, over every key, API and outcome. Hour and
    /// day rows only, like [`Grain::Key`]. A month of apps ranked by a
    /// percentile reads a row per app and day (with its sketches) instead
    /// of one per key and day.
    App,
}

impl Grain {
    /// Every grain, finest first.
    pub const ALL: [Grain; 4] = [Grain::Full, Grain::Key, Grain::Api, Grain::App];

    /// Whether rows of this grain keep `d`.
    pub fn keeps(self, d: Dimension) -> bool {
        match (self, d) {
            (Grain::Full, _) | (_, Dimension::Tenant) => true,
            (Grain::Key, d) => matches!(d, Dimension::App | Dimension::Key),
            (Grain::Api, d) => matches!(d, Dimension::Api | Dimension::Code),
            (Grain::App, d) => d == Dimension::App,
        }
    }

    /// Whether rows of this grain are kept at `level`.
    pub fn stored_at(self, level: Level) -> bool {
        !matches!(self, Grain::Key | Grain::App) || level != Level::Minute
    }

    /// The grain with the fewest rows, stored at `level`, that keeps every
    /// dimension of `needed`: per API (~ APIs x codes rows a bucket), then
    /// per app (~ apps), then per key (~ keys), then the full one.
    pub fn coarsest(needed: &[Dimension], level: Level) -> Grain {
        [Grain::Api, Grain::App, Grain::Key]
            .into_iter()
            .find(|g| g.stored_at(level) && needed.iter().all(|d| g.keeps(*d)))
            .unwrap_or(Grain::Full)
    }

    /// `key` (a full-grain key) with the dimensions this grain drops
    /// emptied.
    pub fn project(self, key: &RollupKey) -> RollupKey {
        let keep = |d: Dimension, v: &str| if self.keeps(d) { v.to_owned() } else { String::new() };
        RollupKey {
            bucket: key.bucket,
            tenant_id: key.tenant_id.clone(),
            api_id: keep(Dimension::Api, &key.api_id),
            app_id: keep(Dimension::App, &key.app_id),
            key_id: keep(Dimension::Key, &key.key_id),
            status_class: if self.keeps(Dimension::Code) { key.status_class } else { 0 },
            code: keep(Dimension::Code, &key.code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarsest_grain_keeps_what_is_needed() {
        use Dimension::{Api, App, Code, Key, Tenant};
        assert_eq!(Grain::coarsest(&[], Level::Minute), Grain::Api);
        assert_eq!(Grain::coarsest(&[Api, Code, Tenant], Level::Day), Grain::Api);
        assert_eq!(Grain::coarsest(&[App], Level::Hour), Grain::App);
        assert_eq!(Grain::coarsest(&[App, Tenant], Level::Day), Grain::App);
        assert_eq!(Grain::coarsest(&[App], Level::Minute), Grain::Full, "no per-app minutes");
        assert_eq!(Grain::coarsest(&[App, Key, Tenant], Level::Day), Grain::Key);
        assert_eq!(Grain::coarsest(&[Key], Level::Minute), Grain::Full, "no per-key minutes");
        assert_eq!(Grain::coarsest(&[Key, Code], Level::Hour), Grain::Full);
        assert_eq!(Grain::coarsest(&[App, Api], Level::Day), Grain::Full);
    }

    #[test]
    fn projection_empties_what_a_grain_drops() {
        let k = RollupKey {
            bucket: 60,
            tenant_id: "t".into(),
            api_id: "a".into(),
            app_id: "p".into(),
            key_id: "k".into(),
            status_class: 2,
            code: "ok".into(),
        };
        assert_eq!(Grain::Full.project(&k), k);
        let per_key = RollupKey { api_id: String::new(), status_class: 0, code: String::new(), ..k.clone() };
        assert_eq!(Grain::Key.project(&k), per_key);
        assert_eq!(Grain::Api.project(&k), RollupKey { key_id: String::new(), app_id: String::new(), ..k.clone() });
        assert_eq!(Grain::App.project(&k), RollupKey { key_id: String::new(), ..per_key });
    }
}
