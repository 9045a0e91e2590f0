//! Walking a paged list (`page[number]` until `meta.total_pages`) as one stream.
use std::{collections::VecDeque, future::Future};

use futures::Stream;
use roomgate_types::Page;

use crate::Error;

/// Every item of pages `first`, `first + 1`, … fetched with `fetch(number)` until `meta.total_pages`. The stream
/// ends after the first error it yields.
pub(crate) fn walk<T, F, Fut>(first: u64, fetch: F) -> impl Stream<Item = Result<T, Error>> + Send + 'static
where
    T: Send + 'static,
    F: FnMut(u64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T>, Error>> + Send,
{
    let start = Walk {
        fetch,
        next_page: Some(first),
        buffer: VecDeque::new(),
    };
    futures::stream::try_unfold(start, |mut walk| async move {
        loop {
            if let Some(item) = walk.buffer.pop_front() {
                return Ok(Some((item, walk)));
            }
            let Some(number) = walk.next_page else {
                return Ok(None);
            };
            let page = (walk.fetch)(number).await?;
            // An empty page also ends the walk, so a server with a wrong total cannot loop us forever.
            walk.next_page = (number < page.meta.total_pages && !page.data.is_empty()).then_some(number + 1);
            walk.buffer = page.data.into();
        }
    })
}

/// Where a [`walk`] stands.
struct Walk<T, F> {
    fetch: F,
    next_page: Option<u64>,
    buffer: VecDeque<T>,
}
