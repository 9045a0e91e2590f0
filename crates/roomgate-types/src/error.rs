use serde::{Deserialize, Serialize};

/// The body of every non-2xx response: `{"errors": [...], "code", "title", "detail"}`.
///
/// `errors` is the Telnyx envelope. The first error's `code`, `title` and `detail` are repeated at the top level
/// because clients generated from Telnyx's original OpenAPI document decode some error responses (403, 404) as
/// one bare `Error` object, and would otherwise find nothing in it. Bodies from servers that send only `errors`
/// (Telnyx's) still decode: the top-level members are optional here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Errors))]
pub struct ErrorBody {
    /// One or more errors; roomgate sends exactly one.
    pub errors: Vec<ErrorObject>,
    /// The first error's `code`, for clients that read a bare `Error` object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = String, example = "10033"))]
    pub code: Option<String>,
    /// The first error's `title`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, value_type = String, example = "Value outside of range")
    )]
    pub title: Option<String>,
    /// The first error's `detail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub detail: Option<String>,
}

impl ErrorBody {
    /// A body of one error, its `code`, `title` and `detail` repeated at the top level.
    pub fn single(error: ErrorObject) -> Self {
        ErrorBody {
            code: Some(error.code.clone()),
            title: Some(error.title.clone()),
            detail: error.detail.clone(),
            errors: vec![error],
        }
    }
}

/// One Telnyx-style error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Error))]
pub struct ErrorObject {
    /// Telnyx error code, a decimal number as a string (`"10009"`).
    #[cfg_attr(feature = "openapi", schema(example = "10033"))]
    pub code: String,
    /// Short, fixed summary of the code.
    #[cfg_attr(feature = "openapi", schema(example = "Value outside of range"))]
    pub title: String,
    /// Human-readable explanation of this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// What in the request caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ErrorSource>,
    /// Extra machine-readable details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub meta: Option<serde_json::Value>,
}

/// Where in the request an error was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorSource {
    /// JSON pointer (RFC 6901) into the request body, e.g. `/ttl_secs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "/ttl_secs"))]
    pub pointer: Option<String>,
    /// The query parameter, e.g. `page[size]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "page[size]"))]
    pub parameter: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_error_is_repeated_at_the_top_level_and_bodies_without_it_still_decode() {
        let error = ErrorObject {
            code: "10010".into(),
            title: "Authorization failed".into(),
            detail: Some("no".into()),
            source: None,
            meta: None,
        };
        let json = serde_json::to_value(ErrorBody::single(error.clone())).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "errors": [{"code": "10010", "title": "Authorization failed", "detail": "no"}],
                "code": "10010", "title": "Authorization failed", "detail": "no",
            })
        );
        let telnyx: ErrorBody =
            serde_json::from_str(r#"{"errors":[{"code":"10010","title":"Authorization failed"}]}"#).unwrap();
        assert_eq!(telnyx.code, None);
        assert_eq!(telnyx.errors[0].code, "10010");
    }
}
