//! Path-tracking accessors over `serde_json::Value`, so each parser error
//! names the field it is about. Crate-internal.

use serde_json::{Map, Value};

use crate::error::FormatError;

/// A JSON object.
pub(crate) type Obj = Map<String, Value>;

/// The path of the body root, as shown in errors.
pub(crate) const ROOT: &str = "body";

/// Parses bytes as JSON.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, FormatError> {
    serde_json::from_slice(bytes).map_err(|e| FormatError::Json { detail: e.to_string() })
}

/// `parent.key`, or `key` at the root. Built by hand, not with `format!`:
/// parsers make a path for every message and part of a body.
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() || parent == ROOT {
        return key.to_owned();
    }
    let mut out = String::with_capacity(parent.len() + 1 + key.len());
    out.push_str(parent);
    out.push('.');
    out.push_str(key);
    out
}

/// `parent[i]`.
pub(crate) fn index_path(parent: &str, i: usize) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = i;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(parent.len() + 2 + digits.len() - at);
    out.push_str(parent);
    out.push('[');
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
    out.push(']');
    out
}

/// The value as an object, or a type error at `path`.
pub(crate) fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Obj, FormatError> {
    v.as_object().ok_or_else(|| wrong(path, "an object"))
}

/// The value as an array, or a type error at `path`.
pub(crate) fn array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, FormatError> {
    v.as_array().ok_or_else(|| wrong(path, "an array"))
}

/// The value as a string, or a type error at `path`.
pub(crate) fn string<'a>(v: &'a Value, path: &str) -> Result<&'a str, FormatError> {
    v.as_str().ok_or_else(|| wrong(path, "a string"))
}

/// A type error.
pub(crate) fn wrong(path: &str, expected: &'static str) -> FormatError {
    FormatError::WrongType { path: path.to_owned(), expected }
}

/// The field, treating `null` as absent.
pub(crate) fn get<'a>(m: &'a Obj, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

/// A required field (absent or `null` is an error).
pub(crate) fn req<'a>(m: &'a Obj, key: &str, parent: &str) -> Result<&'a Value, FormatError> {
    get(m, key).ok_or_else(|| FormatError::Missing { path: key_path(parent, key) })
}

/// A required string field.
pub(crate) fn req_str<'a>(m: &'a Obj, key: &str, parent: &str) -> Result<&'a str, FormatError> {
    req(m, key, parent)?.as_str().ok_or_else(|| wrong(&key_path(parent, key), "a string"))
}

/// An optional string field.
pub(crate) fn opt_str<'a>(m: &'a Obj, key: &str, parent: &str) -> Result<Option<&'a str>, FormatError> {
    get(m, key).map(|v| string(v, &key_path(parent, key))).transpose()
}

/// An optional owned string field.
pub(crate) fn opt_string(m: &Obj, key: &str, parent: &str) -> Result<Option<String>, FormatError> {
    Ok(opt_str(m, key, parent)?.map(str::to_owned))
}

/// An optional non-negative integer field.
pub(crate) fn opt_u64(m: &Obj, key: &str, parent: &str) -> Result<Option<u64>, FormatError> {
    get(m, key).map(|v| v.as_u64().ok_or_else(|| wrong(&key_path(parent, key), "a non-negative integer"))).transpose()
}

/// An optional `u32` field.
pub(crate) fn opt_u32(m: &Obj, key: &str, parent: &str) -> Result<Option<u32>, FormatError> {
    match opt_u64(m, key, parent)? {
        None => Ok(None),
        Some(n) => u32::try_from(n).map(Some).map_err(|_| FormatError::invalid(key_path(parent, key), "out of range")),
    }
}

/// An optional signed integer field.
pub(crate) fn opt_i64(m: &Obj, key: &str, parent: &str) -> Result<Option<i64>, FormatError> {
    get(m, key).map(|v| v.as_i64().ok_or_else(|| wrong(&key_path(parent, key), "an integer"))).transpose()
}

/// An optional number field.
pub(crate) fn opt_f64(m: &Obj, key: &str, parent: &str) -> Result<Option<f64>, FormatError> {
    get(m, key).map(|v| v.as_f64().ok_or_else(|| wrong(&key_path(parent, key), "a number"))).transpose()
}

/// An optional boolean field.
pub(crate) fn opt_bool(m: &Obj, key: &str, parent: &str) -> Result<Option<bool>, FormatError> {
    get(m, key).map(|v| v.as_bool().ok_or_else(|| wrong(&key_path(parent, key), "a boolean"))).transpose()
}

/// An optional array field.
pub(crate) fn opt_array<'a>(m: &'a Obj, key: &str, parent: &str) -> Result<Option<&'a Vec<Value>>, FormatError> {
    get(m, key).map(|v| array(v, &key_path(parent, key))).transpose()
}

/// An optional object field.
pub(crate) fn opt_object<'a>(m: &'a Obj, key: &str, parent: &str) -> Result<Option<&'a Obj>, FormatError> {
    get(m, key).map(|v| object(v, &key_path(parent, key))).transpose()
}

/// Inserts `key` only when `value` is `Some`.
pub(crate) fn put_opt<T: Into<Value>>(m: &mut Obj, key: &str, value: Option<T>) {
    if let Some(v) = value {
        m.insert(key.to_owned(), v.into());
    }
}

/// Serializes a value; `Value` serialization cannot fail (keys are strings),
/// so an impossible error degrades to an empty body rather than a panic.
pub(crate) fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// A string or an array of strings (`stop`), as a list.
pub(crate) fn string_or_strings(v: &Value, path: &str) -> Result<Vec<String>, FormatError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => {
            items.iter().enumerate().map(|(i, item)| string(item, &index_path(path, i)).map(str::to_owned)).collect()
        }
        _ => Err(wrong(path, "a string or an array of strings")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_read_as_they_always_did() {
        assert_eq!(super::key_path("body", "model"), "model");
        assert_eq!(super::key_path("", "model"), "model");
        assert_eq!(super::key_path("messages[3]", "content"), "messages[3].content");
        for i in [0, 7, 10, 99, 1234, usize::MAX] {
            assert_eq!(super::index_path("messages", i), format!("messages[{i}]"));
        }
    }
}
