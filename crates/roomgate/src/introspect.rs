//! `roomgate tokens introspect`: ask the server whether a token is active now and, if not, why.
use roomgate_client::types::{self, InactiveReason, Introspection};
use roomgate_token::{Permissions, Source, Sources};

use crate::{
    client::ClientArgs,
    output::{self, Failure},
    tokens::{describe_permissions, secret_arg, Secret},
};

/// `tokens introspect`.
#[derive(Debug, clap::Args)]
pub struct IntrospectArgs {
    /// The access or refresh token, or `-` to read it from stdin.
    token: Secret,
}

/// Runs `tokens introspect`: prints the answer (or with `--json` the raw `data`), and fails with exit code 1 when
/// the token is not active.
pub async fn run(conn: &ClientArgs, args: IntrospectArgs) -> Result<(), Failure> {
    let token = secret_arg(args.token)?;
    let seen = conn.client()?.introspect(&token).await?;
    if conn.json {
        output::print_json(&seen)?;
    } else {
        print!("{}", describe(&seen, crate::now_secs()));
    }
    if seen.active {
        return Ok(());
    }
    Err(Failure::other(refusal(&seen)))
}

/// The one line for stderr when the token is not active.
fn refusal(seen: &Introspection) -> String {
    match (seen.reason, seen.detail.as_deref()) {
        (Some(reason), Some(detail)) => format!("token not active: {}: {detail}", reason_name(reason)),
        (Some(reason), None) => format!("token not active: {}", reason_name(reason)),
        (None, _) => {
            "token not active (the server says nothing more: it does not decode, or its room is not \
            this API key's account's)"
                .to_owned()
        }
    }
}

/// The reason as the API spells it (`not_yet_valid`).
fn reason_name(reason: InactiveReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{reason:?}"))
}

/// The answer for people: a headline, then why (when inactive) and what the token is. Times are read against the
/// server's clock when it sent one, else `local_now`.
fn describe(seen: &Introspection, local_now: i64) -> String {
    let kind = seen.typ.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
    let mut out = if seen.active {
        format!("Active{kind} token.\n")
    } else {
        let why = seen
            .reason
            .map(|r| format!(": {}", reason_name(r)))
            .unwrap_or_default();
        format!("Inactive{kind} token{why}.\n")
    };
    let now = seen.server_time.unwrap_or(local_now);
    let mut fields: Vec<(&str, String)> = Vec::new();
    if let Some(detail) = &seen.detail {
        fields.push(("detail", detail.clone()));
    }
    if let Some(by) = &seen.revocation {
        let reason = by
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        fields.push(("revoked_by", format!("{}{reason}", by.id)));
    }
    let text = |v: &Option<String>| output::or_dash(v.as_ref());
    if seen.room_id.is_some() {
        fields.extend([
            ("room", text(&seen.room_id)),
            ("identity", text(&seen.identity)),
            ("name", text(&seen.name)),
        ]);
        if let Some(p) = &seen.permissions {
            fields.push(("permissions", describe_permissions(&resolved(p))));
        }
        fields.extend([("jti", text(&seen.jti)), ("kid", text(&seen.kid))]);
    }
    let time = |secs: Option<i64>| secs.map(output::absolute_time);
    if let Some(iat) = time(seen.iat) {
        fields.push(("issued_at", iat));
    }
    if let Some(nbf) = time(seen.nbf) {
        fields.push(("not_before", nbf));
    }
    if let Some(exp) = seen.exp {
        let when = format!(
            "{} ({})",
            output::absolute_time(exp),
            output::relative_expiry(exp, now)
        );
        fields.push(("expires_at", when));
    }
    if let Some(server) = time(seen.server_time) {
        fields.push(("server_time", server));
    }
    out.push_str(&output::fields(&fields));
    out
}

/// The permissions as the token's verifier applies them: each member given, the default for each one absent.
fn resolved(p: &types::Permissions) -> Permissions {
    let d = Permissions::V1;
    let sources = p.can_publish_sources.as_ref().map(|list| {
        let mut set = Sources::NONE;
        for s in list {
            set.insert(match s {
                types::Source::Camera => Source::Camera,
                types::Source::Microphone => Source::Microphone,
                types::Source::ScreenShare => Source::ScreenShare,
                types::Source::ScreenShareAudio => Source::ScreenShareAudio,
            });
        }
        set
    });
    Permissions {
        can_publish: p.can_publish.unwrap_or(d.can_publish),
        can_publish_sources: sources.unwrap_or(d.can_publish_sources),
        can_subscribe: p.can_subscribe.unwrap_or(d.can_subscribe),
        can_publish_data: p.can_publish_data.unwrap_or(d.can_publish_data),
        can_update_metadata: p.can_update_metadata.unwrap_or(d.can_update_metadata),
        hidden: p.hidden.unwrap_or(d.hidden),
        recorder: p.recorder.unwrap_or(d.recorder),
        room_admin: p.room_admin.unwrap_or(d.room_admin),
    }
}

#[cfg(test)]
mod tests {
    use roomgate_client::types::RevocationRef;

    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn alice() -> Introspection {
        Introspection {
            active: true,
            typ: Some("access".into()),
            room_id: Some("r".into()),
            identity: Some("alice".into()),
            permissions: Some(types::Permissions {
                can_publish_sources: Some(vec![types::Source::Camera]),
                room_admin: Some(true),
                ..Default::default()
            }),
            jti: Some("j".into()),
            kid: Some("k".into()),
            iat: Some(NOW - 2),
            nbf: Some(NOW - 3),
            exp: Some(NOW + 598),
            expires_in: Some(598),
            server_time: Some(NOW),
            ..Default::default()
        }
    }

    #[test]
    fn active_tokens_show_who_what_and_when() {
        assert_eq!(
            describe(&alice(), 0),
            "Active access token.\n\
             room         r\n\
             identity     alice\n\
             name         -\n\
             permissions  join, publish camera, subscribe, publish data, admin\n\
             jti          j\n\
             kid          k\n\
             issued_at    2023-11-14T22:13:18Z\n\
             not_before   2023-11-14T22:13:17Z\n\
             expires_at   2023-11-14T22:23:18Z (in 9m 58s)\n\
             server_time  2023-11-14T22:13:20Z\n"
        );
    }

    #[test]
    fn inactive_tokens_say_why_first() {
        let revoked = Introspection {
            active: false,
            reason: Some(InactiveReason::Revoked),
            revocation: Some(RevocationRef {
                id: "rev".into(),
                reason: Some("kicked".into()),
            }),
            detail: Some("revoked by rev".into()),
            ..alice()
        };
        let text = describe(&revoked, 0);
        assert!(
            text.starts_with(
                "Inactive access token: revoked.\ndetail       revoked by rev\nrevoked_by   rev (kicked)\n"
            ),
            "{text}"
        );
        assert_eq!(refusal(&revoked), "token not active: revoked: revoked by rev");
        let skewed = Introspection {
            reason: Some(InactiveReason::NotYetValid),
            detail: None,
            ..revoked
        };
        assert_eq!(refusal(&skewed), "token not active: not_yet_valid");

        let opaque = Introspection::default();
        assert_eq!(describe(&opaque, NOW), "Inactive token.\n");
        assert!(refusal(&opaque).contains("says nothing more"));
    }
}
