//! How a delivery is sent when it is not a plain POST of JSON: an `http` target's rule
//! may name another method and headers. Names are checked when the config and mappings
//! load; rendered values when the event is planned.

use reqwest::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

/// A rule's method and headers, stored with the delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

/// An HTTP method as a config or mapping writes it, in any case; upper-case.
pub fn parse_method(text: &str) -> Result<String, String> {
    let upper = text.trim().to_ascii_uppercase();
    match reqwest::Method::from_bytes(upper.as_bytes()) {
        Ok(_) if !upper.is_empty() => Ok(upper),
        _ => Err(format!(
            "`{text}` is not an HTTP method such as POST, PUT or PATCH"
        )),
    }
}

pub fn parse_header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{name}` is not a valid header name"))
}

/// A header value as rendered or configured. UTF-8 text such as a Cyrillic name is
/// sent as its bytes, which HTTP allows; only control characters are refused.
pub fn parse_header_value(name: &str, value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_bytes(value.as_bytes()).map_err(|_| {
        format!("header `{name}`: the value holds a line break or another control character")
    })
}
