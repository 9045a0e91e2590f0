//! The control feed as a stream of [`Command`]s: long polls from a cursor, reconnecting with backoff.

use std::{
    collections::VecDeque,
    fmt,
    future::Future,
    pin::Pin,
    time::{Duration, Instant},
};

use super::{
    http::PAGE_LIMIT,
    wire::{parse_command, Page},
    Command, Link, LinkError, MAX_CURSOR_BYTES,
};
use crate::http::jittered;

/// First pause after a failed poll; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Longest pause between failed polls: a kick should not wait much longer once roomgate is back.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Longest `retry-after` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Fewest time between the starts of two polls, should roomgate answer at once with nothing new.
const MIN_POLL_GAP: Duration = Duration::from_millis(200);

/// A poll under way: when its request started, and how it went.
type Poll = Pin<Box<dyn Future<Output = (Instant, Result<Page, LinkError>)> + Send>>;

/// The commands for this media server, in roomgate's order, then the link's own [`Command::Gone`]s as renewals
/// find them (those come first when both are ready).
///
/// [`Self::next`] is cancel-safe: a poll under way is kept for the next call, so it can sit in a `select!`.
/// Delivery is at least once: [`Self::cursor`] moves past a page once all its commands were returned, so a
/// stream resumed from it ([`super::LinkBuilder::resume_after`]) may repeat the commands of a page left
/// half-read, and never skips one. Handling a command twice is harmless (a disconnected participant stays
/// disconnected, a mute stays a mute). Failed polls are retried with backoff from the same cursor: a page that
/// is not what the contract says is never skipped. Commands of types this crate does not know are skipped.
pub struct Commands {
    link: Link,
    /// Everything before it was returned.
    cursor: Option<String>,
    /// Commands of the last page not yet returned, and the cursor after that page.
    page: VecDeque<Command>,
    page_cursor: Option<String>,
    /// The poll under way, kept across calls of `next`.
    poll: Option<Poll>,
    backoff: Duration,
    /// When the next poll may start.
    not_before: Option<Instant>,
    last_error: Option<LinkError>,
    ended: bool,
}

impl fmt::Debug for Commands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Commands")
            .field("link", &self.link)
            .field("cursor", &self.cursor)
            .field("buffered", &self.page.len())
            .field("polling", &self.poll.is_some())
            .field("last_error", &self.last_error)
            .field("ended", &self.ended)
            .finish()
    }
}

impl Commands {
    pub(super) fn new(link: Link, cursor: Option<String>) -> Self {
        Commands {
            link,
            cursor,
            page: VecDeque::new(),
            page_cursor: None,
            poll: None,
            backoff: FIRST_BACKOFF,
            not_before: None,
            last_error: None,
            ended: false,
        }
    }

    /// The next command, waiting for one as long as it takes. `None` once roomgate refused the API key (401):
    /// a setting to fix, which [`Self::last_error`] names; every other failure is retried.
    pub async fn next(&mut self) -> Option<Command> {
        loop {
            let shared = &self.link.inner.shared;
            if let Some(participant_id) = shared.take_gone() {
                return Some(Command::Gone { participant_id });
            }
            if let Some(command) = self.page.pop_front() {
                if self.page.is_empty() {
                    self.cursor = self.page_cursor.take();
                }
                return Some(command);
            }
            if self.ended {
                return None;
            }
            let poll = self.poll.get_or_insert_with(|| {
                let link = self.link.clone();
                let (cursor, not_before) = (self.cursor.clone(), self.not_before);
                Box::pin(async move {
                    if let Some(at) = not_before {
                        tokio::time::sleep_until(at.into()).await;
                    }
                    let started = Instant::now();
                    let api = &link.inner.shared.api;
                    (
                        started,
                        api.commands(cursor.as_deref(), link.inner.feed_wait).await,
                    )
                })
            });
            let (started, outcome) = tokio::select! {
                biased;
                () = shared.gone_ready.notified() => continue,
                outcome = poll.as_mut() => outcome,
            };
            self.poll = None;
            match outcome.and_then(|page| self.apply(page)) {
                Ok(full) => {
                    self.backoff = FIRST_BACKOFF;
                    self.last_error = None;
                    self.not_before = (!full).then(|| started + MIN_POLL_GAP);
                }
                Err(e) => {
                    if matches!(e, LinkError::Api { status: 401, .. }) {
                        self.ended = true;
                    }
                    let pause = match &e {
                        LinkError::Unavailable {
                            retry_after: Some(r), ..
                        } => (*r).min(MAX_RETRY_AFTER).max(jittered(self.backoff)),
                        _ => jittered(self.backoff),
                    };
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    self.not_before = Some(Instant::now() + pause);
                    self.last_error = Some(e);
                }
            }
        }
    }

    /// The cursor after the last command returned (or the one resumed from): persist it after handling a command,
    /// and pass it to [`super::LinkBuilder::resume_after`] to go on from there. `None` before any page, unless
    /// resumed.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Why the last poll failed, if it did (cleared by the next that succeeds).
    pub fn last_error(&self) -> Option<&LinkError> {
        self.last_error.as_ref()
    }

    /// Takes a page in, all or nothing: whether it was full (more may follow at once).
    fn apply(&mut self, page: Page) -> Result<bool, LinkError> {
        let invalid = LinkError::InvalidResponse;
        let next_cursor = page.meta.next_cursor;
        if next_cursor.is_empty() || next_cursor.len() > MAX_CURSOR_BYTES {
            return Err(invalid("next_cursor must be 1..=4096 bytes".into()));
        }
        let full = page.data.len() >= PAGE_LIMIT;
        let mut commands = VecDeque::with_capacity(page.data.len());
        for value in page.data {
            if let Some(command) = parse_command(value).map_err(invalid)? {
                commands.push_back(command);
            }
        }
        // Those kicked or whose session ended are gone: no need to renew them, nor to announce them again.
        let shared = &self.link.inner.shared;
        for command in &commands {
            match command {
                Command::Kick { participant_id, .. } => shared.forget([*participant_id], false),
                Command::SessionEnd { session_id, .. } => shared.forget_session(*session_id),
                _ => {}
            }
        }
        if commands.is_empty() {
            self.cursor = Some(next_cursor);
        } else {
            self.page = commands;
            self.page_cursor = Some(next_cursor);
        }
        Ok(full)
    }
}
