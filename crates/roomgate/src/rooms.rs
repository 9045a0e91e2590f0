//! `roomgate rooms`: create, list, get, update and delete rooms through the API.
use std::process::ExitCode;

use clap::Subcommand;
use futures::TryStreamExt;
use roomgate_client::{
    types::{CreateRoomRequest, Room, UpdateRoomRequest},
    Client, ListRoomsParams,
};

use crate::{
    client::ClientArgs,
    output::{self, Failure},
};

/// `roomgate rooms ...`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = output::EXIT_CODES_HELP)]
pub struct RoomsArgs {
    #[command(flatten)]
    conn: ClientArgs,
    #[command(subcommand)]
    command: RoomsCommand,
}

#[derive(Debug, Subcommand)]
enum RoomsCommand {
    /// Create a room.
    Create(RoomFields),
    /// List rooms, newest first: every page, or only the one --page names.
    List(ListArgs),
    /// Show one room.
    Get {
        /// The room's id.
        #[arg(value_name = "ROOM_ID")]
        id: String,
    },
    /// Change a room: only the options given change.
    Update {
        /// The room's id.
        #[arg(value_name = "ROOM_ID")]
        id: String,
        #[command(flatten)]
        fields: RoomFields,
        /// Remove an optional field (repeatable).
        #[arg(long, value_enum, value_name = "FIELD")]
        clear: Vec<Clearable>,
    },
    /// Delete a room.
    Delete {
        /// The room's id.
        #[arg(value_name = "ROOM_ID")]
        id: String,
    },
}

/// The settable fields of a room.
#[derive(Debug, clap::Args)]
struct RoomFields {
    /// A name unique within the account.
    #[arg(long)]
    unique_name: Option<String>,
    /// Most participants at once (2..=50; default 10).
    #[arg(long, value_name = "N")]
    max_participants: Option<u32>,
    /// Record sessions.
    #[arg(long, value_name = "BOOL")]
    enable_recording: Option<bool>,
    /// URL that receives the room's webhooks.
    #[arg(long, value_name = "URL")]
    webhook_event_url: Option<String>,
    /// Fallback URL for webhooks.
    #[arg(long, value_name = "URL")]
    webhook_event_failover_url: Option<String>,
    /// Webhook timeout (1..=30 seconds).
    #[arg(long, value_name = "SECS")]
    webhook_timeout_secs: Option<u32>,
}

/// The optional fields of a room that `rooms update --clear` removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
enum Clearable {
    UniqueName,
    WebhookEventUrl,
    WebhookEventFailoverUrl,
    WebhookTimeoutSecs,
}

/// The patch: the options given are set, the fields named by `--clear` are sent as null.
fn patch(f: RoomFields, clear: &[Clearable]) -> Result<UpdateRoomRequest, Failure> {
    fn field<T>(value: Option<T>, cleared: bool, name: &str) -> Result<Option<Option<T>>, Failure> {
        match (value, cleared) {
            (Some(_), true) => Err(Failure::other(format!(
                "--{} and --clear {name} contradict each other",
                name.replace('_', "-")
            ))),
            (Some(v), false) => Ok(Some(Some(v))),
            (None, true) => Ok(Some(None)),
            (None, false) => Ok(None),
        }
    }
    let cleared = |c| clear.contains(&c);
    Ok(UpdateRoomRequest {
        unique_name: field(f.unique_name, cleared(Clearable::UniqueName), "unique_name")?,
        max_participants: f.max_participants,
        enable_recording: f.enable_recording,
        webhook_event_url: field(
            f.webhook_event_url,
            cleared(Clearable::WebhookEventUrl),
            "webhook_event_url",
        )?,
        webhook_event_failover_url: field(
            f.webhook_event_failover_url,
            cleared(Clearable::WebhookEventFailoverUrl),
            "webhook_event_failover_url",
        )?,
        webhook_timeout_secs: field(
            f.webhook_timeout_secs,
            cleared(Clearable::WebhookTimeoutSecs),
            "webhook_timeout_secs",
        )?,
    })
}

impl From<RoomFields> for CreateRoomRequest {
    fn from(f: RoomFields) -> Self {
        CreateRoomRequest {
            unique_name: f.unique_name,
            max_participants: f.max_participants,
            enable_recording: f.enable_recording,
            webhook_event_url: f.webhook_event_url,
            webhook_event_failover_url: f.webhook_event_failover_url,
            webhook_timeout_secs: f.webhook_timeout_secs,
        }
    }
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Rooms per request (1..=250; server default 20).
    #[arg(long, value_name = "N")]
    page_size: Option<u32>,
    /// Fetch only this page (1-based) instead of all of them.
    #[arg(long, value_name = "N")]
    page: Option<u64>,
    /// Only the room with this unique name.
    #[arg(long)]
    unique_name: Option<String>,
    /// Only rooms created on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    created_since: Option<String>,
    /// Only rooms created on or before this day.
    #[arg(long, value_name = "DATE")]
    created_until: Option<String>,
    /// Only rooms last updated on or after this day.
    #[arg(long, value_name = "DATE")]
    updated_since: Option<String>,
    /// Only rooms last updated on or before this day.
    #[arg(long, value_name = "DATE")]
    updated_until: Option<String>,
}

impl ListArgs {
    fn params(&self) -> ListRoomsParams {
        let mut p = ListRoomsParams::new();
        p.page_number = self.page;
        p.page_size = self.page_size;
        p.unique_name.clone_from(&self.unique_name);
        p.date_created_at.gte.clone_from(&self.created_since);
        p.date_created_at.lte.clone_from(&self.created_until);
        p.date_updated_at.gte.clone_from(&self.updated_since);
        p.date_updated_at.lte.clone_from(&self.updated_until);
        p
    }
}

/// Runs a `rooms` subcommand; the exit code follows [`output::EXIT_CODES_HELP`].
pub async fn run(args: RoomsArgs) -> ExitCode {
    output::finish(execute(args).await)
}

async fn execute(RoomsArgs { conn, command }: RoomsArgs) -> Result<(), Failure> {
    let client = conn.client()?;
    let rooms = client.rooms();
    match command {
        RoomsCommand::Create(fields) => show(&rooms.create(&fields.into()).await?, conn.json),
        RoomsCommand::Get { id } => show(&rooms.retrieve(&id).await?, conn.json),
        RoomsCommand::Update { id, fields, clear } => {
            show(&rooms.update(&id, &patch(fields, &clear)?).await?, conn.json)
        }
        RoomsCommand::Delete { id } => {
            rooms.delete(&id).await?;
            if !conn.json {
                println!("Deleted room {id}.");
            }
            Ok(())
        }
        RoomsCommand::List(list) => {
            let found = fetch(&client, &list).await?;
            if conn.json {
                return output::print_json(&found);
            }
            if found.is_empty() {
                println!("No rooms.");
            } else {
                print!("{}", table(&found));
            }
            Ok(())
        }
    }
}

/// One page if `--page` was given, else every page.
async fn fetch(client: &Client, list: &ListArgs) -> Result<Vec<Room>, Failure> {
    let params = list.params();
    if params.page_number.is_some() {
        return Ok(client.rooms().list_page(&params).await?.data);
    }
    Ok(client.rooms().list(params).try_collect().await?)
}

fn show(room: &Room, json: bool) -> Result<(), Failure> {
    if json {
        return output::print_json(room);
    }
    print!("{}", details(room));
    Ok(())
}

/// Every field of a room, one per line.
fn details(room: &Room) -> String {
    output::fields(&[
        ("id", room.id.clone()),
        ("unique_name", output::or_dash(room.unique_name.as_ref())),
        ("max_participants", room.max_participants.to_string()),
        ("enable_recording", room.enable_recording.to_string()),
        (
            "webhook_event_url",
            output::or_dash(room.webhook_event_url.as_ref()),
        ),
        (
            "webhook_event_failover_url",
            output::or_dash(room.webhook_event_failover_url.as_ref()),
        ),
        ("webhook_timeout_secs", output::or_dash(room.webhook_timeout_secs)),
        (
            "active_session_id",
            output::or_dash(room.active_session_id.as_ref()),
        ),
        ("created_at", room.created_at.clone()),
        ("updated_at", room.updated_at.clone()),
    ])
}

/// Rooms as an aligned table.
fn table(rooms: &[Room]) -> String {
    let rows: Vec<Vec<String>> = rooms
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                output::or_dash(r.unique_name.as_ref()),
                r.max_participants.to_string(),
                if r.enable_recording { "yes" } else { "no" }.to_owned(),
                r.created_at.clone(),
            ]
        })
        .collect();
    output::table(&["ID", "UNIQUE NAME", "MAX", "RECORDING", "CREATED"], &rows)
}
