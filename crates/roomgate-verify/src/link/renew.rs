//! Lease renewal: every interval, all tracked participants in chunks; those roomgate says are gone are dropped
//! and handed to the feed as [`super::Command::Gone`].

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;
use uuid::Uuid;

use super::{http::PAGE_LIMIT, lock, Shared};
use crate::{http::jittered, LinkError};

/// First pause after a failed renewal; it doubles up to the renewal interval.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

impl Shared {
    /// One renewal of every tracked participant, in chunks of the most roomgate takes at once.
    pub(super) async fn renew_all(&self) -> Result<(), LinkError> {
        let ids: Vec<Uuid> = lock(&self.tracked).keys().copied().collect();
        let mut outcome = Ok(());
        for chunk in ids.chunks(PAGE_LIMIT) {
            match self.api.renew(chunk).await {
                Ok(renewal) => {
                    // Only ids asked about: a broken answer must not drop others.
                    let gone = renewal.gone.into_iter().filter(|id| chunk.contains(id));
                    self.forget(gone, true);
                    lock(&self.renewals).renewals_ok += 1;
                }
                Err(e) => {
                    let mut stats = lock(&self.renewals);
                    stats.renewals_failed += 1;
                    stats.last_error = Some(e.clone());
                    // Later chunks are still tried: their leases run out all the same.
                    outcome = Err(e);
                }
            }
        }
        if outcome.is_ok() {
            lock(&self.renewals).last_error = None;
        }
        outcome
    }
}

/// The renewal task: renew, wait an interval (less after a failure), again; ends when `stop`'s sender is dropped.
pub(super) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<()>) {
    let mut backoff = FIRST_BACKOFF;
    let mut pause = shared.renew_interval();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            // A lease learned: the interval may be shorter than the one being waited out.
            () = shared.lease_learned.notified() => {
                pause = shared.renew_interval();
                continue;
            }
            () = tokio::time::sleep(pause) => {}
        }
        let outcome = tokio::select! {
            _ = stop.changed() => return,
            outcome = shared.renew_all() => outcome,
        };
        let interval = shared.renew_interval();
        pause = match outcome {
            Ok(()) => {
                backoff = FIRST_BACKOFF;
                interval
            }
            Err(e) => {
                let retry = match e {
                    LinkError::Unavailable {
                        retry_after: Some(r), ..
                    } => r.max(jittered(backoff)),
                    _ => jittered(backoff),
                };
                backoff = (backoff * 2).min(interval);
                // A lease waits for no one: never pause longer than an interval.
                retry.min(interval)
            }
        };
    }
}
