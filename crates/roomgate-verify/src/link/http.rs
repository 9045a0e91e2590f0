//! The link's requests: each bounded in time and size, with the API key as a sensitive header, and every answer
//! other than the contract's success mapped to a [`LinkError`] in one place.

use std::time::Duration;

use reqwest::{
    header::{HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER},
    Method, StatusCode, Url,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::wire::{api_error, Data, Page, Renewal, RoomParticipant, WireParticipant};
use crate::{
    http::{fetch_error, read_capped, retry_after},
    FetchError, LinkError,
};

/// Largest answer to an admission, a leave or an error.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Largest answer to a renewal (1000 ids in two lists) or a feed page (1000 commands, revocations included).
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Commands asked for per feed poll (the feed's maximum).
pub(crate) const PAGE_LIMIT: usize = 1000;

/// roomgate's API, as the link calls it.
#[derive(Debug)]
pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    /// Ends with `/`.
    pub(crate) base: Url,
    /// `Bearer <API key>`, marked sensitive.
    pub(crate) auth: HeaderValue,
    pub(crate) timeout: Duration,
}

impl Api {
    /// `POST /v2/room_participants`: the participant admitted.
    pub(crate) async fn admit(&self, body: &serde_json::Value) -> Result<RoomParticipant, LinkError> {
        let url = self.url("v2/room_participants")?;
        let data: Data<WireParticipant> = self
            .call(Method::POST, url, Some(body), Duration::ZERO, MAX_RESPONSE_BYTES)
            .await?;
        data.data.parse().map_err(LinkError::InvalidResponse)
    }

    /// `POST /v2/room_participants/{id}/actions/leave`: the participant, left.
    pub(crate) async fn leave(&self, id: Uuid) -> Result<RoomParticipant, LinkError> {
        let url = self.url(&format!("v2/room_participants/{id}/actions/leave"))?;
        let body = serde_json::json!({});
        let data: Data<WireParticipant> = self
            .call(Method::POST, url, Some(&body), Duration::ZERO, MAX_RESPONSE_BYTES)
            .await?;
        data.data.parse().map_err(LinkError::InvalidResponse)
    }

    /// `POST /v2/room_participants/actions/renew` with 1..=1000 ids.
    pub(crate) async fn renew(&self, ids: &[Uuid]) -> Result<Renewal, LinkError> {
        let url = self.url("v2/room_participants/actions/renew")?;
        let body = serde_json::json!({ "participant_ids": ids });
        let data: Data<Renewal> = self
            .call(Method::POST, url, Some(&body), Duration::ZERO, MAX_PAGE_BYTES)
            .await?;
        Ok(data.data)
    }

    /// `GET /v2/room_commands` after `cursor`, held open by roomgate for up to `wait` (whole seconds).
    pub(crate) async fn commands(&self, cursor: Option<&str>, wait: Duration) -> Result<Page, LinkError> {
        let mut url = self.url("v2/room_commands")?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(after) = cursor {
                query.append_pair("after", after);
            }
            query.append_pair("wait", &wait.as_secs().to_string());
            query.append_pair("limit", &PAGE_LIMIT.to_string());
        }
        self.call(Method::GET, url, None, wait, MAX_PAGE_BYTES).await
    }

    fn url(&self, path: &str) -> Result<Url, LinkError> {
        self.base
            .join(path)
            .map_err(|_| LinkError::Config("the base URL does not take roomgate's paths"))
    }

    /// One request: a success's body decoded, or the error the answer stands for.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        wait: Duration,
        limit: usize,
    ) -> Result<T, LinkError> {
        let mut request = self
            .client
            .request(method, url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/json")
            .timeout(wait + self.timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |e: FetchError| LinkError::Transport(e);
        let mut response = request.send().await.map_err(|e| transport(fetch_error(e)))?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(LinkError::Unavailable {
                status: status.as_u16(),
                retry_after: retry_after(response.headers().get(RETRY_AFTER)),
            });
        }
        let cap = if status.is_success() {
            limit
        } else {
            MAX_RESPONSE_BYTES
        };
        let bytes = read_capped(&mut response, cap).await.map_err(transport)?;
        if !status.is_success() {
            return Err(api_error(status.as_u16(), &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| LinkError::InvalidResponse(e.to_string()))
    }
}
