//! The browser UI, built from `web/` by this crate's build script and
//! embedded in the binary.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub struct WebAsset {
    /// The URL path (`/index.html`, `/assets/main-HASH.js`).
    pub path: &'static str,
    pub body: &'static [u8],
    /// The same bytes gzipped, for larger files.
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// Scripts only from here; no inline script; frames and plugins nowhere.
/// `connect-src` allows WebSockets to other paired daemons.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
    connect-src 'self' ws: wss: http: https:; object-src 'none'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The embedded file at `path`; the page itself for any other path that is
/// not under `/assets/`, so that deep links load the app.
pub fn serve(path: &str, request_headers: &HeaderMap) -> Response {
    let asset = find(path).or_else(|| (!path.starts_with("/assets/")).then(index).flatten());
    let Some(asset) = asset else {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    let accepts_gzip = request_headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(asset.path)),
    );
    // Hashed names never change; the page itself must always be fresh.
    let cache = if asset.path.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let body = match asset.gzip {
        Some(gzip) if accepts_gzip => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            gzip
        }
        _ => asset.body,
    };
    (headers, body).into_response()
}

fn find(path: &str) -> Option<&'static WebAsset> {
    WEB_ASSETS.iter().find(|asset| asset.path == path)
}

fn index() -> Option<&'static WebAsset> {
    find("/index.html")
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_script_are_embedded() {
        let index = index().expect("index.html is embedded");
        let html = std::str::from_utf8(index.body).unwrap();
        let script = html
            .split("src=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the page names its script");
        assert!(find(script).is_some(), "{script} is embedded");
    }

    #[test]
    fn deep_links_get_the_page_and_missing_assets_do_not() {
        let headers = HeaderMap::new();
        assert_eq!(serve("/s/dmn_1/ses_1", &headers).status(), StatusCode::OK);
        assert_eq!(
            serve("/assets/nope.js", &headers).status(),
            StatusCode::NOT_FOUND
        );
    }
}
