//! The browser side of the TCP listener: the embedded UI, login with a
//! one-time code (it becomes an HttpOnly cookie), pairing of viewports
//! served elsewhere (the code becomes a token), and the checks that keep
//! other web pages out: the `Host` must be an address, not a name (DNS
//! rebinding), and a cookie counts only from the daemon's own origin
//! (cross-site WebSocket hijacking).

pub mod assets;
pub mod files;
pub mod gate;

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

pub use gate::{Credential, Gate};

use crate::home::DataHome;

/// What the browser routes share.
#[derive(Clone)]
pub struct BrowserState {
    pub gate: Arc<Gate>,
    pub home: DataHome,
}

impl axum::extract::FromRef<BrowserState> for Arc<Gate> {
    fn from_ref(state: &BrowserState) -> Self {
        state.gate.clone()
    }
}

/// How long a browser login lasts.
const COOKIE_MAX_AGE_SECS: u64 = 30 * 24 * 60 * 60;
/// The WebSocket subprotocol browsers ask for; a second one,
/// `viewport.token.TOKEN`, carries a paired viewport's token (browsers
/// cannot set headers on a WebSocket).
pub const SUBPROTOCOL: &str = "viewport.v1";
const TOKEN_SUBPROTOCOL_PREFIX: &str = "viewport.token.";

/// What `/api/info` and `/api/pair` say about this daemon.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonAbout {
    pub daemon_id: String,
    pub hostname: String,
    pub version: &'static str,
}

impl DaemonAbout {
    pub fn of(gate: &Gate) -> Self {
        Self {
            daemon_id: gate.daemon_id().to_owned(),
            hostname: hostname(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// This machine's name, as viewports show it.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Refuse a request whose `Host` is a name other than `localhost` or one
/// the user configured (`daemon.hosts`): a page on a domain that
/// re-resolves to this machine (DNS rebinding) carries its own name there.
pub async fn check_host(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !host_is_address(host) && !host_is_named(host, gate.hosts()) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            format!("vpd answers only to an IP address, localhost or a name in `daemon.hosts` of its config, not {host:?}\n"),
        )
            .into_response();
    }
    next.run(request).await
}

/// Whether `host` (with or without a port) is one of `names`.
fn host_is_named(host: &str, names: &[String]) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(name, _port)| name);
    names
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(name))
}

fn host_is_address(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => {
            return rest
                .split(']')
                .next()
                .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
        }
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// From another machine, the owner's token is refused: it opens everything
/// and cannot be revoked, so remote viewports pair (`vpd pair`) instead.
pub async fn refuse_owner_token(
    State(gate): State<Arc<Gate>>,
    request: Request,
    next: Next,
) -> Response {
    if presented_token(request.headers()).is_some_and(|token| gate.is_owner(token)) {
        return (
            StatusCode::FORBIDDEN,
            "the owner's token works only from this machine; pair this viewport instead (`vpd pair` prints a code)\n",
        )
            .into_response();
    }
    next.run(request).await
}

/// Whoever the request proves to be: a bearer token, a token subprotocol,
/// or this daemon's cookie sent from this daemon's own page (a WebSocket
/// opened by a page elsewhere carries that page's origin and is refused).
pub fn credential(gate: &Gate, headers: &HeaderMap) -> Option<Credential> {
    if let Some(token) = presented_token(headers) {
        let credential = gate.check(token)?;
        return origin_allowed(gate, headers, &credential).then_some(credential);
    }
    let cookie = cookie(headers, &gate.cookie_name())?;
    origin_is_ours_or_absent(headers)
        .then(|| gate.check(cookie))
        .flatten()
}

/// A token presented from a web page counts only on the daemon's own page
/// or on the page it was paired from; without an `Origin` the caller is not
/// a browser, and the token alone decides.
fn origin_allowed(gate: &Gate, headers: &HeaderMap, credential: &Credential) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if same_origin(headers) {
        return true;
    }
    match credential {
        Credential::Viewer(id) => gate.origin_of(id).as_deref() == Some(origin),
        Credential::Owner => false,
    }
}

/// Browsers send `Origin` with every WebSocket handshake and every request
/// that is not a plain same-origin GET; when it is there, it must be ours.
fn origin_is_ours_or_absent(headers: &HeaderMap) -> bool {
    headers.get(header::ORIGIN).is_none() || same_origin(headers)
}

/// A token the request carries itself: a bearer header, or a subprotocol.
fn presented_token(headers: &HeaderMap) -> Option<&str> {
    bearer(headers).or_else(|| token_subprotocol(headers))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn token_subprotocol(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|p| p.trim().strip_prefix(TOKEN_SUBPROTOCOL_PREFIX))
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// The request comes from a page this daemon served: its `Origin` is
/// `http://` plus the `Host` it was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        }
        _ => false,
    }
}

#[derive(Deserialize)]
pub struct CodeQuery {
    code: String,
}

/// `GET /login?code=…`: a login link from `vpd open`. The code becomes a
/// cookie and the browser goes on to `/`, so the code leaves the address bar.
pub async fn login_link(
    State(gate): State<Arc<Gate>>,
    headers: HeaderMap,
    Query(query): Query<CodeQuery>,
) -> Response {
    let redirect = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    log_in(&gate, &query.code, &headers, redirect)
}

/// Trade `code` for a browser login: `success` with the cookie set, or 401
/// saying why.
fn log_in(gate: &Gate, code: &str, headers: &HeaderMap, mut success: Response) -> Response {
    match gate.redeem(code, &browser_name(headers), None) {
        Ok(token) => {
            set_cookie(&mut success, gate, &token, COOKIE_MAX_AGE_SECS);
            success
        }
        Err(error) => (
            StatusCode::UNAUTHORIZED,
            format!("cannot log in: {error}\n"),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairRequest {
    code: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PairResult {
    token: String,
    #[serde(flatten)]
    about: DaemonAbout,
}

/// `POST /api/login {"code"}` from this daemon's own page: the code typed
/// into the login form becomes the cookie.
pub async fn login_form(
    State(gate): State<Arc<Gate>>,
    headers: HeaderMap,
    Json(body): Json<PairRequest>,
) -> Response {
    if !same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "log in from this daemon's own page\n",
        )
            .into_response();
    }
    log_in(
        &gate,
        &body.code,
        &headers,
        Json(DaemonAbout::of(&gate)).into_response(),
    )
}

/// `POST /api/pair {"code","name"}` from a viewport served anywhere (another
/// daemon's page, an SDK): the code becomes a token the viewport keeps and
/// presents itself. No cookie is involved, so any origin may ask.
pub async fn pair(
    State(gate): State<Arc<Gate>>,
    headers: HeaderMap,
    Json(body): Json<PairRequest>,
) -> Response {
    let name = body.name.unwrap_or_else(|| browser_name(&headers));
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let response = match gate.redeem(&body.code, &name, origin) {
        Ok(token) => Json(PairResult {
            token,
            about: DaemonAbout::of(&gate),
        })
        .into_response(),
        Err(error) => (StatusCode::UNAUTHORIZED, error.to_string()).into_response(),
    };
    allow_any_origin(response)
}

/// The CORS preflight of `/api/pair` and `/api/info`.
pub async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, authorization"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    allow_any_origin(response)
}

/// `GET /api/info`: who this daemon is, for a viewport that proved it may ask.
pub async fn info(State(gate): State<Arc<Gate>>, headers: HeaderMap) -> Response {
    let response = match credential(&gate, &headers) {
        Some(_) => Json(DaemonAbout::of(&gate)).into_response(),
        None => unauthorized(),
    };
    allow_bearer_origin(&headers, response)
}

/// `POST /api/logout`: this browser's login is forgotten.
pub async fn logout(State(gate): State<Arc<Gate>>, headers: HeaderMap) -> Response {
    if let Some(Credential::Viewer(id)) = credential(&gate, &headers)
        && let Err(error) = gate.revoke(&id)
    {
        tracing::warn!("cannot forget login {id}: {error}");
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie(&mut response, &gate, "", 0);
    response
}

pub fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "log in first: `vpd open` prints a login link; scripts send `Authorization: Bearer TOKEN` (the token is in the data home's `token` file)\n",
    )
        .into_response()
}

/// A request that carries its token itself may come from any origin: no
/// cookie is involved, so another page cannot borrow the browser's login.
pub fn allow_bearer_origin(headers: &HeaderMap, response: Response) -> Response {
    if bearer(headers).is_some() {
        allow_any_origin(response)
    } else {
        response
    }
}

fn allow_any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

fn set_cookie(response: &mut Response, gate: &Gate, value: &str, max_age_secs: u64) {
    let cookie = cookie_header(&gate.cookie_name(), value, max_age_secs, gate.over_tls());
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Over TLS the cookie is `Secure` too: it never travels unencrypted.
fn cookie_header(name: &str, value: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

/// A name for a login, from the browser's own description of itself.
fn browser_name(headers: &HeaderMap) -> String {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("a browser");
    format!("browser: {agent}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_must_be_addresses_or_localhost() {
        for host in [
            "127.0.0.1:7707",
            "localhost:80",
            "[::1]:7707",
            "10.0.0.2",
            "LOCALHOST",
        ] {
            assert!(host_is_address(host), "{host}");
        }
        for host in ["evil.example:7707", "", "127.0.0.1.nip.io", "[evil]:1"] {
            assert!(!host_is_address(host), "{host}");
        }
    }

    #[test]
    fn configured_names_are_hosts_too() {
        let names = vec!["box.example".to_owned()];
        assert!(host_is_named("box.example:7707", &names));
        assert!(host_is_named("BOX.example", &names));
        assert!(!host_is_named("evil.box.example:7707", &names));
        assert!(!host_is_named("box.example.evil:7707", &names));
        assert!(!host_is_named("box.example:7707", &[]));
    }

    #[test]
    fn a_cookie_counts_only_from_the_same_origin() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:7707".parse().unwrap());
        headers.insert(header::ORIGIN, "http://127.0.0.1:7707".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "http://127.0.0.1:9999".parse().unwrap());
        assert!(!same_origin(&headers));
        headers.remove(header::ORIGIN);
        assert!(!same_origin(&headers));
    }

    #[test]
    fn login_cookies_are_secure_over_tls() {
        let plain = cookie_header("vpd_1", "t", 60, false);
        assert_eq!(
            plain,
            "vpd_1=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        assert!(cookie_header("vpd_1", "t", 60, true).ends_with("; Secure"));
    }

    #[test]
    fn cookies_and_subprotocols_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; vpd_x=tok; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, "vpd_x"), Some("tok"));
        assert_eq!(cookie(&headers, "vpd"), None);
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            "viewport.v1, viewport.token.abc".parse().unwrap(),
        );
        assert_eq!(token_subprotocol(&headers), Some("abc"));
    }
}
