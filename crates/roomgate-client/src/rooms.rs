//! `/rooms`: create, retrieve, list (one page, or every room as a stream), update, delete.
use futures::Stream;
use reqwest::Method;
use roomgate_types::{CreateRoomRequest, Page, Room, UpdateRoomRequest};

use crate::{
    client::{Auth, Call},
    Client, Error,
};

/// The rooms API of a [`Client`]; get one with [`Client::rooms`].
#[derive(Clone, Copy, Debug)]
pub struct RoomsApi<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> RoomsApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// `POST /rooms`: creates a room.
    #[doc(alias = "CreateRoom")]
    pub async fn create(&self, body: &CreateRoomRequest) -> Result<Room, Error> {
        let call = Call::new(Method::POST, &["rooms"], Auth::ApiKey).json(body)?;
        self.client.data(call).await
    }

    /// `GET /rooms/{room_id}`: one room.
    #[doc(alias = "ViewRoom", alias = "view", alias = "get")]
    pub async fn retrieve(&self, room_id: &str) -> Result<Room, Error> {
        let path = ["rooms", room_id];
        let call = Call::new(Method::GET, &path, Auth::ApiKey);
        self.client.data(call).await
    }

    /// `PATCH /rooms/{room_id}`: changes the fields that are `Some`; `Some(None)` clears an optional field (sent
    /// as `null`).
    #[doc(alias = "UpdateRoom")]
    pub async fn update(&self, room_id: &str, body: &UpdateRoomRequest) -> Result<Room, Error> {
        let path = ["rooms", room_id];
        let call = Call::new(Method::PATCH, &path, Auth::ApiKey).json(body)?;
        self.client.data(call).await
    }

    /// `DELETE /rooms/{room_id}`.
    #[doc(alias = "DeleteRoom")]
    pub async fn delete(&self, room_id: &str) -> Result<(), Error> {
        let path = ["rooms", room_id];
        let call = Call::new(Method::DELETE, &path, Auth::ApiKey);
        self.client.execute(call).await.map(drop)
    }

    /// `GET /rooms`: one page of rooms, newest first, with its [`PageMeta`](roomgate_types::PageMeta).
    #[doc(alias = "ListRooms", alias = "list_rooms_page")]
    pub async fn list_page(&self, params: &ListRoomsParams) -> Result<Page<Room>, Error> {
        let mut call = Call::new(Method::GET, &["rooms"], Auth::ApiKey);
        call.query = params.query();
        self.client.json(call).await
    }

    /// Every matching room, newest first, fetching page after page (from `params.page_number`, or 1)
    /// until `meta.total_pages`. The stream ends after the first error it yields.
    #[doc(alias = "ListRooms", alias = "list_rooms")]
    pub fn list(&self, params: ListRoomsParams) -> impl Stream<Item = Result<Room, Error>> + Send + 'static {
        let client = self.client.clone();
        crate::paging::walk(params.page_number.unwrap_or(1), move |number| {
            let (client, params) = (client.clone(), params.clone().page_number(number));
            async move { client.rooms().list_page(&params).await }
        })
    }
}

/// Which rooms to list. Dates are `YYYY-MM-DD` (UTC days) and filters given together all apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListRoomsParams {
    /// `page[number]`, 1-based (server default 1).
    pub page_number: Option<u64>,
    /// `page[size]`, 1..=250 (server default 20).
    pub page_size: Option<u32>,
    /// `filter[unique_name]`: exact match.
    pub unique_name: Option<String>,
    /// `filter[date_created_at][eq|gte|lte]`.
    pub date_created_at: DateFilter,
    /// `filter[date_updated_at][eq|gte|lte]`.
    pub date_updated_at: DateFilter,
}

/// Bounds on a date, each `YYYY-MM-DD`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DateFilter {
    /// On this day.
    pub eq: Option<String>,
    /// On or after this day.
    pub gte: Option<String>,
    /// On or before this day.
    pub lte: Option<String>,
}

impl ListRoomsParams {
    /// No filters, server-default paging.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for page `number` (1-based).
    pub fn page_number(mut self, number: u64) -> Self {
        self.page_number = Some(number);
        self
    }

    /// Asks for `size` rooms per page.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Only the room with this unique name.
    pub fn unique_name(mut self, name: impl Into<String>) -> Self {
        self.unique_name = Some(name.into());
        self
    }

    /// Only rooms created on or after `date` (`YYYY-MM-DD`).
    pub fn created_since(mut self, date: impl Into<String>) -> Self {
        self.date_created_at.gte = Some(date.into());
        self
    }

    /// Only rooms created on or before `date` (`YYYY-MM-DD`).
    pub fn created_until(mut self, date: impl Into<String>) -> Self {
        self.date_created_at.lte = Some(date.into());
        self
    }

    /// Only rooms created on `date` (`YYYY-MM-DD`).
    pub fn created_on(mut self, date: impl Into<String>) -> Self {
        self.date_created_at.eq = Some(date.into());
        self
    }

    /// Only rooms last updated on or after `date` (`YYYY-MM-DD`).
    pub fn updated_since(mut self, date: impl Into<String>) -> Self {
        self.date_updated_at.gte = Some(date.into());
        self
    }

    /// Only rooms last updated on or before `date` (`YYYY-MM-DD`).
    pub fn updated_until(mut self, date: impl Into<String>) -> Self {
        self.date_updated_at.lte = Some(date.into());
        self
    }

    /// Only rooms last updated on `date` (`YYYY-MM-DD`).
    pub fn updated_on(mut self, date: impl Into<String>) -> Self {
        self.date_updated_at.eq = Some(date.into());
        self
    }

    /// The query pairs, with Telnyx's bracketed names.
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let mut push = |name: &'static str, value: Option<String>| {
            if let Some(v) = value {
                q.push((name, v));
            }
        };
        push("page[number]", self.page_number.map(|n| n.to_string()));
        push("page[size]", self.page_size.map(|n| n.to_string()));
        push("filter[unique_name]", self.unique_name.clone());
        let created = &self.date_created_at;
        push("filter[date_created_at][eq]", created.eq.clone());
        push("filter[date_created_at][gte]", created.gte.clone());
        push("filter[date_created_at][lte]", created.lte.clone());
        let updated = &self.date_updated_at;
        push("filter[date_updated_at][eq]", updated.eq.clone());
        push("filter[date_updated_at][gte]", updated.gte.clone());
        push("filter[date_updated_at][lte]", updated.lte.clone());
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_become_bracketed_query_pairs() {
        assert!(ListRoomsParams::new().query().is_empty());
        let q = ListRoomsParams::new()
            .page_number(2)
            .page_size(3)
            .unique_name("a b")
            .created_since("2026-01-01")
            .created_until("2026-01-31")
            .created_on("2026-01-15")
            .updated_since("2026-02-01")
            .updated_until("2026-02-28")
            .updated_on("2026-02-14")
            .query();
        let expected = [
            ("page[number]", "2"),
            ("page[size]", "3"),
            ("filter[unique_name]", "a b"),
            ("filter[date_created_at][eq]", "2026-01-15"),
            ("filter[date_created_at][gte]", "2026-01-01"),
            ("filter[date_created_at][lte]", "2026-01-31"),
            ("filter[date_updated_at][eq]", "2026-02-14"),
            ("filter[date_updated_at][gte]", "2026-02-01"),
            ("filter[date_updated_at][lte]", "2026-02-28"),
        ];
        let got: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(got, expected);
    }
}
