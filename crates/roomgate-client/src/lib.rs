//! An async client for roomgate and the Telnyx Rooms API: rooms, and the join tokens that let people in.
//!
//! The base URL defaults to Telnyx's (`https://api.telnyx.com/v2`); point it at a roomgate server with
//! [`ClientBuilder::base_url`]. The API key comes from [`ClientBuilder::api_key`], else the environment
//! (`ROOMGATE_API_KEY`, then `TELNYX_API_KEY`). Refresh calls never send it. Connect errors, 429 and 5xx
//! are retried twice by default, with jittered exponential backoff and respect for `Retry-After`.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use roomgate_client::{Client, ListRoomsParams};
//! use roomgate_client::types::{
//!     CreateAccessTokenRequest, CreateRoomRequest, GenerateClientTokenRequest, Permissions, RefreshAccessTokenRequest,
//!     RevokeTokensRequest, Source,
//! };
//!
//! # async fn demo() -> Result<(), roomgate_client::Error> {
//! let client = Client::builder()
//!     .base_url("http://127.0.0.1:8080/v2")
//!     .api_key("rg_...")
//!     .build()?;
//!
//! let room = client
//!     .rooms()
//!     .create(&CreateRoomRequest { unique_name: Some("standup".into()), ..Default::default() })
//!     .await?;
//!
//! // The original document's RoomsAccessTokensApi, under its own names.
//! let tokens = client.rooms_access_tokens();
//! let body = CreateAccessTokenRequest { ttl_secs: Some(600), ..Default::default() };
//! let token = tokens.create_room_access_token(&body, &room.id).await?;
//! let refreshed = tokens
//!     .refresh_room_access_token(
//!         &RefreshAccessTokenRequest { refresh_token: token.refresh_token, ttl_secs: None },
//!         &room.id,
//!     )
//!     .await?;
//! println!("join with {} until {}", refreshed.access_token, refreshed.access_token_expires_at);
//!
//! // A token that says who is joining and what they may do (roomgate's extension; refreshing keeps it).
//! let body = GenerateClientTokenRequest {
//!     identity: Some("alice".into()),
//!     name: Some("Alice".into()),
//!     permissions: Some(Permissions {
//!         can_publish_sources: Some(vec![Source::Camera, Source::Microphone]),
//!         room_admin: Some(true),
//!         ..Default::default()
//!     }),
//!     ..Default::default()
//! };
//! let alice = client.rooms().generate_join_client_token(&room.id, &body).await?;
//! println!("alice joins with {}", alice.token);
//!
//! // Every room, page after page.
//! let rooms: Vec<_> = client.rooms().list(ListRoomsParams::new().page_size(50)).try_collect().await?;
//! println!("{} rooms", rooms.len());
//!
//! // Take access away: every token of one participant (roomgate's extension), and ask why a token fails.
//! let kick = RevokeTokensRequest { identity: Some("alice".into()), ..Default::default() };
//! client.rooms().revoke_tokens(&room.id, &kick).await?;
//! let seen = client.introspect(&alice.token).await?;
//! println!("active: {}, reason: {:?}", seen.active, seen.reason);
//!
//! match client.rooms().retrieve("00000000-0000-0000-0000-000000000000").await {
//!     Err(e) if e.is_not_found() => println!("no such room: {}", e.code().unwrap_or("?")),
//!     other => println!("{other:?}"),
//! }
//! # Ok(()) }
//! ```

mod client;
mod error;
mod paging;
mod retry;
mod revocations;
mod rooms;
mod tokens;

pub use client::{Client, ClientBuilder, API_KEY_ENV_VARS, DEFAULT_BASE_URL};
pub use error::Error;
pub use reqwest::StatusCode;
pub use revocations::ListRevocationsParams;
pub use rooms::{DateFilter, ListRoomsParams, RoomsApi};
pub use tokens::RoomsAccessTokensApi;

/// The wire types requests and responses use (re-exported from `roomgate-types`).
pub use roomgate_types as types;
