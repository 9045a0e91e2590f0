//! What the API commands print, and how they exit.
use std::process::ExitCode;

use roomgate_client::Error as ApiError;

/// The exit codes of `rooms` and `tokens`, for `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  any other failure: bad input, missing API key, a token that does not verify
  2  usage error (unknown option, missing argument)
  3  the server refused the request (HTTP 4xx: not found, invalid value, bad API key...)
  4  the server failed or could not be reached (HTTP 5xx, connection refused, timeout)

Errors are printed to stderr with the Telnyx error's title and detail.";

/// How a command ended; see [`EXIT_CODES_HELP`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Any other failure.
    Other = 1,
    /// The server refused the request (4xx).
    Rejected = 3,
    /// The server failed or was unreachable.
    Unavailable = 4,
}

/// A failed command: what to tell the user, and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// One line (or a few) for stderr.
    pub message: String,
}

impl Failure {
    /// A failure with exit code 1.
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Other,
            message: message.into(),
        }
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        let exit = match &e {
            ApiError::Api { status, .. } if status.is_client_error() => Exit::Rejected,
            ApiError::Api { .. } | ApiError::Transport(_) | ApiError::Decode { .. } => Exit::Unavailable,
            _ => Exit::Other,
        };
        let message = match &e {
            ApiError::Api { status, error } => {
                let mut context = vec![format!("HTTP {}", status.as_u16())];
                if !error.code.is_empty() {
                    context.push(format!("code {}", error.code));
                }
                if let Some(source) = &error.source {
                    if let Some(at) = source.pointer.as_deref().or(source.parameter.as_deref()) {
                        context.push(format!("at {at}"));
                    }
                }
                let detail = error
                    .detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                format!("{}{detail} ({})", error.title, context.join(", "))
            }
            ApiError::MissingApiKey => "no API key: pass --api-key or set ROOMGATE_API_KEY".to_owned(),
            // reqwest's own message is terse ("error sending request"); its causes say what happened.
            other => chain(other),
        };
        Self { exit, message }
    }
}

/// An error and its causes, `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// Prints the outcome of a command and turns it into the process's exit code.
pub fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.exit as u8)
        }
    }
}

/// Prints a value as pretty JSON.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::other(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// `name  value` lines with the values aligned.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs.iter().map(|(k, v)| format!("{k:<width$}  {v}\n")).collect()
}

/// A table: a header row and the rows, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// An optional value, or `-`.
pub fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Unix seconds as RFC 3339 UTC, or the number itself if it is out of range.
pub fn absolute_time(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}

/// When an expiry `exp` is, seen from `now` (both Unix seconds): `in 9m 58s` or `expired 3m ago`.
///
/// A token is valid while `now < exp`, so `exp == now` has just expired.
pub fn relative_expiry(exp: i64, now: i64) -> String {
    let diff = i128::from(exp) - i128::from(now);
    if diff > 0 {
        format!("in {}", span(diff.unsigned_abs()))
    } else if diff == 0 {
        "expired just now".to_owned()
    } else {
        format!("expired {} ago", span(diff.unsigned_abs()))
    }
}

/// A span of seconds in its two largest units, the second left out when zero: `1d 3h`, `9m 58s`, `3m`.
fn span(secs: u128) -> String {
    let units = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)];
    let Some(first) = units.iter().position(|(_, size)| secs >= *size) else {
        return "0s".to_owned();
    };
    let (name, size) = units[first];
    let mut out = format!("{}{name}", secs / size);
    if let Some((next, next_size)) = units.get(first + 1) {
        let rest = secs % size / next_size;
        if rest > 0 {
            out.push_str(&format!(" {rest}{next}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn relative_expiry_reads_naturally() {
        assert_eq!(relative_expiry(NOW + 598, NOW), "in 9m 58s");
        assert_eq!(relative_expiry(NOW - 180, NOW), "expired 3m ago");
        assert_eq!(relative_expiry(NOW - 181, NOW), "expired 3m 1s ago");
        assert_eq!(relative_expiry(NOW + 1, NOW), "in 1s");
        assert_eq!(relative_expiry(NOW, NOW), "expired just now");
        assert_eq!(relative_expiry(NOW + 3_600, NOW), "in 1h");
        assert_eq!(relative_expiry(NOW + 3_725, NOW), "in 1h 2m");
        assert_eq!(relative_expiry(NOW + 86_400 + 3 * 3_600 + 59, NOW), "in 1d 3h");
        assert_eq!(relative_expiry(NOW - 2 * 86_400, NOW), "expired 2d ago");
        assert_eq!(relative_expiry(i64::MAX, i64::MIN), "in 213503982334601d 7h");
    }

    #[test]
    fn absolute_time_is_rfc3339_utc() {
        assert_eq!(absolute_time(NOW), "2023-11-14T22:13:20Z");
        assert_eq!(absolute_time(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn tables_align_columns_and_trim_line_ends() {
        let rows = vec![
            vec!["a".to_owned(), "long value".to_owned(), "x".to_owned()],
            vec!["bbbb".to_owned(), "v".to_owned(), String::new()],
        ];
        assert_eq!(
            table(&["ID", "NAME", "Z"], &rows),
            "ID    NAME        Z\na     long value  x\nbbbb  v\n"
        );
        assert_eq!(
            fields(&[("id", "1".into()), ("name", "n".into())]),
            "id    1\nname  n\n"
        );
    }

    #[test]
    fn api_errors_map_to_exit_codes_and_telnyx_text() {
        let body = br#"{"errors":[{"code":"10033","title":"Value outside of range","detail":"max_participants must be between 2 and 50.","source":{"pointer":"/max_participants"}}]}"#;
        let status = roomgate_client::StatusCode::UNPROCESSABLE_ENTITY;
        let failure = Failure::from(api_error(status, body));
        assert_eq!(failure.exit, Exit::Rejected);
        assert_eq!(
            failure.message,
            "Value outside of range: max_participants must be between 2 and 50. (HTTP 422, code 10033, at /max_participants)"
        );
        let status = roomgate_client::StatusCode::SERVICE_UNAVAILABLE;
        assert_eq!(Failure::from(api_error(status, b"")).exit, Exit::Unavailable);
        let missing = Failure::from(ApiError::MissingApiKey);
        assert_eq!(missing.exit, Exit::Other);
        assert!(missing.message.contains("--api-key"));
    }

    /// An API error as the client makes it from a response.
    fn api_error(status: roomgate_client::StatusCode, body: &[u8]) -> ApiError {
        let error = serde_json::from_slice::<roomgate_client::types::ErrorBody>(body)
            .map(|b| b.errors[0].clone())
            .unwrap_or_else(|_| roomgate_client::types::ErrorObject {
                code: String::new(),
                title: "x".into(),
                detail: None,
                source: None,
                meta: None,
            });
        ApiError::Api {
            status,
            error: Box::new(error),
        }
    }
}
