//! RFC 9457 problem documents: the one renderer of `application/problem+json`
//! bodies, used by the gateway's refusals and the admin API's errors alike.

use serde_json::{json, Value};

/// Media type of every problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Base of the `type` URI; the code is appended.
pub const PROBLEM_TYPE_BASE: &str = "https://keyway.dev/errors/";

/// One problem document's members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProblemDoc<'a> {
    /// Stable code; also the last segment of `type`.
    pub code: &'a str,
    /// Short title of the code.
    pub title: &'a str,
    /// HTTP status.
    pub status: u16,
    /// What went wrong, for the caller.
    pub detail: &'a str,
    /// How to fix it, when there is advice.
    pub hint: Option<&'a str>,
    /// The request field to blame (admin API), when known.
    pub param: Option<&'a str>,
    /// The request's id, when known.
    pub request_id: Option<&'a str>,
}

impl ProblemDoc<'_> {
    /// The JSON document.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "type": format!("{PROBLEM_TYPE_BASE}{}", self.code),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        });
        if let Some(h) = self.hint {
            v["hint"] = json!(h);
        }
        if let Some(p) = self.param {
            v["param"] = json!(p);
        }
        if let Some(id) = self.request_id {
            v["request_id"] = json!(id);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_members_appear_only_when_set() {
        let doc = ProblemDoc { code: "x_y", title: "X", status: 400, detail: "d", hint: None, param: None, request_id: None };
        let v = doc.to_json();
        assert_eq!(v["type"], "https://keyway.dev/errors/x_y");
        assert!(v.get("hint").is_none() && v.get("param").is_none() && v.get("request_id").is_none());
        let v = ProblemDoc { hint: Some("h"), param: Some("name"), request_id: Some("req_1"), ..doc }.to_json();
        assert_eq!((v["hint"].as_str(), v["param"].as_str(), v["request_id"].as_str()), (Some("h"), Some("name"), Some("req_1")));
    }
}
