//! Permission prompts wait for a viewport; the first answer wins.

use viewport_protocol::options::{ConfigOverrides, PermissionPolicy, TimeoutOutcome};
use viewport_protocol::update::PermissionOutcome;
use viewport_protocol::{ErrorCode, SessionId, SessionState, SessionUpdate};

use super::*;

async fn open_prompt(daemon: &TestDaemon, session: &SessionId) -> viewport_protocol::PromptId {
    daemon
        .wait_for_state(session, SessionState::Awaiting)
        .await
        .unwrap();
    let mut client = daemon.client().await.unwrap();
    let state = client.session_state(session).await.unwrap();
    assert_eq!(state.pending_prompts.len(), 1);
    state.pending_prompts[0].request.prompt_id.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_waits_with_no_viewport_and_is_answered_after_reconnect() {
    let daemon = daemon().await;
    let session = launched(&daemon, "ask", SessionState::Awaiting).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut late = daemon.tcp_client().await.unwrap();
    let state = late.subscribe(&session, 0).await.unwrap();
    assert_eq!(state.session.state, SessionState::Awaiting);
    let prompt = &state.pending_prompts[0].request;
    late.respond(&session, &prompt.prompt_id, Some("reject"))
        .await
        .unwrap();
    let seen = updates_until(&mut late, |_, u| chosen(u).is_some())
        .await
        .unwrap();
    assert_eq!(chosen(&seen.last().unwrap().1).as_deref(), Some("reject"));
    assert!(seen.iter().any(|(_, u)| matches!(u,
        SessionUpdate::PermissionResolved(r) if r.outcome == PermissionOutcome::Selected { option_id: "reject".into() })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_answers_at_once_exactly_one_wins() {
    let daemon = daemon().await;
    let session = daemon.launch("ask").await.unwrap();
    let prompt = open_prompt(&daemon, &session).await;
    let (mut a, mut b) = (
        daemon.client().await.unwrap(),
        daemon.tcp_client().await.unwrap(),
    );
    let (ra, rb) = tokio::join!(
        a.respond(&session, &prompt, Some("allow")),
        b.respond(&session, &prompt, Some("reject"))
    );
    let results = [ra, rb];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert_eq!(loser.code(), Some(ErrorCode::PromptResolved), "{loser}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_an_unknown_prompt_or_an_unknown_option_is_a_clear_error() {
    let daemon = daemon().await;
    let session = daemon.launch("ask").await.unwrap();
    let prompt = open_prompt(&daemon, &session).await;
    let mut client = daemon.client().await.unwrap();
    let unknown = client
        .respond(&session, &"prm_0".parse().unwrap(), Some("allow"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some(ErrorCode::UnknownPrompt));
    let bad_option = client
        .respond(&session, &prompt, Some("maybe"))
        .await
        .unwrap_err();
    assert_eq!(bad_option.code(), Some(ErrorCode::InvalidFrame));
    assert!(
        bad_option.to_string().contains("allow"),
        "names the options: {bad_option}"
    );
    client.respond(&session, &prompt, None).await.unwrap();
    let again = client
        .respond(&session, &prompt, Some("allow"))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some(ErrorCode::PromptResolved));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_asks_answered_from_other_viewports_all_reach_the_agent() {
    let daemon = daemon().await;
    let directory = daemon.work_directory().await.unwrap();
    let mut launcher = daemon.client().await.unwrap();
    let session = launcher
        .launch(directory, "ask", Some("demo"))
        .await
        .unwrap();
    drop(launcher);
    let mut watcher = daemon.client().await.unwrap();
    watcher.subscribe(&session, 0).await.unwrap();
    // `allow-always` would answer the next asks itself (see below).
    let options = ["allow", "reject"];
    for turn in 0..100 {
        let request = updates_until(&mut watcher, |_, u| {
            matches!(u, SessionUpdate::PermissionRequest(_))
        })
        .await
        .unwrap();
        let Some((_, SessionUpdate::PermissionRequest(request))) = request.into_iter().last()
        else {
            unreachable!()
        };
        let answer = options[turn % options.len()];
        let mut answerer = daemon.tcp_client().await.unwrap();
        answerer
            .respond(&session, &request.prompt_id, Some(answer))
            .await
            .unwrap();
        let reported = updates_until(&mut watcher, |_, u| chosen(u).is_some())
            .await
            .unwrap();
        assert_eq!(
            chosen(&reported.last().unwrap().1).as_deref(),
            Some(answer),
            "turn {turn}"
        );
        updates_until(&mut watcher, |_, u| is_state(u, SessionState::Idle))
            .await
            .unwrap();
        if turn < 99 {
            let mut sender = daemon.client().await.unwrap();
            sender.prompt(&session, "ask").await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_ends_a_hanging_turn_and_keeps_the_session() {
    let daemon = daemon().await;
    let session = daemon.launch("hang").await.unwrap();
    let mut client = daemon.client().await.unwrap();
    client.subscribe(&session, 0).await.unwrap();
    updates_until(&mut client, |_, u| is_state(u, SessionState::Active))
        .await
        .unwrap();
    client.cancel(&session).await.unwrap();
    let seen = updates_until(&mut client, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    assert!(
        seen.iter()
            .any(|(_, u)| matches!(u, SessionUpdate::StepCommitted(s)
        if s.stop_reason == viewport_protocol::update::StopReason::Cancelled))
    );
    client.prompt(&session, "burst 2").await.unwrap();
    let seen = updates_until(&mut client, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    assert_eq!(
        seen.iter()
            .filter(|(_, u)| matches!(u, SessionUpdate::AgentMessageChunk(_)))
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_always_answers_the_same_kind_of_request_for_the_rest_of_the_session() {
    let daemon = daemon().await;
    let session = daemon.launch("ask").await.unwrap();
    let prompt = open_prompt(&daemon, &session).await;
    let mut client = daemon.client().await.unwrap();
    client.subscribe(&session, 0).await.unwrap();
    client
        .respond(&session, &prompt, Some("allow-always"))
        .await
        .unwrap();
    updates_until(&mut client, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    client.prompt(&session, "ask").await.unwrap();
    let seen = updates_until(&mut client, |_, u| chosen(u).is_some())
        .await
        .unwrap();
    assert_eq!(chosen(&seen.last().unwrap().1).as_deref(), Some("allow"));
    let resolved = seen.iter().find_map(|(_, u)| match u {
        SessionUpdate::PermissionResolved(r) => Some(r.clone()),
        _ => None,
    });
    let reason = resolved.and_then(|r| r.reason).unwrap_or_default();
    assert!(reason.contains("allowed always"), "recorded why: {reason}");
}

async fn launch_with_policy(
    daemon: &TestDaemon,
    prompt: &str,
    policy: PermissionPolicy,
) -> (SessionId, Vec<(u64, SessionUpdate)>) {
    let overrides = ConfigOverrides {
        permission_policy: Some(policy),
        ..ConfigOverrides::default()
    };
    let (mut client, session) = daemon.launch_following(prompt, overrides).await.unwrap();
    let seen = updates_until(&mut client, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    (session, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_answers_for_the_user_and_records_each_decision() {
    let daemon = daemon().await;
    for (policy, answer) in [
        (PermissionPolicy::AllowAll, "allow"),
        (PermissionPolicy::DenyAll, "reject"),
    ] {
        let (_, seen) = launch_with_policy(&daemon, "ask", policy).await;
        let chose = seen.iter().find_map(|(_, u)| chosen(u));
        assert_eq!(chose.as_deref(), Some(answer), "{policy:?}");
        let reason = seen.iter().find_map(|(_, u)| match u {
            SessionUpdate::PermissionResolved(r) => r.reason.clone(),
            _ => None,
        });
        assert_eq!(reason, Some(format!("policy {}", policy.as_str())));
        assert!(
            seen.iter()
                .any(|(_, u)| matches!(u, SessionUpdate::PermissionRequest(_))),
            "the request itself is an event too"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_nobody_answers_gets_the_timeout_answer() {
    let daemon = daemon().await;
    let overrides = ConfigOverrides {
        permission_timeout_secs: Some(1),
        permission_timeout_outcome: Some(TimeoutOutcome::Allow),
        ..ConfigOverrides::default()
    };
    let (mut client, _) = daemon.launch_following("ask", overrides).await.unwrap();
    let seen = updates_until(&mut client, |_, u| chosen(u).is_some())
        .await
        .unwrap();
    assert_eq!(chosen(&seen.last().unwrap().1).as_deref(), Some("allow"));
    assert!(seen.iter().any(|(_, u)| matches!(u,
        SessionUpdate::PermissionResolved(r) if r.reason.as_deref() == Some("nobody answered within 1s"))));
}
