//! A session's files over HTTP, for viewports that want bytes rather than
//! frames: its console log (whole, its tail, or from an offset, to follow
//! it), and its artifacts (listed, and each downloadable).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use axum::Json;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use viewport_protocol::SessionId;

use super::{BrowserState, allow_bearer_origin, credential, unauthorized};

/// The most a single console-log read returns.
const MAX_LOG_READ: u64 = 8 * 1024 * 1024;

#[derive(Deserialize)]
pub struct LogQuery {
    /// Bytes from this offset on.
    from: Option<u64>,
    /// Only the last this many bytes.
    tail: Option<u64>,
}

/// `GET /api/sessions/{id}/console.log[?from=OFFSET|?tail=BYTES]`. The
/// `x-log-offset` header says where the bytes start, `x-log-size` how long
/// the log is, so a follower asks next `?from=` that size.
pub async fn console_log(
    State(state): State<BrowserState>,
    headers: HeaderMap,
    UrlPath(session): UrlPath<String>,
    Query(query): Query<LogQuery>,
) -> Response {
    let dir = match session_dir(&state, &headers, &session) {
        Ok(dir) => dir,
        Err(refused) => return allow_bearer_origin(&headers, refused.into_response()),
    };
    let response = match read_log(&dir.join("console.log"), &query) {
        Ok((offset, size, bytes)) => {
            let mut response = bytes.into_response();
            let set = response.headers_mut();
            set.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            set.insert("x-log-offset", HeaderValue::from(offset));
            set.insert("x-log-size", HeaderValue::from(size));
            set.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("x-log-offset, x-log-size"),
            );
            if query.from.is_none() && query.tail.is_none() {
                set.insert(
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"console.log\""),
                );
            }
            response
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
            StatusCode::NOT_FOUND,
            "this session has no console log (only terminal sessions do)\n",
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the console log: {e}\n"),
        )
            .into_response(),
    };
    allow_bearer_origin(&headers, response)
}

fn read_log(path: &Path, query: &LogQuery) -> std::io::Result<(u64, u64, Vec<u8>)> {
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let start = match (query.from, query.tail) {
        (Some(from), _) => from.min(size),
        (None, Some(tail)) => size.saturating_sub(tail),
        (None, None) => 0,
    };
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(MAX_LOG_READ).read_to_end(&mut bytes)?;
    Ok((start, size, bytes))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// The path inside the artifacts directory, with `/`.
    path: String,
    size: u64,
    /// Unix milliseconds.
    modified_at: i64,
}

/// `GET /api/sessions/{id}/artifacts`: every file in the session's
/// `$VIEWPORT_ARTIFACTS`, as JSON.
pub async fn list_artifacts(
    State(state): State<BrowserState>,
    headers: HeaderMap,
    UrlPath(session): UrlPath<String>,
) -> Response {
    let dir = match session_dir(&state, &headers, &session) {
        Ok(dir) => dir,
        Err(refused) => return allow_bearer_origin(&headers, refused.into_response()),
    };
    let root = dir.join("artifacts");
    let mut found = Vec::new();
    collect(&root, &root, &mut found);
    found.sort_by(|a, b| a.path.cmp(&b.path));
    allow_bearer_origin(
        &headers,
        Json(serde_json::json!({ "artifacts": found })).into_response(),
    )
}

/// `GET /api/sessions/{id}/artifacts/{path}`: one artifact, as a download.
pub async fn artifact(
    State(state): State<BrowserState>,
    headers: HeaderMap,
    UrlPath((session, path)): UrlPath<(String, String)>,
) -> Response {
    let dir = match session_dir(&state, &headers, &session) {
        Ok(dir) => dir,
        Err(refused) => return allow_bearer_origin(&headers, refused.into_response()),
    };
    let Some(relative) = safe_relative(&path) else {
        return (
            StatusCode::BAD_REQUEST,
            "an artifact path stays inside the artifacts directory\n",
        )
            .into_response();
    };
    let response = match std::fs::read(dir.join("artifacts").join(&relative)) {
        Ok(bytes) => {
            let name = relative
                .file_name()
                .map(|n| n.to_string_lossy().replace('"', ""))
                .unwrap_or_default();
            let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                .unwrap_or(HeaderValue::from_static("attachment"));
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/octet-stream"),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, format!("no artifact {path}\n")).into_response(),
    };
    allow_bearer_origin(&headers, response)
}

/// Why a session's files were not served.
enum Refusal {
    NotLoggedIn,
    NotASession(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::NotLoggedIn => unauthorized(),
            Self::NotASession(why) => (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response(),
        }
    }
}

/// The session's directory, when the request may read it and names a
/// session id.
fn session_dir(
    state: &BrowserState,
    headers: &HeaderMap,
    session: &str,
) -> Result<PathBuf, Refusal> {
    if credential(&state.gate, headers).is_none() {
        return Err(Refusal::NotLoggedIn);
    }
    let id: SessionId = session
        .parse()
        .map_err(|e: viewport_protocol::ids::IdError| Refusal::NotASession(e.to_string()))?;
    Ok(state.home.session_dir(&id))
}

/// `path` as plain parts only: no root, no `..`.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let relative = PathBuf::from(path);
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(relative)
}

fn collect(root: &Path, dir: &Path, found: &mut Vec<Artifact>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            collect(root, &path, found);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let modified_at = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            found.push(Artifact {
                path: relative.to_string_lossy().into_owned(),
                size: meta.len(),
                modified_at,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_paths_stay_inside() {
        assert!(safe_relative("report/a.txt").is_some());
        assert!(safe_relative("../token").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
        assert!(safe_relative("a/../../b").is_none());
    }

    #[test]
    fn the_log_is_read_whole_by_tail_or_from_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console.log");
        std::fs::write(&path, b"0123456789").unwrap();
        let read = |from, tail| read_log(&path, &LogQuery { from, tail }).unwrap();
        assert_eq!(read(None, None), (0, 10, b"0123456789".to_vec()));
        assert_eq!(read(None, Some(3)), (7, 10, b"789".to_vec()));
        assert_eq!(read(Some(8), None), (8, 10, b"89".to_vec()));
        assert_eq!(read(Some(99), None), (10, 10, Vec::new()));
    }
}
