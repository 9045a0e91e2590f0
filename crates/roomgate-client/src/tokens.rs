//! Join tokens, under the original names (`RoomsAccessTokensApi`) and today's Telnyx names (on [`RoomsApi`]).
use reqwest::Method;
use roomgate_types::{
    AccessToken, ClientToken, CreateAccessTokenRequest, GenerateClientTokenRequest, JoinClientToken,
    RefreshAccessTokenRequest, RefreshClientTokenRequest, RoomAccessToken,
};

use crate::{
    client::{Auth, Call},
    Client, Error, RoomsApi,
};

/// The original document's `RoomsAccessTokensApi`; get one with [`Client::rooms_access_tokens`].
///
/// Each call exists under the original name with the original argument order (`body, room_id`), and under a
/// shorter Rust name taking the room first.
#[derive(Clone, Copy, Debug)]
pub struct RoomsAccessTokensApi<'a> {
    client: &'a Client,
}

impl<'a> RoomsAccessTokensApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// `POST /rooms/{room_id}/actions/create_access_token`: an access token and a refresh token.
    #[doc(alias = "CreateRoomAccessToken")]
    pub async fn create_room_access_token(
        &self,
        body: &CreateAccessTokenRequest,
        room_id: &str,
    ) -> Result<RoomAccessToken, Error> {
        self.create(room_id, body).await
    }

    /// `POST /rooms/{room_id}/actions/refresh_access_token`: a new access token; sends no API key.
    #[doc(alias = "RefreshRoomAccessToken")]
    pub async fn refresh_room_access_token(
        &self,
        body: &RefreshAccessTokenRequest,
        room_id: &str,
    ) -> Result<AccessToken, Error> {
        self.refresh(room_id, body).await
    }

    /// Same as [`create_room_access_token`](Self::create_room_access_token), room first.
    #[doc(alias = "create_access_token")]
    pub async fn create(
        &self,
        room_id: &str,
        body: &CreateAccessTokenRequest,
    ) -> Result<RoomAccessToken, Error> {
        let path = ["rooms", room_id, "actions", "create_access_token"];
        let call = Call::new(Method::POST, &path, Auth::ApiKey).json(body)?;
        self.client.data(call).await
    }

    /// Same as [`refresh_room_access_token`](Self::refresh_room_access_token), room first.
    #[doc(alias = "refresh_access_token")]
    pub async fn refresh(
        &self,
        room_id: &str,
        body: &RefreshAccessTokenRequest,
    ) -> Result<AccessToken, Error> {
        let path = ["rooms", room_id, "actions", "refresh_access_token"];
        // The refresh token is the credential: an API key has no business travelling with it.
        let call = Call::new(Method::POST, &path, Auth::None).json(body)?;
        self.client.data(call).await
    }
}

impl RoomsApi<'_> {
    /// `POST /rooms/{room_id}/actions/generate_join_client_token`: today's name for creating tokens.
    #[doc(alias = "GenerateJoinClientToken")]
    pub async fn generate_join_client_token(
        &self,
        room_id: &str,
        body: &GenerateClientTokenRequest,
    ) -> Result<JoinClientToken, Error> {
        let path = ["rooms", room_id, "actions", "generate_join_client_token"];
        let call = Call::new(Method::POST, &path, Auth::ApiKey).json(body)?;
        self.client.data(call).await
    }

    /// `POST /rooms/{room_id}/actions/refresh_client_token`: today's name for refreshing; sends no API key.
    #[doc(alias = "RefreshClientToken")]
    pub async fn refresh_client_token(
        &self,
        room_id: &str,
        body: &RefreshClientTokenRequest,
    ) -> Result<ClientToken, Error> {
        let path = ["rooms", room_id, "actions", "refresh_client_token"];
        let call = Call::new(Method::POST, &path, Auth::None).json(body)?;
        self.client.data(call).await
    }
}
