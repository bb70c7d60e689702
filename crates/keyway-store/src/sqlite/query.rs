//! A small WHERE-clause builder for the log readers, and their limit rule.

use super::codec::encode_time;
use crate::StoreError;
use keyway_core::Timestamp;
use rusqlite::types::Value;

/// Rows returned when a query asks for 0 (no limit given).
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// The most rows one query returns.
pub(crate) const MAX_LIMIT: usize = 1000;

/// The limit a query really gets: 0 means [`DEFAULT_LIMIT`], and nothing
/// exceeds [`MAX_LIMIT`].
pub(crate) fn effective_limit(asked: usize) -> usize {
    if asked == 0 {
        DEFAULT_LIMIT
    } else {
        asked.min(MAX_LIMIT)
    }
}

/// Conditions joined by AND, with their parameters numbered in order.
#[derive(Default)]
pub(crate) struct Filter {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl Filter {
    /// Adds a parameter; returns its `?n` slot.
    fn slot(&mut self, value: Value) -> String {
        self.params.push(value);
        format!("?{}", self.params.len())
    }

    /// `column = value`, when a value is given.
    pub fn eq(&mut self, column: &str, value: Option<&str>) {
        if let Some(v) = value {
            let slot = self.slot(Value::Text(v.to_owned()));
            self.clauses.push(format!("{column} = {slot}"));
        }
    }

    /// `column IN (values)`, when any are given.
    pub fn any_of(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let slots: Vec<String> = values.iter().map(|v| self.slot(Value::Text(v.clone()))).collect();
        self.clauses.push(format!("{column} IN ({})", slots.join(", ")));
    }

    /// `column <op> value`.
    pub fn cmp(&mut self, column: &str, op: &str, value: Value) {
        let slot = self.slot(value);
        self.clauses.push(format!("{column} {op} {slot}"));
    }

    /// `column >= since` and `column < until`, for the bounds given.
    pub fn time_range(&mut self, column: &str, since: Option<Timestamp>, until: Option<Timestamp>) -> Result<(), StoreError> {
        for (bound, op) in [(since, ">="), (until, "<")] {
            if let Some(t) = bound {
                let text = encode_time(&t).map_err(|e| StoreError::Backend(e.to_string()))?;
                let slot = self.slot(Value::Text(text));
                self.clauses.push(format!("{column} {op} {slot}"));
            }
        }
        Ok(())
    }

    /// `<select> WHERE ... ORDER BY <order> LIMIT n` and its parameters.
    pub fn build(mut self, select: &str, order: &str, limit: usize) -> (String, Vec<Value>) {
        let limit_slot = self.slot(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        let mut sql = select.to_owned();
        if !self.clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.clauses.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY {order} LIMIT {limit_slot}"));
        (sql, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(effective_limit(0), 100);
        assert_eq!(effective_limit(5), 5);
        assert_eq!(effective_limit(1000), 1000);
        assert_eq!(effective_limit(50_000), 1000);
    }

    #[test]
    fn numbers_parameters_in_order() {
        let mut f = Filter::default();
        f.eq("a", Some("x"));
        f.eq("b", None);
        f.any_of("c", &["p".into(), "q".into()]);
        f.any_of("e", &[]);
        f.eq("d", Some("y"));
        let (sql, params) = f.build("SELECT * FROM t", "a DESC", 7);
        assert_eq!(sql, "SELECT * FROM t WHERE a = ?1 AND c IN (?2, ?3) AND d = ?4 ORDER BY a DESC LIMIT ?5");
        assert_eq!(params.len(), 5);
        assert_eq!(params[4], Value::Integer(7));
    }

    #[test]
    fn no_conditions_no_where() {
        let (sql, params) = Filter::default().build("SELECT * FROM t", "a", 1);
        assert_eq!(sql, "SELECT * FROM t ORDER BY a LIMIT ?1");
        assert_eq!(params, vec![Value::Integer(1)]);
    }
}
