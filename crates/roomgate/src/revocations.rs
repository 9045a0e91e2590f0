//! `roomgate tokens revoke` and `roomgate tokens revocations`: taking a room's tokens away, and what has been.
use clap::ArgGroup;
use futures::TryStreamExt;
use roomgate_client::{
    types::{Revocation, RevokeTokensRequest},
    ListRevocationsParams,
};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use crate::{
    client::ClientArgs,
    output::{self, Failure},
};

/// `tokens revoke`: exactly one selector.
#[derive(Debug, clap::Args)]
#[command(group(
    ArgGroup::new("selector")
        .required(true)
        .multiple(false)
        .args(["jti", "identity", "issued_before"])
))]
pub struct RevokeArgs {
    /// The room's id.
    room_id: String,
    /// The one token (access or refresh) with this `jti`, as `tokens decode` shows it.
    #[arg(long, value_name = "UUID")]
    jti: Option<Uuid>,
    /// Every token of this participant issued until now, refreshed ones included; tokens minted for them
    /// afterwards work.
    #[arg(long, value_name = "ID")]
    identity: Option<String>,
    /// Every token of the room issued before this instant, RFC 3339 (e.g. 2026-12-01T15:00:00Z), or `now` (this
    /// machine's clock): everyone out, new tokens still work. The server refuses a time ahead of its own.
    #[arg(long, value_name = "RFC3339|now", value_parser = parse_cut_off)]
    issued_before: Option<CutOff>,
    /// Why, for the record (at most 256 bytes; shown by `tokens revocations` and `tokens introspect`).
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
}

/// `--issued-before`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CutOff {
    /// The moment the command runs.
    Now,
    /// A time as given (already checked to be RFC 3339).
    At(String),
}

fn parse_cut_off(text: &str) -> Result<CutOff, String> {
    if text.eq_ignore_ascii_case("now") {
        return Ok(CutOff::Now);
    }
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|_| CutOff::At(text.to_owned()))
        .map_err(|_| "expected an RFC 3339 date-time such as 2026-12-01T15:00:00Z, or `now`".to_owned())
}

impl RevokeArgs {
    /// The request body, with `now` read at `now_micros` (Unix microseconds).
    fn body(self, now_micros: i64) -> Result<RevokeTokensRequest, Failure> {
        let issued_before = match self.issued_before {
            None => None,
            Some(CutOff::At(text)) => Some(text),
            Some(CutOff::Now) => Some(
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_micros) * 1000)
                    .ok()
                    .and_then(|t| t.format(&Rfc3339).ok())
                    .ok_or_else(|| Failure::other("this machine's clock is out of range"))?,
            ),
        };
        Ok(RevokeTokensRequest {
            jti: self.jti.map(|j| j.to_string()),
            identity: self.identity,
            issued_before,
            reason: self.reason,
        })
    }
}

/// `tokens revocations`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// The room's id.
    room_id: String,
    /// Revocations per request (1..=250; server default 20).
    #[arg(long, value_name = "N")]
    page_size: Option<u32>,
    /// Fetch only this page (1-based) instead of all of them.
    #[arg(long, value_name = "N")]
    page: Option<u64>,
}

/// Runs `tokens revoke`.
pub async fn revoke(conn: &ClientArgs, args: RevokeArgs) -> Result<(), Failure> {
    let room_id = args.room_id.clone();
    let body = args.body(crate::now_micros())?;
    let revocation = conn.client()?.rooms().revoke_tokens(&room_id, &body).await?;
    if conn.json {
        return output::print_json(&revocation);
    }
    print!("{}", details(&revocation));
    Ok(())
}

/// Runs `tokens revocations`: one page if `--page` was given, else every page.
pub async fn list(conn: &ClientArgs, args: ListArgs) -> Result<(), Failure> {
    let client = conn.client()?;
    let mut params = ListRevocationsParams::new();
    params.page_number = args.page;
    params.page_size = args.page_size;
    let found: Vec<Revocation> = if params.page_number.is_some() {
        client
            .rooms()
            .list_revocations(&args.room_id, &params)
            .await?
            .data
    } else {
        client
            .rooms()
            .list_all_revocations(&args.room_id, params)
            .try_collect()
            .await?
    };
    if conn.json {
        return output::print_json(&found);
    }
    if found.is_empty() {
        println!("No revocations.");
    } else {
        print!("{}", table(&found));
    }
    Ok(())
}

/// What a revocation covers, as `selector=value`.
fn selector(r: &Revocation) -> String {
    match (&r.jti, &r.identity, &r.issued_before) {
        (Some(jti), _, _) => format!("jti={jti}"),
        (_, Some(identity), _) => format!("identity={identity}"),
        (_, _, Some(at)) => format!("issued_before={at}"),
        _ => "-".to_owned(),
    }
}

/// A revocation, one field per line, after a line saying what it covers.
fn details(r: &Revocation) -> String {
    let covers = match (&r.jti, &r.identity, &r.issued_before) {
        (Some(_), _, _) => "the token with this jti",
        (_, Some(_), _) => "every token of this participant issued until now",
        (_, _, Some(_)) => "every token of the room issued before this instant",
        _ => "tokens",
    };
    let mut fields = vec![("id", r.id.clone()), ("room_id", r.room_id.clone())];
    for (name, value) in [
        ("jti", &r.jti),
        ("identity", &r.identity),
        ("issued_before", &r.issued_before),
    ] {
        if let Some(value) = value {
            fields.push((name, value.clone()));
        }
    }
    fields.extend([
        ("reason", output::or_dash(r.reason.as_ref())),
        ("created_at", r.created_at.clone()),
        ("expires_at", r.expires_at.clone()),
    ]);
    format!("Revoked {covers}.\n{}", output::fields(&fields))
}

/// Revocations as an aligned table.
fn table(found: &[Revocation]) -> String {
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                selector(r),
                output::or_dash(r.reason.as_ref()),
                r.created_at.clone(),
                r.expires_at.clone(),
            ]
        })
        .collect();
    output::table(&["ID", "REVOKES", "REASON", "CREATED", "EXPIRES"], &rows)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        revoke: RevokeArgs,
    }

    fn body(args: &[&str]) -> Result<serde_json::Value, clap::Error> {
        let cli = Cli::try_parse_from(["x", "ROOM"].iter().chain(args))?;
        // 2025-12-01T15:00:00.25Z
        let body = cli.revoke.body(1_764_601_200_250_000).unwrap();
        Ok(serde_json::to_value(body).unwrap())
    }

    #[test]
    fn exactly_one_selector_is_sent() {
        let jti = "7b61621f-62e0-4aad-ab11-9fd19e272e73";
        assert_eq!(
            body(&["--jti", jti, "--reason", "leaked"]).unwrap(),
            serde_json::json!({"jti": jti, "reason": "leaked"})
        );
        assert_eq!(
            body(&["--identity", "alice"]).unwrap(),
            serde_json::json!({"identity": "alice"})
        );
        assert_eq!(
            body(&["--issued-before", "2026-01-01T00:00:00Z"]).unwrap(),
            serde_json::json!({"issued_before": "2026-01-01T00:00:00Z"})
        );
        assert_eq!(
            body(&["--issued-before", "now"]).unwrap(),
            serde_json::json!({"issued_before": "2025-12-01T15:00:00.25Z"})
        );
        use clap::error::ErrorKind;
        let kind = |args: &[&str]| body(args).unwrap_err().kind();
        assert_eq!(kind(&[]), ErrorKind::MissingRequiredArgument);
        assert_eq!(
            kind(&["--jti", jti, "--identity", "a"]),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(kind(&["--jti", "nope"]), ErrorKind::ValueValidation);
        assert_eq!(
            kind(&["--issued-before", "yesterday"]),
            ErrorKind::ValueValidation
        );
    }

    #[test]
    fn revocations_read_as_what_they_cover() {
        let r = Revocation {
            record_type: "revocation".into(),
            id: "r1".into(),
            room_id: "room".into(),
            jti: None,
            identity: Some("alice".into()),
            issued_before: None,
            reason: None,
            created_at: "2026-12-01T15:00:00.000000Z".into(),
            expires_at: "2026-12-02T15:01:01.000000Z".into(),
        };
        let text = details(&r);
        assert!(
            text.starts_with("Revoked every token of this participant issued until now.\nid "),
            "{text}"
        );
        assert!(text.contains("identity    alice\nreason      -\n"), "{text}");
        assert_eq!(
            table(&[r]),
            "ID  REVOKES         REASON  CREATED                      EXPIRES\n\
             r1  identity=alice  -       2026-12-01T15:00:00.000000Z  2026-12-02T15:01:01.000000Z\n"
        );
    }
}
