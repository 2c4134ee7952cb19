//! Bad input gets an error frame naming what was wrong; the connection and
//! the sessions survive. Without the token nothing is read at all.

use std::io::{Read, Write};

use viewport_protocol::{ErrorCode, ServerFrame};

use super::*;

async fn error_for(client: &mut Client, text: String) -> (ErrorCode, String) {
    client.send_text(text).await.unwrap();
    match next(client).await.unwrap() {
        ServerFrame::Error { code, message, .. } => (code, message),
        other => panic!("expected an error frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_error_frames_and_the_daemon_still_serves() {
    let daemon = daemon().await;
    let session = daemon.launch("hang").await.unwrap();
    let mut client = daemon.tcp_client().await.unwrap();

    assert_eq!(
        error_for(&mut client, "not json".into()).await.0,
        ErrorCode::BadJson
    );
    let (code, message) = error_for(
        &mut client,
        r#"{"type":"subscribe","afterSeq":"ten"}"#.into(),
    )
    .await;
    assert_eq!(code, ErrorCode::InvalidFrame);
    assert!(message.contains("subscribe"), "{message}");
    let (code, message) = error_for(&mut client, r#"{"type":"teleport"}"#.into()).await;
    assert_eq!(code, ErrorCode::UnknownFrameType);
    assert!(message.contains("teleport"), "{message}");
    let huge = format!(
        r#"{{"type":"prompt","sessionId":"{session}","text":"{}"}}"#,
        "x".repeat(10 * 1024 * 1024)
    );
    assert_eq!(
        error_for(&mut client, huge).await.0,
        ErrorCode::FrameTooLarge
    );
    let ghost = r#"{"type":"cancel","sessionId":"ses_0000","requestId":"r1"}"#;
    assert_eq!(
        error_for(&mut client, ghost.into()).await.0,
        ErrorCode::UnknownSession
    );
    let ghost = r#"{"type":"subscribe","sessionId":"ses_0000","requestId":"r2"}"#;
    assert_eq!(
        error_for(&mut client, ghost.into()).await.0,
        ErrorCode::UnknownSession
    );
    let nowhere = r#"{"type":"launch","requestId":"r3","directoryId":"dir_0000","prompt":"hi"}"#;
    assert_eq!(
        error_for(&mut client, nowhere.into()).await.0,
        ErrorCode::UnknownDirectory
    );

    // The same connection still works, and so does the session.
    let sessions = client.list_sessions().await.unwrap();
    assert_eq!(sessions.len(), 1);
    client.prompt(&session, "more").await.unwrap();
}

fn upgrade_status(address: &str, authorization: Option<&str>) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {address}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{auth}\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = [0u8; 256];
    let n = stream.read(&mut response).unwrap();
    String::from_utf8_lossy(&response[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_the_right_token_is_refused_before_any_frame() {
    let daemon = daemon().await;
    assert!(upgrade_status(&daemon.address, None).contains("401"));
    assert!(upgrade_status(&daemon.address, Some("Bearer nope")).contains("401"));
    let token = format!("Bearer {}", daemon.token);
    assert!(upgrade_status(&daemon.address, Some(&token)).contains("101"));
    assert!(Client::connect_tcp(&daemon.address, "wrong").await.is_err());
}
