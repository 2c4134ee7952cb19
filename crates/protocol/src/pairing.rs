//! Viewports allowed in: browser logins and paired viewports.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A browser login or a paired viewport, as `listViewers` shows it (never
/// its token, which the daemon keeps only hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ViewerInfo {
    /// `vwr_…`: what `revokeViewer` takes.
    pub viewer_id: String,
    /// What it called itself when it paired (a browser: its user agent).
    pub name: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// When its token was last presented (to the minute), if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<i64>,
    /// The web origin it paired from; a browser may use the token only there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Paired through the relay: it proves itself with a key, not a token.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub relay: bool,
}

/// Result of `listViewers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListViewersResult {
    pub viewers: Vec<ViewerInfo>,
}
