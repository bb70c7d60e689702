//! OpenAI message content: a string, or an array of typed parts.

use serde_json::{json, Value};

use crate::canonical::{ContentPart, ImageSource, WireFormat};
use crate::error::FormatError;
use crate::json::{self, index_path, key_path};

/// Reads `content` (string, array of parts, or absent/`null`).
pub(crate) fn parse(v: Option<&Value>, path: &str) -> Result<Vec<ContentPart>, FormatError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![ContentPart::Text(s.clone())]),
        Some(Value::Array(parts)) => parts.iter().enumerate().map(|(i, p)| parse_part(p, &index_path(path, i))).collect(),
        Some(_) => Err(json::wrong(path, "a string or an array of content parts")),
    }
}

fn parse_part(v: &Value, path: &str) -> Result<ContentPart, FormatError> {
    let m = json::object(v, path)?;
    match json::req_str(m, "type", path)? {
        "text" => Ok(ContentPart::Text(json::req_str(m, "text", path)?.to_owned())),
        "image_url" => {
            let img_path = key_path(path, "image_url");
            let img = json::req(m, "image_url", path)?;
            // Some clients send `image_url` as a bare string.
            if let Some(url) = img.as_str() {
                return Ok(ContentPart::Image { source: ImageSource::from_url(url), detail: None });
            }
            let img = json::object(img, &img_path)?;
            let url = json::req_str(img, "url", &img_path)?;
            Ok(ContentPart::Image { source: ImageSource::from_url(url), detail: json::opt_string(img, "detail", &img_path)? })
        }
        _ => Ok(ContentPart::Other { format: WireFormat::OpenAi, value: v.clone() }),
    }
}

/// Renders parts: a plain string when they are a single text part, else
/// an array. Unknown parts from another format are dropped.
pub(crate) fn render(parts: &[ContentPart]) -> Value {
    if let [ContentPart::Text(t)] = parts {
        return Value::String(t.clone());
    }
    Value::Array(parts.iter().filter_map(render_part).collect())
}

/// Renders the text only (tool and system messages): a string when it is one text.
pub(crate) fn render_text_only(parts: &[ContentPart]) -> Value {
    let texts: Vec<&str> = parts.iter().filter_map(ContentPart::as_text).collect();
    match texts.as_slice() {
        [t] => Value::String((*t).to_owned()),
        _ => Value::Array(texts.into_iter().map(|t| json!({"type": "text", "text": t})).collect()),
    }
}

fn render_part(p: &ContentPart) -> Option<Value> {
    match p {
        ContentPart::Text(t) => Some(json!({"type": "text", "text": t})),
        ContentPart::Image { source, detail } => {
            let mut img = json!({"url": source.to_url()});
            if let (Some(d), Some(o)) = (detail, img.as_object_mut()) {
                o.insert("detail".into(), Value::String(d.clone()));
            }
            Some(json!({"type": "image_url", "image_url": img}))
        }
        ContentPart::Other { format: WireFormat::OpenAi, value } => Some(value.clone()),
        ContentPart::Other { .. } => p.as_text().map(|t| json!({"type": "text", "text": t})),
    }
}
