//! Taking access away (roomgate's extension): revoking a room's tokens, a room's revocations, the account's feed
//! of them that media servers follow, and introspection, which says whether a token is active and if not why.
use std::time::Duration;

use futures::Stream;
use reqwest::Method;
use roomgate_types::{
    IntrospectRequest, Introspection, Page, Revocation, RevocationFeed, RevokeTokensRequest,
};

use crate::{
    client::{Auth, Call},
    Client, Error, RoomsApi,
};

impl RoomsApi<'_> {
    /// `POST /rooms/{room_id}/actions/revoke_tokens`: stops honouring one token (`jti`), a participant's tokens
    /// issued until now (`identity`), or every token of the room issued before an instant (`issued_before`).
    /// Exactly one selector must be set; otherwise, or for a bad UUID or a future time, the server answers 422
    /// ([`Error::is_invalid`]) with `source.pointer` naming the member.
    ///
    /// Refreshes of the covered refresh tokens fail from the next request on; media servers following
    /// [`Client::revocation_feed`] refuse the covered access tokens. Tokens minted afterwards work.
    ///
    /// ```no_run
    /// # async fn demo(client: roomgate_client::Client, room_id: &str) -> Result<(), roomgate_client::Error> {
    /// use roomgate_client::types::RevokeTokensRequest;
    ///
    /// let kick = RevokeTokensRequest {
    ///     identity: Some("mallory".into()),
    ///     reason: Some("kicked by the host".into()),
    ///     ..Default::default()
    /// };
    /// let revocation = client.rooms().revoke_tokens(room_id, &kick).await?;
    /// println!("revocation {} kept until {}", revocation.id, revocation.expires_at);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "RevokeRoomTokens")]
    pub async fn revoke_tokens(
        &self,
        room_id: &str,
        body: &RevokeTokensRequest,
    ) -> Result<Revocation, Error> {
        let path = ["rooms", room_id, "actions", "revoke_tokens"];
        let call = Call::new(Method::POST, &path, Auth::ApiKey).json(body)?;
        self.client.data(call).await
    }

    /// `GET /rooms/{room_id}/revocations`: one page of the room's live (not yet expired) revocations, newest
    /// first. An unknown room, or another account's, is 404 ([`Error::is_not_found`]).
    ///
    /// ```no_run
    /// # async fn demo(client: roomgate_client::Client, room_id: &str) -> Result<(), roomgate_client::Error> {
    /// use roomgate_client::ListRevocationsParams;
    ///
    /// let page = client.rooms().list_revocations(room_id, &ListRevocationsParams::new().page_size(50)).await?;
    /// println!("{} live revocations", page.meta.total_results);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "ListRoomRevocations")]
    pub async fn list_revocations(
        &self,
        room_id: &str,
        params: &ListRevocationsParams,
    ) -> Result<Page<Revocation>, Error> {
        let path = ["rooms", room_id, "revocations"];
        let mut call = Call::new(Method::GET, &path, Auth::ApiKey);
        call.query = params.query();
        self.client.json(call).await
    }

    /// Every live revocation of the room, newest first, fetching page after page (from `params.page_number`,
    /// or 1) until `meta.total_pages`. The stream ends after the first error it yields.
    pub fn list_all_revocations(
        &self,
        room_id: &str,
        params: ListRevocationsParams,
    ) -> impl Stream<Item = Result<Revocation, Error>> + Send + 'static {
        let (client, room_id) = (self.client.clone(), room_id.to_owned());
        crate::paging::walk(params.page_number.unwrap_or(1), move |number| {
            let (client, room_id) = (client.clone(), room_id.clone());
            let params = params.clone().page_number(number);
            async move { client.rooms().list_revocations(&room_id, &params).await }
        })
    }
}

impl Client {
    /// `GET /revocations`: the account's live revocations after the cursor `after` (none: from the first live
    /// one), at most `limit` (server default 100, at most 1000), in one total order. With `wait` (at most 30 s,
    /// rounded up to whole seconds), the server holds the request until one arrives or `wait` has passed; this
    /// call's timeout is the client's plus `wait`, so a long poll is never cut short. Pass `meta.next_cursor` as
    /// `after` next time (it is there also when `data` is empty).
    ///
    /// ```no_run
    /// # async fn demo(client: roomgate_client::Client) -> Result<(), roomgate_client::Error> {
    /// use std::time::Duration;
    ///
    /// let mut cursor: Option<String> = None;
    /// loop {
    ///     let feed = client.revocation_feed(cursor.as_deref(), Some(Duration::from_secs(25)), None).await?;
    ///     for r in &feed.data {
    ///         println!("room {}: revoked {:?} {:?} {:?}", r.room_id, r.jti, r.identity, r.issued_before);
    ///     }
    ///     cursor = Some(feed.meta.next_cursor);
    /// }
    /// # }
    /// ```
    #[doc(alias = "RevocationFeed")]
    pub async fn revocation_feed(
        &self,
        after: Option<&str>,
        wait: Option<Duration>,
        limit: Option<u32>,
    ) -> Result<RevocationFeed, Error> {
        let mut call = Call::new(Method::GET, &["revocations"], Auth::ApiKey);
        call.query = feed_query(after, wait, limit);
        call.held = wait.unwrap_or_default();
        self.json(call).await
    }

    /// `POST /tokens/introspect`: whether an access or refresh token is active now, and when it is not, why
    /// (`reason`, `detail`, and the `revocation` that covers it). A token that does not decode, or is for another
    /// account's room, is `active: false` with nothing else. Inactive is an answer, not an error.
    ///
    /// ```no_run
    /// # async fn demo(client: roomgate_client::Client, token: &str) -> Result<(), roomgate_client::Error> {
    /// let seen = client.introspect(token).await?;
    /// if !seen.active {
    ///     println!("refused: {:?}: {}", seen.reason, seen.detail.as_deref().unwrap_or("-"));
    /// }
    /// # Ok(()) }
    /// ```
    #[doc(alias = "IntrospectToken")]
    pub async fn introspect(&self, token: &str) -> Result<Introspection, Error> {
        let body = IntrospectRequest {
            token: token.to_owned(),
        };
        let call = Call::new(Method::POST, &["tokens", "introspect"], Auth::ApiKey).json(&body)?;
        self.data(call).await
    }
}

/// The feed's query pairs; `wait` in whole seconds, rounded up so that a short wait still waits.
fn feed_query(
    after: Option<&str>,
    wait: Option<Duration>,
    limit: Option<u32>,
) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let Some(after) = after {
        q.push(("after", after.to_owned()));
    }
    if let Some(wait) = wait {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        q.push(("wait", secs.to_string()));
    }
    if let Some(limit) = limit {
        q.push(("limit", limit.to_string()));
    }
    q
}

/// Which page of a room's revocations to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListRevocationsParams {
    /// `page[number]`, 1-based (server default 1).
    pub page_number: Option<u64>,
    /// `page[size]`, 1..=250 (server default 20).
    pub page_size: Option<u32>,
}

impl ListRevocationsParams {
    /// Server-default paging.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for page `number` (1-based).
    pub fn page_number(mut self, number: u64) -> Self {
        self.page_number = Some(number);
        self
    }

    /// Asks for `size` revocations per page.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let number = self.page_number.map(|n| ("page[number]", n.to_string()));
        let size = self.page_size.map(|n| ("page[size]", n.to_string()));
        number.into_iter().chain(size).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_query_rounds_the_wait_up_to_whole_seconds() {
        assert!(feed_query(None, None, None).is_empty());
        let q = feed_query(Some("AAAAAAAAAAE"), Some(Duration::from_millis(1500)), Some(10));
        assert_eq!(
            q,
            [
                ("after", "AAAAAAAAAAE".to_owned()),
                ("wait", "2".to_owned()),
                ("limit", "10".to_owned())
            ]
        );
        assert_eq!(feed_query(None, Some(Duration::from_secs(30)), None)[0].1, "30");
        assert_eq!(feed_query(None, Some(Duration::ZERO), None)[0].1, "0");
    }

    #[test]
    fn page_params_become_bracketed_pairs() {
        assert!(ListRevocationsParams::new().query().is_empty());
        let q = ListRevocationsParams::new().page_number(2).page_size(5).query();
        assert_eq!(
            q,
            [("page[number]", "2".to_owned()), ("page[size]", "5".to_owned())]
        );
    }
}
