//! Who a token is for and what it allows (grants version 2), encoded in Telnyx's grant shape.
//!
//! A version 2 token keeps the grant's `actions`/`resources`/`subjects` and lists in `actions` what the
//! permissions allow, in a fixed order; identity, display name and metadata are claims of their own.
//! A version 1 token (Telnyx's, `actions: ["join"]`) reads as [`Permissions::V1`].

use serde::{Deserialize, Serialize};

use crate::JOIN_ACTION;

/// A kind of media a participant may publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A camera's video.
    Camera,
    /// A microphone's audio.
    Microphone,
    /// A shared screen's video.
    ScreenShare,
    /// A shared screen's audio.
    ScreenShareAudio,
}

impl Source {
    /// Every source, in the order their actions are listed.
    pub const ALL: [Source; 4] = [
        Source::Camera,
        Source::Microphone,
        Source::ScreenShare,
        Source::ScreenShareAudio,
    ];

    /// The wire name, e.g. `"screen_share"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Camera => "camera",
            Source::Microphone => "microphone",
            Source::ScreenShare => "screen_share",
            Source::ScreenShareAudio => "screen_share_audio",
        }
    }

    /// The source of a wire name; `None` for any other string.
    pub fn parse(name: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The grant action that allows publishing it, e.g. `"publish:camera"`.
    pub fn action(self) -> &'static str {
        match self {
            Source::Camera => "publish:camera",
            Source::Microphone => "publish:microphone",
            Source::ScreenShare => "publish:screen_share",
            Source::ScreenShareAudio => "publish:screen_share_audio",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Source`]s.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Sources(u8);

impl Sources {
    /// No source.
    pub const NONE: Sources = Sources(0);
    /// All four sources.
    pub const ALL: Sources = Sources(0b1111);

    /// Whether `source` is in the set.
    pub fn contains(self, source: Source) -> bool {
        self.0 & source.bit() != 0
    }

    /// Adds `source`; returns false if it was already there.
    pub fn insert(&mut self, source: Source) -> bool {
        let had = self.contains(source);
        self.0 |= source.bit();
        !had
    }

    /// The sources in the set, in [`Source::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Source> {
        Source::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<Source> for Sources {
    fn from_iter<I: IntoIterator<Item = Source>>(iter: I) -> Self {
        let mut set = Sources::NONE;
        for s in iter {
            set.insert(s);
        }
        set
    }
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for Sources {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Sources {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<Source>::deserialize(deserializer)?.into_iter().collect())
    }
}

/// The action that lets a participant receive others' media.
pub const SUBSCRIBE_ACTION: &str = "subscribe";
/// The action that lets a participant send data messages.
pub const PUBLISH_DATA_ACTION: &str = "publish_data";
/// The action that lets a participant change its own metadata.
pub const UPDATE_METADATA_ACTION: &str = "update_metadata";
/// The action that lets a participant moderate the room.
pub const ADMIN_ACTION: &str = "admin";
/// The action that marks a participant as a recorder.
pub const RECORD_ACTION: &str = "record";

/// What a participant may do in a room. Enforced by the media server that verifies the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// May publish media (of the sources in `can_publish_sources`).
    pub can_publish: bool,
    /// Which media it may publish when `can_publish` is true.
    pub can_publish_sources: Sources,
    /// May receive others' media.
    pub can_subscribe: bool,
    /// May send data messages.
    pub can_publish_data: bool,
    /// May change its own metadata.
    pub can_update_metadata: bool,
    /// Not shown to other participants.
    pub hidden: bool,
    /// A recorder, not a person.
    pub recorder: bool,
    /// May moderate this room.
    pub room_admin: bool,
}

impl Default for Permissions {
    /// The defaults of a request that names no permission: join, publish everything, subscribe, send data.
    fn default() -> Self {
        Permissions::V1
    }
}

impl Permissions {
    /// What a version 1 token (Telnyx's, `actions: ["join"]`) allows in practice: join, publish every source,
    /// subscribe and send data; nothing more.
    pub const V1: Permissions = Permissions {
        can_publish: true,
        can_publish_sources: Sources::ALL,
        can_subscribe: true,
        can_publish_data: true,
        can_update_metadata: false,
        hidden: false,
        recorder: false,
        room_admin: false,
    };

    /// Whether `source` may be published.
    pub fn can_publish_source(&self, source: Source) -> bool {
        self.can_publish && self.can_publish_sources.contains(source)
    }

    /// Whether anything at all may be published.
    pub fn can_publish_any(&self) -> bool {
        self.can_publish && !self.can_publish_sources.is_empty()
    }

    /// Whether others' media may be received.
    pub fn can_subscribe(&self) -> bool {
        self.can_subscribe
    }

    /// Whether data messages may be sent.
    pub fn can_publish_data(&self) -> bool {
        self.can_publish_data
    }

    /// Whether the participant may change its own metadata.
    pub fn can_update_metadata(&self) -> bool {
        self.can_update_metadata
    }

    /// Whether the participant is hidden from the others.
    pub fn is_hidden(&self) -> bool {
        self.hidden
    }

    /// Whether the participant is a recorder.
    pub fn is_recorder(&self) -> bool {
        self.recorder
    }

    /// Whether the participant may moderate the room.
    pub fn is_room_admin(&self) -> bool {
        self.room_admin
    }

    /// The grant actions that say this, in their fixed order (`hidden` is a claim of its own, not an action).
    pub fn actions(&self) -> Vec<String> {
        let mut actions = vec![JOIN_ACTION.to_owned()];
        if self.can_publish {
            actions.extend(self.can_publish_sources.iter().map(|s| s.action().to_owned()));
        }
        for (allowed, action) in [
            (self.can_subscribe, SUBSCRIBE_ACTION),
            (self.can_publish_data, PUBLISH_DATA_ACTION),
            (self.can_update_metadata, UPDATE_METADATA_ACTION),
            (self.room_admin, ADMIN_ACTION),
            (self.recorder, RECORD_ACTION),
        ] {
            if allowed {
                actions.push(action.to_owned());
            }
        }
        actions
    }

    /// Reads a version 2 grant's actions; actions it does not know are ignored (forward compatible).
    ///
    /// Publishing is allowed when at least one `publish:<source>` action is present.
    pub fn from_actions<'a>(actions: impl IntoIterator<Item = &'a str>, hidden: bool) -> Permissions {
        let mut p = Permissions {
            can_publish: false,
            can_publish_sources: Sources::NONE,
            can_subscribe: false,
            can_publish_data: false,
            can_update_metadata: false,
            hidden,
            recorder: false,
            room_admin: false,
        };
        for action in actions {
            match action {
                SUBSCRIBE_ACTION => p.can_subscribe = true,
                PUBLISH_DATA_ACTION => p.can_publish_data = true,
                UPDATE_METADATA_ACTION => p.can_update_metadata = true,
                ADMIN_ACTION => p.room_admin = true,
                RECORD_ACTION => p.recorder = true,
                other => {
                    if let Some(source) = other.strip_prefix("publish:").and_then(Source::parse) {
                        p.can_publish_sources.insert(source);
                    }
                }
            }
        }
        p.can_publish = !p.can_publish_sources.is_empty();
        p
    }
}

/// Who is joining, under what name, with what data and permissions.
///
/// `Debug` shows the permissions and whether the other fields are set, never their values: names and
/// metadata may be personal data.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Who the participant is in the application (the token's `sub`).
    pub identity: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// Opaque application data.
    pub metadata: Option<String>,
    /// What the participant may do.
    pub permissions: Permissions,
}

impl std::fmt::Debug for Participant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Participant")
            .field("identity", &self.identity.as_ref().map(|_| "<set>"))
            .field("name", &self.name.as_ref().map(|_| "<set>"))
            .field("metadata", &self.metadata.as_ref().map(|_| "<set>"))
            .field("permissions", &self.permissions)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_listed_in_the_fixed_order() {
        let all = Permissions {
            can_update_metadata: true,
            hidden: true,
            recorder: true,
            room_admin: true,
            ..Permissions::V1
        };
        assert_eq!(
            all.actions(),
            [
                "join",
                "publish:camera",
                "publish:microphone",
                "publish:screen_share",
                "publish:screen_share_audio",
                "subscribe",
                "publish_data",
                "update_metadata",
                "admin",
                "record"
            ]
        );
        let viewer = Permissions {
            can_publish: false,
            can_publish_data: false,
            ..Permissions::V1
        };
        assert_eq!(viewer.actions(), ["join", "subscribe"]);
        let sources = Permissions {
            can_publish_sources: [Source::ScreenShare, Source::Camera].into_iter().collect(),
            can_subscribe: false,
            can_publish_data: false,
            ..Permissions::V1
        };
        assert_eq!(
            sources.actions(),
            ["join", "publish:camera", "publish:screen_share"]
        );
    }

    #[test]
    fn from_actions_reads_back_what_actions_wrote() {
        let cases = [
            Permissions::V1,
            Permissions {
                can_publish: false,
                can_publish_sources: Sources::NONE,
                can_subscribe: false,
                can_publish_data: false,
                can_update_metadata: true,
                hidden: true,
                recorder: true,
                room_admin: true,
            },
            Permissions {
                can_publish_sources: [Source::Microphone].into_iter().collect(),
                ..Permissions::V1
            },
        ];
        for p in cases {
            let actions = p.actions();
            let back = Permissions::from_actions(actions.iter().map(String::as_str), p.hidden);
            assert_eq!(back, p);
            assert_eq!(back.actions(), actions);
        }
    }

    #[test]
    fn unknown_actions_are_ignored_and_publishing_needs_a_source() {
        let p = Permissions::from_actions(["join", "fly", "publish:hologram", "subscribe"], false);
        assert!(!p.can_publish && p.can_publish_sources.is_empty());
        assert!(p.can_subscribe());
        assert!(!p.can_publish_source(Source::Camera));
        // Publishing allowed but with no source names publishes nothing: the same as not publishing.
        let none = Permissions {
            can_publish_sources: Sources::NONE,
            ..Permissions::V1
        };
        assert!(!none.can_publish_any());
        assert_eq!(none.actions(), ["join", "subscribe", "publish_data"]);
    }

    #[test]
    fn sources_parse_print_and_serialize() {
        for s in Source::ALL {
            assert_eq!(Source::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
            assert_eq!(s.action(), format!("publish:{s}"));
        }
        assert_eq!(Source::parse("Camera"), None);
        let set: Sources = [Source::ScreenShareAudio, Source::Camera].into_iter().collect();
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"["camera","screen_share_audio"]"#
        );
        let mut dup = Sources::NONE;
        assert!(dup.insert(Source::Camera));
        assert!(!dup.insert(Source::Camera));
    }

    #[test]
    fn debug_hides_personal_data() {
        let p = Participant {
            identity: Some("alice@example.com".into()),
            name: Some("Alice Liddell".into()),
            metadata: Some("{\"seat\":3}".into()),
            permissions: Permissions::V1,
        };
        let shown = format!("{p:?}");
        for secret in ["alice", "Liddell", "seat"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("can_subscribe: true"), "{shown}");
    }
}
