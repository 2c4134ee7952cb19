//! Prefixed identifiers. The prefix tells a reader what an id names at a
//! glance and lets the daemon reject an id of the wrong kind with a clear error.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// An id string that does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not a valid {kind}: expected `{prefix}` followed by lowercase letters or digits"
)]
pub struct IdError {
    pub kind: &'static str,
    pub prefix: &'static str,
    pub value: String,
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn as_str(&self) -> &str {
                &self.0
            }

            fn from_suffix(suffix: &str) -> Self {
                Self(format!("{}{}", $prefix, suffix))
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;

            fn try_from(value: String) -> Result<Self, IdError> {
                let valid = value.strip_prefix($prefix).is_some_and(|rest| {
                    !rest.is_empty()
                        && rest.len() <= 64
                        && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                });
                if valid {
                    Ok(Self(value))
                } else {
                    Err(IdError { kind: $kind, prefix: $prefix, value })
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;

            fn from_str(value: &str) -> Result<Self, IdError> {
                Self::try_from(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "type": "string",
                    "pattern": concat!("^", $prefix, "[0-9a-z]{1,64}$"),
                    "description": concat!("A ", $kind, " (`", $prefix, "…`).")
                })
            }
        }
    };
}

prefixed_id!(
    /// A session: one agent or terminal run, owned by the daemon.
    SessionId, "ses_", "session id"
);
prefixed_id!(
    /// A registered directory, stable for a canonical path.
    DirectoryId, "dir_", "directory id"
);
prefixed_id!(
    /// A pending permission prompt inside a session.
    PromptId, "prm_", "prompt id"
);
prefixed_id!(
    /// A one-off job in the daemon's queue.
    JobId, "job_", "job id"
);
prefixed_id!(
    /// One run of a config workflow.
    WorkflowRunId, "wfr_", "workflow run id"
);

fn time_ordered_suffix() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

impl SessionId {
    /// A new, time-ordered session id.
    pub fn generate() -> Self {
        Self::from_suffix(&time_ordered_suffix())
    }
}

impl JobId {
    /// A new, time-ordered job id.
    pub fn generate() -> Self {
        Self::from_suffix(&time_ordered_suffix())
    }
}

impl WorkflowRunId {
    /// A new, time-ordered workflow run id.
    pub fn generate() -> Self {
        Self::from_suffix(&time_ordered_suffix())
    }
}

impl PromptId {
    /// A new, time-ordered prompt id.
    pub fn generate() -> Self {
        Self::from_suffix(&time_ordered_suffix())
    }
}

impl DirectoryId {
    /// The id of a canonical directory path: the same path always gets the
    /// same id, on any machine and across restarts.
    pub fn for_canonical_path(path: &Path) -> Self {
        let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
        let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
        Self::from_suffix(&hex)
    }
}

/// A client-chosen request id, echoed in the `response` or `error` frame.
///
/// Clients may use any non-empty string of at most
/// [`MAX_REQUEST_ID_LEN`](crate::limits::MAX_REQUEST_ID_LEN) characters; the
/// clients of this project generate `req_…` ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct RequestId(#[schemars(length(min = 1, max = 128))] pub String);

impl RequestId {
    /// A new `req_…` id.
    pub fn generate() -> Self {
        Self(format!("req_{}", time_ordered_suffix()))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_parse_back() {
        let id = SessionId::generate();
        assert!(id.as_str().starts_with("ses_"));
        assert_eq!(id.as_str().parse::<SessionId>(), Ok(id.clone()));
    }

    #[test]
    fn an_id_of_the_wrong_kind_is_rejected_with_its_kind_named() {
        let err = "dir_abc".parse::<SessionId>().unwrap_err();
        assert_eq!(err.kind, "session id");
        assert!(err.to_string().contains("ses_"));
        assert!("ses_".parse::<SessionId>().is_err());
        assert!("ses_ABC".parse::<SessionId>().is_err());
    }

    #[test]
    fn directory_ids_are_stable_per_path() {
        let a = DirectoryId::for_canonical_path(Path::new("/srv/project"));
        let b = DirectoryId::for_canonical_path(Path::new("/srv/project"));
        let c = DirectoryId::for_canonical_path(Path::new("/srv/other"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.as_str().parse::<DirectoryId>().is_ok());
    }

    #[test]
    fn ids_deserialize_with_validation() {
        let ok: Result<SessionId, _> = serde_json::from_str("\"ses_0a1b\"");
        assert!(ok.is_ok());
        let bad: Result<SessionId, _> = serde_json::from_str("\"nope\"");
        assert!(bad.unwrap_err().to_string().contains("session id"));
    }
}
