//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes and the wire types.
//!
//! The types here only describe responses and parameters that the handlers build or parse by hand; none is
//! ever constructed, hence `allow(dead_code)`.
#![allow(dead_code)]

use roomgate_types::{
    AccessToken, ActionResult, AdmitParticipantRequest, ClientToken, CommandFeed, CreateAccessTokenRequest,
    CreateRoomRequest, ErrorBody, ErrorObject, ErrorSource, GenerateClientTokenRequest, InactiveReason,
    IntrospectRequest, Introspection, JoinClientToken, MuteRequest, PageMeta, Permissions,
    RefreshAccessTokenRequest, RefreshClientTokenRequest, RenewLeasesRequest, RenewedLeases, Revocation,
    RevocationFeed, RevocationRef, RevokeTokensRequest, Room, RoomAccessToken, RoomCommand, RoomParticipant,
    RoomSession, SessionActionRequest, Source, TrackKind,
};
use utoipa::{
    openapi::{
        schema::{Schema, SchemaType, Type},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        Content, OpenApi as Document, Ref, RefOr, Required, Response, ResponseBuilder,
    },
    IntoParams, IntoResponses, Modify, OpenApi, ToSchema,
};

/// The name of the API-key scheme, as in Telnyx's document.
pub(crate) const BEARER: &str = "bearerAuth";

/// The document: every route of [`super::router`] but the docs page itself.
pub fn openapi() -> Document {
    ApiDoc::openapi()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "roomgate",
        description = "A self-hostable, Telnyx-compatible server of Ed25519-signed join tokens for video rooms. \
            Every error answers with the Telnyx error body, `{\"errors\": [...]}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/", description = "This server")),
    paths(
        super::rooms::create,
        super::rooms::list,
        super::rooms::view,
        super::rooms::update,
        super::rooms::delete,
        super::tokens::create_original,
        super::tokens::refresh_original,
        super::tokens::create_current,
        super::tokens::refresh_current,
        super::revocations::revoke,
        super::revocations::list,
        super::revocations::feed,
        super::introspect::introspect,
        super::live::sessions::list_sessions,
        super::live::sessions::room_sessions,
        super::live::sessions::view_session,
        super::live::sessions::session_participants,
        super::live::sessions::end,
        super::live::sessions::kick,
        super::live::sessions::mute,
        super::live::sessions::unmute,
        super::live::participants::list_participants,
        super::live::participants::view_participant,
        super::live::participants::admit,
        super::live::participants::leave,
        super::live::participants::renew,
        super::live::commands::commands,
        super::meta::jwks,
        super::meta::webhook_public_key,
        super::meta::healthz,
        super::meta::readyz,
        super::docs::openapi_json,
    ),
    components(schemas(
        Room, CreateRoomRequest, PageMeta, ErrorBody, ErrorObject, ErrorSource, roomgate_types::WebhookPublicKey,
        CreateAccessTokenRequest, RefreshAccessTokenRequest, RoomAccessToken, AccessToken,
        GenerateClientTokenRequest, RefreshClientTokenRequest, JoinClientToken, ClientToken,
        Permissions, Source, Jwks, Jwk, Health, RevokeTokensRequest, Revocation, RevocationFeed,
        IntrospectRequest, Introspection, InactiveReason, RevocationRef,
        RoomSession, RoomParticipant, AdmitParticipantRequest, RenewLeasesRequest, RenewedLeases,
        SessionActionRequest, MuteRequest, TrackKind, ActionResult, RoomCommand, CommandFeed,
    )),
    modifiers(&BearerAuth, &OptionalBodies, &RequestTimeout, &OneSelector),
    security(("bearerAuth" = [])),
    tags(
        (name = "Rooms", description = "Video rooms, owned by the account of the API key that created them."),
        (name = "Rooms Access Tokens", description = "Join tokens under the original names \
            (`create_access_token`, `refresh_access_token`) and today's (`generate_join_client_token`, \
            `refresh_client_token`): one behaviour, two vocabularies."),
        (name = "Revocations", description = "roomgate's extension: stop honouring issued tokens (one, a \
            participant's, or a room's issued before an instant), and the feed media servers follow to learn of it."),
        (name = "Tokens", description = "roomgate's extension: ask whether a token is active, and if not why \
            (expired, revoked, signed under an unknown key, ...), without reading the server's logs."),
        (name = "Room Sessions", description = "A room's sessions, from its first admitted participant to its \
            end, and moderation: end, kick, mute, unmute (carried out by media servers through the control feed)."),
        (name = "Room Participants", description = "Who joined which session, and when they left."),
        (name = "Media server link", description = "roomgate's extension: what a media server (SFU) calls to \
            admit participants within `max_participants`, report leaves, renew their leases, and follow the \
            commands it must carry out. `roomgate-verify` implements it."),
        (name = "Keys and health", description = "The public keys that verify tokens, and probes."),
    ),
)]
struct ApiDoc;

/// Declares the bearer scheme; operations that need no key say `security: []` themselves.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut Document) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API key (`rg_…`) from `roomgate api-keys create`."))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// utoipa renders an `Option<T>` body as a required `oneOf: [null, T]`; what the handlers mean is a body that
/// may be left out (an empty body reads as `{}`). A JSON `null` body is refused with 400, so it is no option.
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, doc: &mut Document) {
        for item in doc.paths.paths.values_mut() {
            let operations = [&mut item.post, &mut item.patch, &mut item.put];
            for body in operations
                .into_iter()
                .flatten()
                .filter_map(|op| op.request_body.as_mut())
            {
                for content in body.content.values_mut() {
                    let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else {
                        continue;
                    };
                    if let [a, b] = one_of.items.as_slice() {
                        let inner = match (is_null(a), is_null(b)) {
                            (true, false) => b.clone(),
                            (false, true) => a.clone(),
                            _ => continue,
                        };
                        content.schema = Some(inner);
                        body.required = Some(Required::False);
                    }
                }
            }
        }
    }
}

/// A revocation names exactly one selector: the object's schema gains `oneOf` three `required` sets (utoipa's
/// derive cannot say it).
struct OneSelector;

impl Modify for OneSelector {
    fn modify(&self, doc: &mut Document) {
        use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder};
        let Some(schemas) = doc.components.as_mut().map(|c| &mut c.schemas) else {
            return;
        };
        let Some(object) = schemas.remove("RevokeTokensRequest") else {
            return;
        };
        let mut one = OneOfBuilder::new();
        for selector in ["jti", "identity", "issued_before"] {
            one = one.item(ObjectBuilder::new().required(selector));
        }
        let all = AllOfBuilder::new()
            .item(object)
            .item(Schema::OneOf(one.build()))
            .build();
        schemas.insert("RevokeTokensRequest".into(), Schema::AllOf(all).into());
    }
}

/// Any route answers 408 (10008) when a request outlasts the server-wide time limit.
struct RequestTimeout;

impl Modify for RequestTimeout {
    fn modify(&self, doc: &mut Document) {
        let timeout: RefOr<Response> = ResponseBuilder::new()
            .description("The request took longer than the server allows (10008).")
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("Errors"))),
            )
            .build()
            .into();
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ];
            for op in operations.into_iter().flatten() {
                op.responses
                    .responses
                    .entry("408".into())
                    .or_insert_with(|| timeout.clone());
            }
        }
    }
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    let RefOr::T(Schema::Object(o)) = schema else {
        return false;
    };
    o.schema_type == SchemaType::Type(Type::Null)
}

/// What every call with an API key may answer besides its own outcomes.
#[derive(IntoResponses)]
pub(super) enum KeyErrors {
    /// Missing, unknown or revoked API key (10009).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// A rate limit was hit (10011); `retry-after` says when to try again.
    #[response(status = 429)]
    TooManyRequests(ErrorBody),
    /// The store is unavailable (10007); `x-should-retry: true`.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// What every call with a JSON body may answer about that body.
#[derive(IntoResponses)]
pub(super) enum BodyErrors {
    /// The body is not a JSON object (10015).
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// The body is over 64 KiB.
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
    /// The body is declared as something other than JSON (10014).
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// A field is missing (10004), of the wrong type (10026), out of range (10033) or a duplicate (10012);
    /// `source.pointer` names it.
    #[response(status = 422)]
    Invalid(ErrorBody),
}

/// The account already has `--max-rooms-per-account` rooms (10010, title "Room limit reached",
/// `meta.max_rooms_per_account`); `x-should-retry: false`: it lasts until a room is deleted.
#[derive(IntoResponses)]
#[response(status = 403)]
pub(super) struct RoomLimit(ErrorBody);

/// No such room in the key's account, or a `room_id` that is not a UUID (10005).
#[derive(IntoResponses)]
#[response(status = 404)]
pub(super) struct RoomNotFound(ErrorBody);

/// The room id in every `/v2/rooms/{room_id}` path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct RoomIdParam {
    /// The unique identifier of a room.
    #[param(format = "uuid", example = "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0")]
    room_id: String,
}

/// The query of `GET /v2/rooms`: Telnyx's bracketed names.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListRoomsParams {
    /// The page number to load.
    #[param(rename = "page[number]", minimum = 1, maximum = 1000000, default = 1)]
    page_number: Option<u64>,
    /// The size of the page.
    #[param(rename = "page[size]", minimum = 1, maximum = 250, default = 20)]
    page_size: Option<u64>,
    /// Rooms with exactly this unique_name: 1 to 255 characters without control characters, as a unique_name
    /// is (otherwise 422 naming the parameter).
    #[param(
        rename = "filter[unique_name]",
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*$",
        example = "my_video_room"
    )]
    unique_name: Option<String>,
    /// Rooms created on that date (UTC).
    #[param(rename = "filter[date_created_at][eq]", format = Date, example = "2021-04-25")]
    created_eq: Option<String>,
    /// Rooms created on or after that date (UTC).
    #[param(rename = "filter[date_created_at][gte]", format = Date, example = "2021-04-25")]
    created_gte: Option<String>,
    /// Rooms created on or before that date (UTC).
    #[param(rename = "filter[date_created_at][lte]", format = Date, example = "2021-04-25")]
    created_lte: Option<String>,
    /// Rooms last updated on that date (UTC).
    #[param(rename = "filter[date_updated_at][eq]", format = Date, example = "2021-04-25")]
    updated_eq: Option<String>,
    /// Rooms last updated on or after that date (UTC).
    #[param(rename = "filter[date_updated_at][gte]", format = Date, example = "2021-04-25")]
    updated_gte: Option<String>,
    /// Rooms last updated on or before that date (UTC).
    #[param(rename = "filter[date_updated_at][lte]", format = Date, example = "2021-04-25")]
    updated_lte: Option<String>,
}

/// Paging of a list that has no filters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PageParams {
    /// The page number to load.
    #[param(rename = "page[number]", minimum = 1, maximum = 1000000, default = 1)]
    page_number: Option<u64>,
    /// The size of the page.
    #[param(rename = "page[size]", minimum = 1, maximum = 250, default = 20)]
    page_size: Option<u64>,
}

/// The query of `GET /v2/revocations`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct FeedParams {
    /// A previous response's `meta.next_cursor` (opaque); absent: from the first live revocation.
    #[param(pattern = "^[0-9]{1,18}$", example = "42")]
    after: Option<String>,
    /// Seconds to wait for a revocation when there is none after the cursor (long poll).
    #[param(minimum = 0, maximum = 30, default = 0)]
    wait: Option<u64>,
    /// The most revocations in one response.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u64>,
}

/// A session id in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct SessionIdParam {
    /// The unique identifier of a room session.
    #[param(format = "uuid", example = "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0")]
    room_session_id: String,
}

/// A participant id in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct ParticipantIdParam {
    /// The unique identifier of a room participant.
    #[param(format = "uuid", example = "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0")]
    room_participant_id: String,
}

/// Whether sessions come with their participants.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct IncludeParticipantsParam {
    /// Include each session's participants (at most 1,000, oldest first).
    include_participants: Option<bool>,
}

/// The query of the session listings: Telnyx's bracketed names; dates are YYYY-MM-DD.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SessionListParams {
    /// The page number to load.
    #[param(rename = "page[number]", minimum = 1, maximum = 1000000, default = 1)]
    page_number: Option<u64>,
    /// The size of the page.
    #[param(rename = "page[size]", minimum = 1, maximum = 250, default = 20)]
    page_size: Option<u64>,
    /// Sessions of this room.
    #[param(rename = "filter[room_id]", format = "uuid")]
    room_id: Option<String>,
    /// Active (true) or ended (false) sessions.
    #[param(rename = "filter[active]")]
    active: Option<bool>,
    /// Include each session's participants.
    include_participants: Option<bool>,
    /// Created on this date.
    #[param(rename = "filter[date_created_at][eq]", format = "date")]
    created_eq: Option<String>,
    /// Created on or after this date.
    #[param(rename = "filter[date_created_at][gte]", format = "date")]
    created_gte: Option<String>,
    /// Created on or before this date.
    #[param(rename = "filter[date_created_at][lte]", format = "date")]
    created_lte: Option<String>,
    /// Updated on this date.
    #[param(rename = "filter[date_updated_at][eq]", format = "date")]
    updated_eq: Option<String>,
    /// Updated on or after this date.
    #[param(rename = "filter[date_updated_at][gte]", format = "date")]
    updated_gte: Option<String>,
    /// Updated on or before this date.
    #[param(rename = "filter[date_updated_at][lte]", format = "date")]
    updated_lte: Option<String>,
    /// Ended on this date.
    #[param(rename = "filter[date_ended_at][eq]", format = "date")]
    ended_eq: Option<String>,
    /// Ended on or after this date.
    #[param(rename = "filter[date_ended_at][gte]", format = "date")]
    ended_gte: Option<String>,
    /// Ended on or before this date.
    #[param(rename = "filter[date_ended_at][lte]", format = "date")]
    ended_lte: Option<String>,
}

/// The query of the participant listings: Telnyx's bracketed names; dates are YYYY-MM-DD.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ParticipantListParams {
    /// The page number to load.
    #[param(rename = "page[number]", minimum = 1, maximum = 1000000, default = 1)]
    page_number: Option<u64>,
    /// The size of the page.
    #[param(rename = "page[size]", minimum = 1, maximum = 250, default = 20)]
    page_size: Option<u64>,
    /// Participants of this session.
    #[param(rename = "filter[session_id]", format = "uuid")]
    session_id: Option<String>,
    /// Participants with exactly this context.
    #[param(rename = "filter[context]")]
    context: Option<String>,
    /// Joined on this date.
    #[param(rename = "filter[date_joined_at][eq]", format = "date")]
    joined_eq: Option<String>,
    /// Joined on or after this date.
    #[param(rename = "filter[date_joined_at][gte]", format = "date")]
    joined_gte: Option<String>,
    /// Joined on or before this date.
    #[param(rename = "filter[date_joined_at][lte]", format = "date")]
    joined_lte: Option<String>,
    /// Updated on this date.
    #[param(rename = "filter[date_updated_at][eq]", format = "date")]
    updated_eq: Option<String>,
    /// Updated on or after this date.
    #[param(rename = "filter[date_updated_at][gte]", format = "date")]
    updated_gte: Option<String>,
    /// Updated on or before this date.
    #[param(rename = "filter[date_updated_at][lte]", format = "date")]
    updated_lte: Option<String>,
    /// Left on this date.
    #[param(rename = "filter[date_left_at][eq]", format = "date")]
    left_eq: Option<String>,
    /// Left on or after this date.
    #[param(rename = "filter[date_left_at][gte]", format = "date")]
    left_gte: Option<String>,
    /// Left on or before this date.
    #[param(rename = "filter[date_left_at][lte]", format = "date")]
    left_lte: Option<String>,
}

/// The public signing keys (RFC 7517 JWK Set).
#[derive(ToSchema)]
pub(super) struct Jwks {
    /// Every key that may have signed a live token, including one published ahead of its use.
    keys: Vec<Jwk>,
}

/// One Ed25519 public key (RFC 8037).
#[derive(ToSchema)]
pub(super) struct Jwk {
    /// Always `OKP`.
    #[schema(example = "OKP")]
    kty: String,
    /// Always `Ed25519`.
    #[schema(example = "Ed25519")]
    crv: String,
    /// The public key, base64url without padding.
    x: String,
    /// RFC 7638 thumbprint, the `kid` of the tokens it verifies.
    kid: String,
    /// Always `EdDSA`.
    #[schema(example = "EdDSA")]
    alg: String,
    /// Always `sig`.
    #[schema(rename = "use", example = "sig")]
    use_: String,
}

/// A probe's answer.
#[derive(ToSchema)]
pub(super) struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: String,
}
