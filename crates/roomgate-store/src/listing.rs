//! How both backends read a page of an account's rooms without a cost that grows with the account.
//!
//! - The total comes from `accounts.room_count` (kept by triggers in the inserting or deleting transaction)
//!   when no filter is given; from the matching rows themselves for `unique_name` (at most one); and from an
//!   index-only range count for date filters (cost: the rooms in the range, not the account).
//! - Only the filters given become conditions, so each query names exactly the index that serves it (a
//!   `?2 IS NULL OR unique_name = ?2` disjunction keeps every planner from using the unique index).
//! - A page nearer the end than the start is read from the other end of the index, since the total is known
//!   exactly: skipping costs `min(offset, total - offset)` index entries.
use uuid::Uuid;

use crate::{
    rows::{room, Columns},
    sql::{int, Statement},
    Result, RoomFilter, RoomRecord,
};

/// A room's columns, in the order both backends read and write them.
pub(crate) const ROOM_COLUMNS: &str =
    "id, account_id, unique_name, max_participants, enable_recording, webhook_event_url, \
     webhook_event_failover_url, webhook_timeout_secs, created_at, updated_at";

/// A room's columns as read: [`ROOM_COLUMNS`] and its active session (one probe of `room_sessions_active`).
pub(crate) const ROOM_SELECT: &str =
    "id, account_id, unique_name, max_participants, enable_recording, webhook_event_url, \
     webhook_event_failover_url, webhook_timeout_secs, created_at, updated_at, \
     (SELECT s.id FROM room_sessions s WHERE s.room_id = rooms.id AND s.ended_at IS NULL) AS active_session_id";

/// The account's room counter: `$1` account.
const ROOM_COUNT: &str = "SELECT room_count FROM accounts WHERE id = $1";

/// A value bound after the account id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Bind {
    /// A text parameter.
    Text(String),
    /// An integer parameter.
    Int(i64),
}

/// The conditions a filter adds to `account_id = <1>`, and their values, numbered from 2.
#[derive(Clone, Debug)]
pub(crate) struct Conditions {
    /// `" AND unique_name = ?2 AND created_at >= ?3"`, or empty.
    pub sql: String,
    /// Bound in order after the account id.
    pub binds: Vec<Bind>,
    placeholder: fn(usize) -> String,
}

impl Conditions {
    /// The conditions of `filter`, with placeholders written by `placeholder(n)` (`?n` or `$n`).
    pub fn of(filter: &RoomFilter, placeholder: fn(usize) -> String) -> Self {
        let mut out = Self {
            sql: String::new(),
            binds: Vec::new(),
            placeholder,
        };
        if let Some(name) = &filter.unique_name {
            out.push("unique_name =", Bind::Text(name.clone()));
        }
        let bounds = [
            ("created_at >=", filter.created_from),
            ("created_at <", filter.created_until),
            ("updated_at >=", filter.updated_from),
            ("updated_at <", filter.updated_until),
        ];
        for (condition, bound) in bounds {
            if let Some(value) = bound {
                out.push(condition, Bind::Int(value));
            }
        }
        out
    }

    fn push(&mut self, condition: &str, bind: Bind) {
        self.binds.push(bind);
        let n = self.binds.len() + 1;
        self.sql
            .push_str(&format!(" AND {condition} {}", (self.placeholder)(n)));
    }

    /// The placeholder number after the conditions' (for `LIMIT` and `OFFSET`).
    pub fn next(&self) -> usize {
        self.binds.len() + 2
    }

    /// Every matching room, whole ([`TotalFrom::Rows`]): at most one, so in no particular order.
    pub fn rows_sql(&self) -> String {
        format!(
            "SELECT {ROOM_SELECT} FROM rooms WHERE account_id = {}{}",
            (self.placeholder)(1),
            self.sql
        )
    }

    /// The number of matching rooms ([`TotalFrom::Count`]).
    pub fn count_sql(&self) -> String {
        format!(
            "SELECT COUNT(*) FROM rooms WHERE account_id = {}{}",
            (self.placeholder)(1),
            self.sql
        )
    }

    /// One window of matching rooms, binding limit and offset after the conditions. The offset is skipped in
    /// the (account_id, created_at, id) index alone, naming rows by `key` (`rowid`, `id`); only the window's
    /// rows are then read from the table.
    pub fn page_sql(&self, window: &Window, key: &str) -> String {
        let p = self.placeholder;
        let n = self.next();
        let order = window.order();
        format!(
            "SELECT {ROOM_SELECT} FROM rooms WHERE {key} IN (SELECT {key} FROM rooms WHERE account_id = {}{} \
             {order} LIMIT {} OFFSET {}) {order}",
            p(1),
            self.sql,
            p(n),
            p(n + 1)
        )
    }
}

/// Where the total of a listing comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TotalFrom {
    /// The account's counter: no filter.
    Counter,
    /// The matching rows, read whole (a unique name matches at most one room).
    Rows,
    /// `COUNT(*)` over the filter's index range.
    Count,
}

impl TotalFrom {
    /// Where the total of `filter` comes from.
    pub fn of(filter: &RoomFilter) -> Self {
        if filter.unique_name.is_some() {
            Self::Rows
        } else if *filter == RoomFilter::default() {
            Self::Counter
        } else {
            Self::Count
        }
    }
}

/// The rows of a page, in index terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Read oldest first (from the end of the newest-first order), then reverse.
    pub from_end: bool,
    /// Rows to read.
    pub limit: u64,
    /// Rows to skip in the direction read.
    pub offset: u64,
}

impl Window {
    /// The cheaper way to read rows `offset..offset + limit` (newest first) of `total`; `None` if the page is
    /// past the end.
    pub fn of(total: u64, limit: u32, offset: u64) -> Option<Self> {
        if offset >= total || limit == 0 {
            return None;
        }
        let limit = u64::from(limit).min(total - offset);
        let after = total - offset - limit;
        Some(if after < offset {
            Self {
                from_end: true,
                limit,
                offset: after,
            }
        } else {
            Self {
                from_end: false,
                limit,
                offset,
            }
        })
    }

    /// `ORDER BY` of the rows read.
    pub fn order(&self) -> &'static str {
        if self.from_end {
            "ORDER BY created_at ASC, id ASC"
        } else {
            "ORDER BY created_at DESC, id DESC"
        }
    }
}

/// The first statement of a listing: the matching rows themselves, or the count the total comes from.
pub(crate) fn listing_total(
    account_id: Uuid,
    conditions: &Conditions,
    filter: &RoomFilter,
) -> (TotalFrom, Statement) {
    let from = TotalFrom::of(filter);
    let sql = match from {
        TotalFrom::Rows => conditions.rows_sql(),
        TotalFrom::Counter => return (from, Statement::new(ROOM_COUNT).bind(account_id)),
        TotalFrom::Count => conditions.count_sql(),
    };
    (from, listing_statement(sql, account_id, conditions))
}

/// A window of a listing; `key` names rows in the index (`rowid`, `id`).
pub(crate) fn listing_page(
    account_id: Uuid,
    conditions: &Conditions,
    window: &Window,
    key: &str,
) -> Statement {
    listing_statement(conditions.page_sql(window, key), account_id, conditions)
        .bind(int(window.limit))
        .bind(int(window.offset))
}

fn listing_statement(sql: String, account_id: Uuid, conditions: &Conditions) -> Statement {
    let mut statement = Statement::new(sql).bind(account_id);
    for value in &conditions.binds {
        statement = match value {
            Bind::Text(text) => statement.bind(text.as_str()),
            Bind::Int(int) => statement.bind(*int),
        };
    }
    statement
}

/// The page of a listing whose total came from its rows ([`TotalFrom::Rows`]).
pub(crate) fn rows_page<R: Columns>(rows: &[R], limit: u32, offset: u64) -> Result<(Vec<RoomRecord>, u64)> {
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let page = rows.iter().skip(skip).take(limit as usize).map(room);
    Ok((page.collect::<Result<_>>()?, rows.len() as u64))
}

/// A window's rows, newest first.
pub(crate) fn window_page<R: Columns>(rows: &[R], window: &Window) -> Result<Vec<RoomRecord>> {
    let mut page = rows.iter().map(room).collect::<Result<Vec<_>>>()?;
    if window.from_end {
        page.reverse();
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: usize) -> String {
        format!("?{n}")
    }

    #[test]
    fn only_given_filters_become_conditions() {
        let none = Conditions::of(&RoomFilter::default(), q);
        assert_eq!((none.sql.as_str(), none.next()), ("", 2));
        let some = Conditions::of(
            &RoomFilter {
                unique_name: Some("a".into()),
                updated_until: Some(5),
                ..RoomFilter::default()
            },
            q,
        );
        assert_eq!(some.sql, " AND unique_name = ?2 AND updated_at < ?3");
        assert_eq!(some.binds, [Bind::Text("a".into()), Bind::Int(5)]);
        assert_eq!(some.next(), 4);
    }

    #[test]
    fn totals_come_from_the_cheapest_exact_source() {
        assert_eq!(TotalFrom::of(&RoomFilter::default()), TotalFrom::Counter);
        let named = RoomFilter {
            unique_name: Some("a".into()),
            created_from: Some(1),
            ..RoomFilter::default()
        };
        assert_eq!(TotalFrom::of(&named), TotalFrom::Rows);
        let dated = RoomFilter {
            created_from: Some(1),
            ..RoomFilter::default()
        };
        assert_eq!(TotalFrom::of(&dated), TotalFrom::Count);
    }

    #[test]
    fn pages_are_read_from_the_nearer_end() {
        // 10 rooms, pages of 3: 0..3 from the start, 9..10 from the end (skip nothing), 6..9 from the end.
        let w = |offset| Window::of(10, 3, offset);
        assert_eq!(
            w(0),
            Some(Window {
                from_end: false,
                limit: 3,
                offset: 0
            })
        );
        assert_eq!(
            w(3),
            Some(Window {
                from_end: false,
                limit: 3,
                offset: 3
            })
        );
        assert_eq!(
            w(6),
            Some(Window {
                from_end: true,
                limit: 3,
                offset: 1
            })
        );
        assert_eq!(
            w(9),
            Some(Window {
                from_end: true,
                limit: 1,
                offset: 0
            })
        );
        assert_eq!(w(10), None);
        assert_eq!(Window::of(0, 20, 0), None);
    }
}
