//! Full-text search through `vpd search` and the `search` request.

use super::*;

/// Two finished demo sessions with words worth finding.
async fn sessions(
    daemon: &TestDaemon,
) -> (viewport_protocol::SessionId, viewport_protocol::SessionId) {
    let first = launched(daemon, "the café refactoring plan", SessionState::Awaiting).await;
    let second = launched(
        daemon,
        "fix the flaky NEAR-miss test \"quoted\"",
        SessionState::Awaiting,
    )
    .await;
    (first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_whole_messages_and_survives_any_query() {
    let daemon = daemon().await;
    let (first, second) = sessions(&daemon).await;
    let hits = json(&run(&daemon, &["search", "refactoring", "--json"]));
    assert_eq!(hits[0]["sessionId"], first.as_str(), "{hits}");
    assert!(
        hits[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("«refactoring»"),
        "{hits}"
    );

    // Accents are folded, prefixes match, FTS syntax is just words.
    assert_eq!(
        json(&run(&daemon, &["search", "cafe", "--json"]))[0]["sessionId"],
        first.as_str()
    );
    assert_eq!(
        json(&run(&daemon, &["search", "refact*", "--json"]))[0]["sessionId"],
        first.as_str()
    );
    for query in [
        "\"quoted\"",
        "NEAR-miss",
        "flaky AND",
        "(fix",
        "\"unbalanced",
        "NEAR(a b)",
    ] {
        let output = run(&daemon, &["search", query, "--json"]);
        assert!(
            output.status.success(),
            "`{query}`: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let near = json(&run(&daemon, &["search", "NEAR-miss", "--json"]));
    assert_eq!(near[0]["sessionId"], second.as_str(), "{near}");
    let only = json(&run(
        &daemon,
        &["search", "the", "--session", second.as_str(), "--json"],
    ));
    assert!(
        only.as_array()
            .unwrap()
            .iter()
            .all(|h| h["sessionId"] == second.as_str())
    );

    let empty = run(&daemon, &["search", "  "]);
    assert_eq!(empty.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("empty"));
    // Streamed chunks are not indexed: one hit per message, not per piece.
    let said = json(&run(&daemon, &["search", "viewport demo agent", "--json"]));
    let kinds: Vec<&str> = said
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "agent-message").count(),
        2,
        "{said}"
    );
    assert!(!kinds.contains(&"agent-message-chunk"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_rebuilds_sessions_and_search_from_the_events_alone() {
    let daemon = daemon().await;
    sessions(&daemon).await;
    let ls_before = json(&run(&daemon, &["ls", "--json"]));
    let search_before = json(&run(&daemon, &["search", "the", "--json"]));
    {
        let db = rusqlite::Connection::open(daemon.home().join("viewport.db")).unwrap();
        db.execute_batch("DELETE FROM sessions; DELETE FROM search;")
            .unwrap();
    }
    assert_eq!(
        json(&run(&daemon, &["search", "the", "--json"])),
        serde_json::json!([])
    );
    assert!(run(&daemon, &["reindex"]).status.success());
    assert_eq!(json(&run(&daemon, &["ls", "--json"])), ls_before);
    assert_eq!(
        json(&run(&daemon, &["search", "the", "--json"])),
        search_before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_can_be_named_filtered_and_read_back_without_an_agent() {
    let daemon = daemon().await;
    let (first, _second) = sessions(&daemon).await;
    assert!(
        run(&daemon, &["name", first.as_str(), "Café rewrite"])
            .status
            .success()
    );
    let named = json(&run(&daemon, &["ls", "--name", "café", "--json"]));
    assert_eq!(named.as_array().unwrap().len(), 1, "{named}");
    assert_eq!(named[0]["title"], "Café rewrite");
    let found = json(&run(&daemon, &["search", "rewrite", "--json"]));
    assert_eq!(found[0]["sessionId"], first.as_str());
    let awaiting = json(&run(
        &daemon,
        &[
            "ls", "--state", "awaiting", "--agent", "demo", "--since", "1h", "--json",
        ],
    ));
    assert_eq!(awaiting.as_array().unwrap().len(), 2);
    assert_eq!(
        json(&run(&daemon, &["ls", "--agent", "codex", "--json"])),
        serde_json::json!([])
    );
    let bad = run(&daemon, &["ls", "--since", "soon"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since `soon`"));

    // The transcript reads back from the log alone, the agent killed.
    assert!(run(&daemon, &["kill", first.as_str()]).status.success());
    let shown = run(&daemon, &["show", first.as_str()]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("› the café refactoring plan"), "{text}");
    assert!(
        text.contains("You said: the café refactoring plan"),
        "{text}"
    );
    assert!(text.contains("permission: Write"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_imports_into_an_identical_log_and_a_corrupted_one_is_refused() {
    let daemon = daemon().await;
    let (first, _) = sessions(&daemon).await;
    let export = daemon.root().join("export.jsonl");
    let exported = run(
        &daemon,
        &["export", first.as_str(), "-o", export.to_str().unwrap()],
    );
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["vpdExport"], 1);
    assert_eq!(lines[1]["seq"], 1);
    // Every line but the header is a schema-valid update.
    for line in &lines[1..] {
        serde_json::from_value::<SessionUpdate>(line["update"].clone()).unwrap();
    }

    let imported = run(&daemon, &["import", export.to_str().unwrap()]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let copy: viewport_protocol::SessionId = String::from_utf8_lossy(&imported.stdout)
        .trim()
        .parse()
        .unwrap();
    let mut client = daemon.client().await.unwrap();
    let summary = client.subscribe(&copy, 0).await.unwrap().session;
    // The live session it came from was awaiting a permission: the copy
    // closes that prompt and ends.
    assert_eq!(summary.state, SessionState::Ended);
    assert_eq!(summary.pending_prompts, 0);
    let seen = updates_until(&mut client, |seq, _| seq >= summary.last_seq)
        .await
        .unwrap();
    let original: Vec<&serde_json::Value> = lines[1..].iter().map(|l| &l["update"]).collect();
    let copied: Vec<serde_json::Value> = seen
        .iter()
        .map(|(_, u)| serde_json::to_value(u).unwrap())
        .collect();
    assert_eq!(
        &copied[..original.len()],
        &original.into_iter().cloned().collect::<Vec<_>>()[..]
    );

    let sessions_before = client.list_sessions().await.unwrap().len();
    let mut corrupted: Vec<&str> = text.lines().collect();
    corrupted[3] = "{\"seq\": 3, \"update\": {\"updateType\": \"no-such-update\"}}";
    std::fs::write(&export, corrupted.join("\n")).unwrap();
    let refused = run(&daemon, &["import", export.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("line 4"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(
        client.list_sessions().await.unwrap().len(),
        sessions_before,
        "nothing half-imported"
    );

    // The ACP transcript is `session/update` notifications ACP itself reads.
    let acp = run(&daemon, &["export", first.as_str(), "--format", "acp"]);
    let acp = String::from_utf8_lossy(&acp.stdout);
    let notifications: Vec<agent_client_protocol::v1::schema::SessionNotification> = acp
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["method"], "session/update");
            serde_json::from_value(value["params"].clone())
                .unwrap_or_else(|e| panic!("{line}: {e}"))
        })
        .collect();
    assert!(notifications.len() >= 4, "{acp}");
    assert!(
        acp.contains("\"tool_call\"") && acp.contains("the café refactoring plan"),
        "{acp}"
    );
    let markdown = run(&daemon, &["export", first.as_str(), "--format", "markdown"]);
    let markdown = String::from_utf8_lossy(&markdown.stdout);
    assert!(
        markdown.contains("**User:** the café refactoring plan"),
        "{markdown}"
    );
    assert!(
        markdown.contains("**Agent:** This is the viewport demo agent"),
        "{markdown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_replays_its_parents_prefix_then_its_own_updates_densely() {
    let daemon = daemon().await;
    let (parent, _) = sessions(&daemon).await;
    let forked = run(&daemon, &["fork", parent.as_str(), "--at", "5"]);
    assert!(
        forked.status.success(),
        "{}",
        String::from_utf8_lossy(&forked.stderr)
    );
    let fork: viewport_protocol::SessionId = String::from_utf8_lossy(&forked.stdout)
        .trim()
        .parse()
        .unwrap();
    let mut client = daemon.client().await.unwrap();
    let summary = client.subscribe(&fork, 0).await.unwrap().session;
    let from = summary.forked_from.clone().unwrap();
    assert_eq!((from.session_id, from.seq), (parent.clone(), 5));
    let fork_log = updates_until(&mut client, |seq, _| seq >= summary.last_seq)
        .await
        .unwrap();
    let seqs: Vec<u64> = fork_log.iter().map(|(seq, _)| *seq).collect();
    assert_dense(&seqs, 1, summary.last_seq);

    let mut parent_client = daemon.client().await.unwrap();
    parent_client.subscribe(&parent, 0).await.unwrap();
    let parent_log = updates_until(&mut parent_client, |seq, _| seq >= 5)
        .await
        .unwrap();
    assert_eq!(
        &fork_log[..5],
        &parent_log[..],
        "the fork shares the parent's first 5 updates"
    );
    assert!(matches!(&fork_log[5].1,
        SessionUpdate::SystemStatus(viewport_protocol::update::SystemStatus::Notice { message }) if message.contains("forked from")));
    assert_eq!(summary.state, SessionState::Ended);

    let resumed = run(&daemon, &["resume", fork.as_str()]);
    assert!(
        String::from_utf8_lossy(&resumed.stderr).contains("it is a fork"),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let too_far = run(&daemon, &["fork", parent.as_str(), "--at", "100000"]);
    assert!(String::from_utf8_lossy(&too_far.stderr).contains("cannot fork it at 100000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_list_pages_newest_first() {
    let daemon = daemon().await;
    sessions(&daemon).await;
    launched(&daemon, "a third one", SessionState::Awaiting).await;
    let mut client = daemon.client().await.unwrap();
    let all: Vec<_> = client
        .list_sessions()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.session_id)
        .collect();
    let first = client.list_sessions_page(2, None).await.unwrap();
    assert_eq!(first.sessions.len(), 2);
    let next = first.next.clone().expect("a third session follows");
    let second = client.list_sessions_page(2, Some(next)).await.unwrap();
    assert_eq!(second.next, None);
    let paged: Vec<_> = first
        .sessions
        .into_iter()
        .chain(second.sessions)
        .map(|s| s.session_id)
        .collect();
    assert_eq!(paged, all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_tool_output_is_kept_as_a_file_and_fetched_on_demand() {
    let daemon = daemon().await;
    let session = launched(&daemon, "big-output 200000", SessionState::Idle).await;
    let mut client = daemon.client().await.unwrap();
    client.subscribe(&session, 0).await.unwrap();
    let seen = updates_until(&mut client, |_, u| {
        matches!(u, SessionUpdate::StepCommitted(_))
    })
    .await
    .unwrap();
    let kept = seen.iter().find_map(|(_, u)| match u {
        SessionUpdate::ToolCallUpdate(update) => update.content.as_ref().and_then(|c| {
            c.iter().find_map(|content| match content {
                viewport_protocol::update::ToolContent::File {
                    name,
                    size,
                    sha256,
                    preview,
                } => Some((name.clone(), *size, sha256.clone(), preview.clone())),
                _ => None,
            })
        }),
        _ => None,
    });
    let (name, size, sha256, preview) = kept.expect("the big output is a file reference");
    assert!(
        size >= 200_000 && name.starts_with(&sha256),
        "{name} {size}"
    );
    assert!(preview.len() <= 2048 && preview.starts_with("0123456789"));
    let output = run(&daemon, &["output", session.as_str(), &name]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.stdout.len() as u64, size);
    let refused = run(&daemon, &["output", session.as_str(), "../../viewport.db"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not the name of a kept output"));
}
