//! Parse, don't validate: request values become these types or a Telnyx 422 naming the field.
use serde_json::{Map, Value};

use crate::error::{ApiError, InvalidCode};

pub mod introspection;
pub mod live;
pub mod mint;
pub mod participant;
pub mod refresh;
pub mod revocation;

/// An integer field within `MIN..=MAX`; the bounds are public so that help texts, the key lifecycle and the
/// tests read them from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounded<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> Bounded<MIN, MAX> {
    /// The smallest value.
    pub const MIN: i64 = MIN;
    /// The largest value.
    pub const MAX: i64 = MAX;

    /// Reads `body[name]`; absent or null is `None`.
    pub fn parse(body: &Map<String, Value>, name: &str) -> Result<Option<Self>, ApiError> {
        Ok(int_in(body, name, MIN, MAX)?.map(Self))
    }

    /// The value.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// An integer field within `MIN..=MAX` that is `DEFAULT` when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Defaulted<const MIN: i64, const MAX: i64, const DEFAULT: i64>(i64);

impl<const MIN: i64, const MAX: i64, const DEFAULT: i64> Defaulted<MIN, MAX, DEFAULT> {
    /// The smallest value.
    pub const MIN: i64 = MIN;
    /// The largest value.
    pub const MAX: i64 = MAX;
    /// The value when none is given.
    pub const DEFAULT: i64 = {
        assert!(
            MIN <= DEFAULT && DEFAULT <= MAX,
            "the default is out of its bounds"
        );
        DEFAULT
    };

    /// Reads `body[name]`; absent or null means the default.
    pub fn parse(body: &Map<String, Value>, name: &str) -> Result<Self, ApiError> {
        Ok(Self::parse_given(body, name)?.unwrap_or_else(Self::default_value))
    }

    /// Reads `body[name]` where absence means "unchanged" rather than the default (a PATCH): `None` then.
    pub fn parse_given(body: &Map<String, Value>, name: &str) -> Result<Option<Self>, ApiError> {
        Ok(int_in(body, name, MIN, MAX)?.map(Self))
    }

    /// Reads query parameter `key`'s decimal digits (no sign: `-1` is not an integer here).
    pub fn parse_param(key: &str, value: &str) -> Result<Self, ApiError> {
        let n: u64 = value.parse().map_err(|_| {
            ApiError::param(InvalidCode::WrongType, key, format!("{key} must be an integer."))
        })?;
        i64::try_from(n)
            .ok()
            .filter(|n| (MIN..=MAX).contains(n))
            .map(Self)
            .ok_or_else(|| {
                ApiError::param(
                    InvalidCode::OutOfRange,
                    key,
                    format!("{key} must be between {MIN} and {MAX}."),
                )
            })
    }

    /// The value when none is given.
    pub fn default_value() -> Self {
        Self(Self::DEFAULT)
    }

    /// The value.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A lifetime in seconds within `MIN..=MAX`, `DEFAULT` when absent.
pub type TtlSecs<const MIN: i64, const MAX: i64, const DEFAULT: i64> = Defaulted<MIN, MAX, DEFAULT>;
/// An access token's lifetime: 10..=3600 s, default 600.
pub type AccessTtl = TtlSecs<10, 3600, 600>;
/// A refresh token's lifetime: 60..=86400 s, default 3600. The longest any token of this server lives: refreshed
/// access tokens never outlive the refresh token.
pub type RefreshTtl = TtlSecs<60, 86400, 3600>;
/// The maximum participants of a room: 2..=50, default 10.
pub type MaxParticipants = Defaulted<2, 50, 10>;
/// A room's webhook timeout: 1..=30 seconds; none when absent.
pub type WebhookTimeout = Bounded<1, 30>;
/// A list's `page[size]`: 1..=250 items, default 20.
pub type PageSize = Defaulted<1, 250, 20>;
/// A list's `page[number]`: 1..=1,000,000, default 1.
pub type PageNumber = Defaulted<1, 1_000_000, 1>;

/// How long after it was issued a token may still be accepted somewhere: the longest lifetime plus the most
/// leeway a verifier may give. Keys keep verifying, and revocations are kept, this long.
pub const TOKEN_HORIZON_SECS: i64 = RefreshTtl::MAX + revocation::VERIFIER_LEEWAY_SECS;

/// An optional integer field within `min..=max`; null counts as absent.
pub fn int_in(body: &Map<String, Value>, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let out_of_range = || {
                ApiError::field(
                    InvalidCode::OutOfRange,
                    name,
                    format!("{name} must be between {min} and {max}."),
                )
            };
            if let Some(v) = n.as_i64() {
                if (min..=max).contains(&v) {
                    Ok(Some(v))
                } else {
                    Err(out_of_range())
                }
            } else if n.is_u64() {
                Err(out_of_range())
            } else if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                // `600.0` is an integer to JSON Schema, and so to the published OpenAPI document.
                if (min as f64..=max as f64).contains(&f) {
                    Ok(Some(f as i64))
                } else {
                    Err(out_of_range())
                }
            } else {
                Err(ApiError::field(
                    InvalidCode::WrongType,
                    name,
                    format!("{name} must be an integer."),
                ))
            }
        }
        Some(_) => Err(ApiError::field(
            InvalidCode::WrongType,
            name,
            format!("{name} must be an integer."),
        )),
    }
}

/// An optional boolean field; null counts as absent.
pub fn bool_field(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::field(
            InvalidCode::WrongType,
            name,
            format!("{name} must be a boolean."),
        )),
    }
}

/// A string field that must be given; null counts as absent.
pub fn required_string<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Err(ApiError::field(
            InvalidCode::Missing,
            name,
            format!("{name} is required."),
        )),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::field(
            InvalidCode::WrongType,
            name,
            format!("{name} must be a string."),
        )),
    }
}

/// A listing's date filter: tightens `bounds` by `filter[date_<name>][eq|gte|lte]=YYYY-MM-DD` if `key` is one; whether it was. Filters given
/// together all apply; `bounds` is (from, inclusive; until, exclusive) in Unix microseconds.
pub fn date_filter(
    key: &str,
    value: &str,
    name: &str,
    bounds: &mut (Option<i64>, Option<i64>),
) -> Result<bool, ApiError> {
    let Some(op) = key
        .strip_prefix(&format!("filter[date_{name}]["))
        .and_then(|rest| rest.strip_suffix(']'))
    else {
        return Ok(false);
    };
    if !matches!(op, "eq" | "gte" | "lte") {
        return Ok(false);
    }
    let day = crate::timefmt::date_start_micros(value).ok_or_else(|| {
        ApiError::param(
            InvalidCode::WrongType,
            key,
            format!("{key} must be a date (YYYY-MM-DD)."),
        )
    })?;
    let end = day + crate::timefmt::DAY_MICROS;
    let narrow = |bound: &mut Option<i64>, v: i64, pick: fn(i64, i64) -> i64| {
        *bound = Some(bound.map_or(v, |old| pick(old, v)));
    };
    if op != "lte" {
        narrow(&mut bounds.0, day, i64::max);
    }
    if op != "gte" {
        narrow(&mut bounds.1, end, i64::min);
    }
    Ok(true)
}

/// The grant subject roomgate mints for an account: `telnyx:users:<account id>`.
pub fn account_subject(account_id: uuid::Uuid) -> String {
    format!("telnyx:users:{account_id}")
}

/// A field that may be absent, explicitly null, or a string.
pub fn nullable_string<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<Option<&'a str>>, ApiError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s))),
        Some(_) => Err(ApiError::field(
            InvalidCode::WrongType,
            name,
            format!("{name} must be a string."),
        )),
    }
}

/// A room's name, unique within its account: 1 to 255 characters in Unicode NFC, no control characters (NUL
/// among them, which PostgreSQL cannot store in text) and no format characters (category Cf: bidirectional
/// overrides and isolates, zero-width spaces and joiners, the BOM), so two names that look alike are one name or
/// one of them is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniqueName(String);

impl UniqueName {
    const RULE: &'static str = "must be 1 to 255 characters without control characters.";
    const FORMAT_RULE: &'static str =
        "must not contain invisible format characters (Unicode category Cf, such as \
        bidirectional overrides or zero-width spaces).";

    /// The name in NFC, or the rule it breaks.
    fn check(s: &str) -> Result<String, &'static str> {
        if s.chars().any(is_format_char) {
            return Err(Self::FORMAT_RULE);
        }
        let name = nfc(s);
        if !(1..=255).contains(&name.chars().count()) || name.chars().any(char::is_control) {
            return Err(Self::RULE);
        }
        Ok(name)
    }

    /// Checks a candidate name from the body's `unique_name` and normalises it to NFC.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        Self::check(s).map(Self).map_err(|rule| {
            ApiError::field(
                InvalidCode::OutOfRange,
                "unique_name",
                format!("unique_name {rule}"),
            )
        })
    }

    /// Checks a name given in query parameter `param` (a filter) by the same rule, normalised the same way.
    pub fn parse_param(s: &str, param: &str) -> Result<Self, ApiError> {
        Self::check(s)
            .map(Self)
            .map_err(|rule| ApiError::param(InvalidCode::OutOfRange, param, format!("{param} {rule}")))
    }

    /// The name.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// `s` in Unicode Normalization Form C, the form room names are stored and compared in.
pub fn nfc(s: &str) -> String {
    use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
    match is_nfc_quick(s.chars()) {
        IsNormalized::Yes => s.to_owned(),
        _ => s.nfc().collect(),
    }
}

/// Whether `c` is a Unicode format character (general category Cf).
fn is_format_char(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.general_category() == GeneralCategory::Format
}

/// A webhook target: an absolute http(s) URL of at most 2048 bytes, without credentials (`user:pass@`): they
/// would be stored and shown in every room view, and sent to whatever the host resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Checks a candidate URL for field `name`.
    pub fn parse(s: &str, name: &str) -> Result<Self, ApiError> {
        let uri = (s.len() <= 2048)
            .then(|| s.parse::<axum::http::Uri>().ok())
            .flatten()
            .filter(|uri| matches!(uri.scheme_str(), Some("http" | "https")));
        let Some(authority) = uri.as_ref().and_then(|uri| uri.authority()) else {
            return Err(ApiError::field(
                InvalidCode::OutOfRange,
                name,
                format!("{name} must be an absolute http or https URL."),
            ));
        };
        if authority.as_str().contains('@') {
            return Err(ApiError::field(
                InvalidCode::OutOfRange,
                name,
                format!("{name} must not contain credentials (user:password@)."),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The URL.
    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn code_and_pointer(e: ApiError) -> (InvalidCode, String) {
        match e {
            ApiError::Invalid {
                code,
                location: Location::Pointer(p),
                ..
            } => (code, p),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn ttl_defaults_when_absent_or_null() {
        assert_eq!(AccessTtl::parse(&obj(json!({})), "ttl_secs").unwrap().get(), 600);
        assert_eq!(
            AccessTtl::parse(&obj(json!({"ttl_secs": null})), "ttl_secs")
                .unwrap()
                .get(),
            600
        );
        assert_eq!(RefreshTtl::parse(&obj(json!({})), "x").unwrap().get(), 3600);
    }

    #[test]
    fn ttl_accepts_both_edges_and_rejects_just_outside() {
        for (v, ok) in [(9, false), (10, true), (3600, true), (3601, false)] {
            let r = AccessTtl::parse(&obj(json!({ "ttl_secs": v })), "ttl_secs");
            assert_eq!(r.is_ok(), ok, "{v}");
        }
        for (v, ok) in [(59, false), (60, true), (86400, true), (86401, false)] {
            assert_eq!(RefreshTtl::parse(&obj(json!({ "r": v })), "r").is_ok(), ok, "{v}");
        }
    }

    #[test]
    fn integral_numbers_with_a_fraction_part_are_integers() {
        let ttl = |v: Value| AccessTtl::parse(&obj(json!({ "ttl_secs": v })), "ttl_secs");
        assert_eq!(ttl(json!(600.0)).unwrap().get(), 600);
        assert_eq!(ttl(json!(1e3)).unwrap().get(), 1000);
        let e = ttl(json!(3601.0)).unwrap_err();
        assert_eq!(code_and_pointer(e), (InvalidCode::OutOfRange, "/ttl_secs".into()));
        let e = ttl(json!(1e300)).unwrap_err();
        assert_eq!(code_and_pointer(e), (InvalidCode::OutOfRange, "/ttl_secs".into()));
    }

    #[test]
    fn ttl_wrong_types_are_10026_and_out_of_range_10033() {
        for bad in [json!("600"), json!(600.5), json!(true), json!([600]), json!({})] {
            let e = AccessTtl::parse(&obj(json!({ "ttl_secs": bad })), "ttl_secs").unwrap_err();
            assert_eq!(code_and_pointer(e), (InvalidCode::WrongType, "/ttl_secs".into()));
        }
        for bad in [json!(-1), json!(u64::MAX), json!(0)] {
            let e = AccessTtl::parse(&obj(json!({ "ttl_secs": bad })), "ttl_secs").unwrap_err();
            assert_eq!(code_and_pointer(e), (InvalidCode::OutOfRange, "/ttl_secs".into()));
        }
    }

    fn param_code(e: ApiError) -> (InvalidCode, Location) {
        match e {
            ApiError::Invalid { code, location, .. } => (code, location),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn query_parameters_are_unsigned_digits_within_bounds() {
        let size_param = || Location::Parameter("page[size]".into());
        assert_eq!(PageSize::parse_param("page[size]", "250").unwrap().get(), 250);
        assert_eq!(PageSize::parse_param("page[size]", "1").unwrap().get(), 1);
        for out in ["0", "251", "18446744073709551615"] {
            let e = PageSize::parse_param("page[size]", out).unwrap_err();
            assert_eq!(param_code(e), (InvalidCode::OutOfRange, size_param()), "{out}");
        }
        for bad in ["-1", "1.0", "", " 1", "0x1", "18446744073709551616"] {
            let e = PageSize::parse_param("page[size]", bad).unwrap_err();
            assert_eq!(param_code(e), (InvalidCode::WrongType, size_param()), "{bad:?}");
        }
        assert_eq!(PageNumber::default_value().get(), 1);
        assert_eq!(PageSize::default_value().get(), 20);
    }

    #[test]
    fn optional_and_patch_fields_are_none_when_absent() {
        assert_eq!(WebhookTimeout::parse(&obj(json!({})), "t").unwrap(), None);
        assert_eq!(
            WebhookTimeout::parse(&obj(json!({"t": 30})), "t")
                .unwrap()
                .map(Bounded::get),
            Some(30)
        );
        assert!(WebhookTimeout::parse(&obj(json!({"t": 31})), "t").is_err());
        assert_eq!(MaxParticipants::parse_given(&obj(json!({})), "m").unwrap(), None);
        assert_eq!(MaxParticipants::parse(&obj(json!({})), "m").unwrap().get(), 10);
        assert!(MaxParticipants::parse(&obj(json!({"m": 1})), "m").is_err());
    }

    #[test]
    fn a_required_string_names_its_field() {
        assert_eq!(required_string(&obj(json!({"t": "x"})), "t").unwrap(), "x");
        for (body, code) in [
            (json!({}), InvalidCode::Missing),
            (json!({"t": null}), InvalidCode::Missing),
            (json!({"t": 1}), InvalidCode::WrongType),
        ] {
            let e = required_string(&obj(body.clone()), "t").unwrap_err();
            assert_eq!(code_and_pointer(e), (code, "/t".into()), "{body}");
        }
    }

    #[test]
    fn unique_name_bounds() {
        assert!(UniqueName::parse("My room").is_ok());
        assert!(UniqueName::parse("").is_err());
        assert!(UniqueName::parse(&"x".repeat(255)).is_ok());
        assert!(UniqueName::parse(&"x".repeat(256)).is_err());
        assert!(UniqueName::parse("a\nb").is_err());
        assert!(UniqueName::parse("a\0b").is_err());
        assert!(UniqueName::parse_param("ok", "filter[unique_name]").is_ok());
        match UniqueName::parse_param("\0", "filter[unique_name]") {
            Err(ApiError::Invalid {
                location: Location::Parameter(p),
                ..
            }) => assert_eq!(p, "filter[unique_name]"),
            other => panic!("expected a 422 naming the parameter, got {other:?}"),
        }
    }

    #[test]
    fn unique_name_refuses_format_characters() {
        // RLO, LRI, PDI, ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen, Arabic letter mark, a tag character.
        for c in [
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{061C}',
            '\u{E0041}',
        ] {
            let e = UniqueName::parse(&format!("room{c}1")).unwrap_err();
            assert_eq!(
                code_and_pointer(e),
                (InvalidCode::OutOfRange, "/unique_name".into()),
                "U+{:04X}",
                c as u32
            );
        }
        // Not Cf: letters, marks, spaces and emoji stay allowed.
        for ok in ["Café", "会议室", "a b", "🎉 party", "e\u{0301}"] {
            assert!(UniqueName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn unique_name_is_normalised_to_nfc() {
        let decomposed = UniqueName::parse("Cafe\u{0301}").unwrap().into_inner();
        assert_eq!(decomposed, "Caf\u{00E9}");
        assert_eq!(UniqueName::parse("Caf\u{00E9}").unwrap().into_inner(), decomposed);
        // Ångström sign and A with ring are one name.
        assert_eq!(UniqueName::parse("\u{212B}").unwrap().into_inner(), "\u{00C5}");
        // The length bound applies to the normalised name: 255 decomposed letters compose to 255 characters.
        assert!(UniqueName::parse(&"e\u{0301}".repeat(255)).is_ok());
        assert!(UniqueName::parse(&"e\u{0301}".repeat(256)).is_err());
    }

    #[test]
    fn webhook_url_must_be_absolute_http() {
        assert!(WebhookUrl::parse("https://example.com/hook", "u").is_ok());
        assert!(WebhookUrl::parse("http://10.0.0.1:8080/x?y=1", "u").is_ok());
        for bad in ["ftp://example.com", "/relative", "example.com", "", "https://"] {
            assert!(WebhookUrl::parse(bad, "u").is_err(), "{bad}");
        }
    }

    #[test]
    fn webhook_url_refuses_credentials() {
        for bad in [
            "http://user:pass@example.com/hook",
            "https://user@example.com/hook",
            "https://:secret@example.com/",
            "https://@example.com/",
            "http://a@b@example.com/",
        ] {
            let e = WebhookUrl::parse(bad, "webhook_event_url").unwrap_err();
            assert_eq!(
                code_and_pointer(e),
                (InvalidCode::OutOfRange, "/webhook_event_url".into()),
                "{bad}"
            );
        }
        // An @ after the authority is not a credential.
        assert!(WebhookUrl::parse("https://example.com/a@b?c=d@e", "u").is_ok());
    }
}
