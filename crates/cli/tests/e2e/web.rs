//! The browser side of the TCP listener, over raw HTTP against a real
//! daemon: one-time login codes become HttpOnly cookies, a cookie counts
//! only from the daemon's own origin, names other than addresses are
//! refused, and only the owner may mint codes.

use std::io::{Read, Write};

use viewport_protocol::ErrorCode;

use super::*;

/// One HTTP/1.1 request; the status line, the headers (lowercased names)
/// and the body.
fn http(address: &str, request: &str) -> (String, Vec<(String, String)>, String) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn get(address: &str, path: &str, extra: &str) -> (String, Vec<(String, String)>, String) {
    http(
        address,
        &format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{extra}\r\n"),
    )
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn upgrade(address: &str, extra: &str) -> String {
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {address}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    );
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = [0u8; 512];
    let n = stream.read(&mut response).unwrap();
    String::from_utf8_lossy(&response[..n]).into_owned()
}

/// A fresh one-time code, asked for over the unix socket.
async fn login_code(daemon: &TestDaemon) -> String {
    let mut client = daemon.client().await.unwrap();
    client.create_login_code().await.unwrap().code
}

/// Log in with a fresh code; the cookie as `name=value`.
async fn log_in(daemon: &TestDaemon) -> String {
    let code = login_code(daemon).await;
    let (status, headers, _) = get(&daemon.address, &format!("/login?code={}", code), "");
    assert!(status.contains("303"), "{status}");
    let cookie = header(&headers, "set-cookie").expect("a cookie is set");
    cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_code_works_once_and_becomes_an_http_only_cookie() {
    let daemon = daemon().await;
    let code = login_code(&daemon).await;
    let path = format!("/login?code={}", code.to_lowercase());
    let (status, headers, _) = get(&daemon.address, &path, "");
    assert!(status.contains("303"), "{status}");
    assert_eq!(
        header(&headers, "location"),
        Some("/"),
        "the code leaves the address bar"
    );
    let cookie = header(&headers, "set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let (status, _, body) = get(&daemon.address, &path, "");
    assert!(status.contains("401"), "a second use is refused: {status}");
    assert!(body.contains("vpd open"), "{body}");

    let cookie = cookie.split(';').next().unwrap();
    let (status, _, body) = get(
        &daemon.address,
        "/api/info",
        &format!("Cookie: {cookie}\r\n"),
    );
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("\"daemonId\":\"dmn_"), "{body}");
    let (status, _, _) = get(&daemon.address, "/api/info", "Cookie: vpd_x=forged\r\n");
    assert!(status.contains("401"), "{status}");
    let with_cookie = format!("Cookie: {cookie}\r\n");
    let (status, _, body) = get(
        &daemon.address,
        "/api/sessions/nope/console.log",
        &with_cookie,
    );
    assert!(
        status.contains("400") && body.contains("nope"),
        "{status} {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_opens_the_websocket_only_from_the_daemons_own_origin() {
    let daemon = daemon().await;
    let cookie = log_in(&daemon).await;
    let own = format!("Cookie: {cookie}\r\nOrigin: http://{}\r\n", daemon.address);
    assert!(upgrade(&daemon.address, &own).starts_with("HTTP/1.1 101"));
    let elsewhere = format!("Cookie: {cookie}\r\nOrigin: http://evil.example\r\n");
    assert!(upgrade(&daemon.address, &elsewhere).starts_with("HTTP/1.1 401"));
    let other_port = format!("Cookie: {cookie}\r\nOrigin: http://127.0.0.1:1\r\n");
    assert!(upgrade(&daemon.address, &other_port).starts_with("HTTP/1.1 401"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_other_than_addresses_are_refused() {
    let daemon = daemon().await;
    let rebinding = format!(
        "GET / HTTP/1.1\r\nHost: attacker.example:{}\r\nConnection: close\r\n\r\n",
        daemon.address.rsplit(':').next().unwrap()
    );
    let (status, _, _) = http(&daemon.address, &rebinding);
    assert!(status.contains("421"), "{status}");
    let (status, headers, body) = get(&daemon.address, "/", "");
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("<div id=\"app\">"), "the page is served");
    let policy = header(&headers, "content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paired_viewport_connects_with_its_token_but_cannot_mint_codes() {
    let daemon = daemon().await;
    let code = login_code(&daemon).await;
    let body = format!(r#"{{"code":"{}","name":"laptop"}}"#, code);
    let request = format!(
        "POST /api/pair HTTP/1.1\r\nHost: {}\r\nOrigin: http://10.0.0.9:7707\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        daemon.address,
        body.len()
    );
    let (status, headers, reply) = http(&daemon.address, &request);
    assert!(status.contains("200"), "{status} {reply}");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    let token = reply["token"].as_str().unwrap();

    let subprotocol = format!(
        "Sec-WebSocket-Protocol: viewport.v1, viewport.token.{token}\r\nOrigin: http://10.0.0.9:7707\r\n"
    );
    let answer = upgrade(&daemon.address, &subprotocol);
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    assert!(
        answer
            .to_lowercase()
            .contains("sec-websocket-protocol: viewport.v1"),
        "{answer}"
    );

    let elsewhere = format!(
        "Sec-WebSocket-Protocol: viewport.v1, viewport.token.{token}\r\nOrigin: http://evil.example\r\n"
    );
    let refused = upgrade(&daemon.address, &elsewhere);
    assert!(
        refused.starts_with("HTTP/1.1 401"),
        "only from the page it paired from: {refused}"
    );
    let owner_from_a_page = format!(
        "Authorization: Bearer {}\r\nOrigin: http://evil.example\r\n",
        daemon.token
    );
    assert!(upgrade(&daemon.address, &owner_from_a_page).starts_with("HTTP/1.1 401"));

    let mut viewer = Client::connect_tcp(&daemon.address, token).await.unwrap();
    assert_eq!(viewer.list_sessions().await.unwrap().len(), 0);
    let refused = viewer.create_login_code().await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Forbidden));
    let mut owner = daemon.tcp_client().await.unwrap();
    assert!(owner.create_login_code().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_read_backwards_a_page_at_a_time() {
    let daemon = daemon().await;
    let session = launched(&daemon, "burst 20", SessionState::Idle).await;
    let mut client = daemon.client().await.unwrap();
    let head = client
        .read_updates(&session, u64::MAX >> 12, Some(5))
        .await
        .unwrap();
    let seqs: Vec<u64> = head.iter().map(|u| u.seq).collect();
    let last = *seqs.last().unwrap();
    assert_eq!(seqs, (last - 4..=last).collect::<Vec<_>>());
    let older = client
        .read_updates(&session, last - 4, Some(5))
        .await
        .unwrap();
    assert_eq!(older.last().unwrap().seq, last - 5);
    let first = client.read_updates(&session, 3, None).await.unwrap();
    assert_eq!(first.iter().map(|u| u.seq).collect::<Vec<_>>(), [1, 2]);
    assert!(
        client
            .read_updates(&session, 1, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_viewer_closes_its_connections_at_once() {
    let daemon = daemon().await;
    let mut owner = daemon.client().await.unwrap();
    let code = login_code(&daemon).await;
    let body = format!(r#"{{"code":"{code}","name":"tablet"}}"#);
    let request = format!(
        "POST /api/pair HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        daemon.address,
        body.len()
    );
    let (_, _, reply) = http(&daemon.address, &request);
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    let token = reply["token"].as_str().unwrap().to_owned();
    let mut viewer = Client::connect_tcp(&daemon.address, &token).await.unwrap();
    viewer.list_sessions().await.unwrap();

    let listed = owner.viewers().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "tablet");
    assert!(listed[0].last_seen_at.is_some(), "seen when it connected");
    owner.revoke_viewer(&listed[0].viewer_id).await.unwrap();

    let cut = tokio::time::timeout(WAIT, viewer.list_sessions()).await;
    assert!(
        matches!(cut, Ok(Err(_))),
        "the open connection is closed: {cut:?}"
    );
    assert!(Client::connect_tcp(&daemon.address, &token).await.is_err());
    assert!(owner.viewers().await.unwrap().is_empty());
    let again = owner.revoke_viewer(&listed[0].viewer_id).await.unwrap_err();
    assert_eq!(again.code(), Some(ErrorCode::InvalidFrame));
}

#[test]
fn listening_beyond_loopback_without_tls_is_refused() {
    let daemon = TestDaemon::unstarted(vpd()).unwrap();
    for address in ["0.0.0.0:0", "[::]:0"] {
        let output = daemon
            .vpd()
            .args(["daemon", "--listen", address])
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("refusing to listen") && stderr.contains("TLS"),
            "{stderr}"
        );
    }
}

/// The certificate fingerprint the daemon wrote in `daemon.json`.
fn fingerprint(daemon: &TestDaemon) -> String {
    let info = std::fs::read_to_string(daemon.home().join("daemon.json")).unwrap();
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    info["tlsFingerprint"]
        .as_str()
        .expect("a TLS daemon names its certificate")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tls_a_viewport_pins_the_certificate_and_plain_http_gets_nothing() {
    let mut daemon = TestDaemon::unstarted(vpd()).unwrap();
    daemon.boot_with(&["--tls"]).await.unwrap();
    let pinned = fingerprint(&daemon);
    assert!(pinned.starts_with("SHA256:"), "{pinned}");

    let mut client = Client::connect_tls(&daemon.address, &daemon.token, &pinned)
        .await
        .unwrap();
    assert!(client.list_sessions().await.unwrap().is_empty());

    let wrong = pinned.replacen("SHA256:", "SHA256:00", 1);
    let refused = Client::connect_tls(&daemon.address, &daemon.token, &wrong).await;
    let refused = refused
        .err()
        .expect("another certificate is refused")
        .to_string();
    assert!(refused.contains("fingerprint"), "{refused}");
    assert!(
        Client::connect_tcp(&daemon.address, &daemon.token)
            .await
            .is_err()
    );

    // The certificate stays the same across a restart (it is kept in tls/).
    daemon.restart().await.unwrap();
    assert_eq!(fingerprint(&daemon), pinned);
    let output = daemon.vpd().args(["pair", "--json"]).output().unwrap();
    let code: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(code["tlsFingerprint"], pinned.as_str());
    assert!(
        code["url"].as_str().unwrap().starts_with("https://"),
        "{code}"
    );
}

/// `vpd daemon --listen 0.0.0.0:0 --tls` in `daemon`'s home; the child
/// and the port it listens on.
async fn daemon_on_every_interface(daemon: &TestDaemon) -> (std::process::Child, u16) {
    let child = daemon
        .vpd()
        .args(["daemon", "--listen", "0.0.0.0:0", "--tls"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let info = daemon.home().join("daemon.json");
    let deadline = std::time::Instant::now() + WAIT;
    while !info.exists()
        || Client::connect_unix(&daemon.home().join("daemon.sock"))
            .await
            .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = std::fs::read_to_string(&info).unwrap();
    let info: serde_json::Value = serde_json::from_str(&text).unwrap();
    let port = info["listen"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (child, port)
}

/// This machine's address on the network (not loopback): the one a packet
/// to a documentation address would leave from. Nothing is sent.
fn network_address() -> std::net::IpAddr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    socket
        .connect("192.0.2.1:9")
        .expect("this machine has a route off loopback");
    let ip = socket.local_addr().unwrap().ip();
    assert!(!ip.is_loopback(), "{ip}");
    ip
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_loopback_only_tls_and_only_paired_viewports() {
    let daemon = TestDaemon::unstarted(vpd()).unwrap();
    let (mut child, port) = daemon_on_every_interface(&daemon).await;
    let pinned = fingerprint(&daemon);
    let token = std::fs::read_to_string(daemon.home().join("token")).unwrap();

    let local = format!("127.0.0.1:{port}");
    let mut owner = Client::connect_tls(&local, token.trim(), &pinned)
        .await
        .unwrap();
    let code = owner.create_login_code().await.unwrap().code;

    let remote = format!("{}:{port}", network_address());
    let refused = Client::connect_tls(&remote, token.trim(), &pinned).await;
    let refused = refused
        .err()
        .expect("the owner's token is refused from afar")
        .to_string();
    assert!(refused.contains("403"), "{refused}");

    // A viewport that paired gets in from afar.
    let paired = Client::pair_tls(&remote, &pinned, &code, "afar")
        .await
        .unwrap();
    let mut viewer = Client::connect_tls(&remote, &paired, &pinned)
        .await
        .unwrap();
    assert!(viewer.list_sessions().await.unwrap().is_empty());
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_host_name_is_answered_and_others_are_not() {
    let mut daemon = TestDaemon::unstarted(vpd()).unwrap();
    std::fs::write(
        daemon.home().join("config.yaml"),
        "daemon:\n  hosts: [box.example]\n",
    )
    .unwrap();
    daemon.boot_with(&[]).await.unwrap();
    let port = daemon.address.rsplit(':').next().unwrap().to_owned();
    for (host, expected) in [
        (format!("box.example:{port}"), "200"),
        (format!("BOX.EXAMPLE:{port}"), "200"),
        (format!("evil.box.example:{port}"), "421"),
        (format!("attacker.example:{port}"), "421"),
    ] {
        let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let (status, _, _) = http(&daemon.address, &request);
        assert!(status.contains(expected), "{host}: {status}");
    }
}
