use serde::{Deserialize, Serialize};

/// The body of every non-2xx response: `{"errors": [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Errors))]
pub struct ErrorBody {
    /// One or more errors; roomgate sends exactly one.
    pub errors: Vec<ErrorObject>,
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
