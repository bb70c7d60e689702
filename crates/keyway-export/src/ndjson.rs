//! Call-log rows as JSON lines: one object per row, the same fields and
//! the same serializer as the admin API's call-log resource
//! (`GET /admin/v1/logs`): the key only by its stored display prefix, the
//! path without its query string, never a secret.

use keyway_core::records::CallLogRow;

/// `rows` as newline-delimited JSON, each line ending in `\n`.
pub fn encode(rows: &[CallLogRow]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 512);
    for row in rows {
        let start = out.len();
        match serde_json::to_writer(&mut out, row) {
            Ok(()) => out.push(b'\n'),
            Err(e) => {
                out.truncate(start);
                tracing::warn!(request_id = %row.request_id, error = %e, "call-log row not encodable as JSON; skipped");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rows::row;

    #[test]
    fn one_line_per_row_with_the_admin_api_fields() {
        let row = row("/x", 404, Some(keyway_core::ErrorCode::RouteNotFound));
        let text = String::from_utf8(encode(&[row.clone(), row.clone()])).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v, serde_json::to_value(&row).unwrap());
        assert_eq!(v["code"], "route_not_found");
        assert_eq!(v["key_prefix"], "kw_live_ab12");
    }
}
