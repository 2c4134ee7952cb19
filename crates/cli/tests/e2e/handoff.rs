//! Replay then live, with no gap and no duplicate.

use rand::Rng;
use viewport_protocol::{SessionState, SessionUpdate};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_viewports_joining_mid_burst_each_see_a_dense_sequence() {
    let daemon = daemon().await;
    let session = daemon.launch("burst 50000").await.unwrap();
    let mut viewers = Vec::new();
    for i in 0..20u64 {
        let mut client = daemon.client().await.unwrap();
        let session = session.clone();
        let (delay, after) = {
            let mut rng = rand::rng();
            (rng.random_range(0..400), rng.random_range(0..40_000u64))
        };
        viewers.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay + i)).await;
            client.subscribe(&session, after).await.unwrap();
            let seen = updates_until(&mut client, |_, u| is_state(u, SessionState::Idle))
                .await
                .unwrap();
            (
                after,
                seen.into_iter().map(|(seq, _)| seq).collect::<Vec<_>>(),
            )
        }));
    }
    let mut last_seqs = Vec::new();
    for viewer in viewers {
        let (after, seqs) = viewer.await.unwrap();
        let last = *seqs.last().unwrap();
        assert!(last > 50_000, "the burst has 50000 chunks; last seq {last}");
        assert_dense(&seqs, after + 1, last);
        last_seqs.push(last);
    }
    last_seqs.dedup();
    assert_eq!(last_seqs.len(), 1, "every viewport ends at the same seq");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_viewport_that_drops_mid_stream_resumes_where_it_left() {
    let daemon = daemon().await;
    let session = daemon.launch("burst 20000").await.unwrap();
    let mut first = daemon.client().await.unwrap();
    first.subscribe(&session, 0).await.unwrap();
    let part_one = updates_until(&mut first, |seq, _| seq >= 5_000)
        .await
        .unwrap();
    drop(first);
    let resume_at = part_one.last().unwrap().0;
    let mut second = daemon.tcp_client().await.unwrap();
    second.subscribe(&session, resume_at).await.unwrap();
    let part_two = updates_until(&mut second, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    let seqs: Vec<u64> = part_one
        .iter()
        .chain(&part_two)
        .map(|(seq, _)| *seq)
        .collect();
    assert_dense(&seqs, 1, *seqs.last().unwrap());
    let chunks = part_one
        .iter()
        .chain(&part_two)
        .filter(|(_, u)| matches!(u, SessionUpdate::AgentMessageChunk(_)))
        .count();
    assert_eq!(chunks, 20_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_complete_message_is_stored_after_its_chunks() {
    let daemon = daemon().await;
    let session = daemon.launch("burst 3").await.unwrap();
    let mut client = daemon.client().await.unwrap();
    client.subscribe(&session, 0).await.unwrap();
    let seen = updates_until(&mut client, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    let messages: Vec<&str> = seen
        .iter()
        .filter_map(|(_, u)| match u {
            SessionUpdate::AgentMessage(m) => Some(m.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(messages, vec!["chunk 1 chunk 2 chunk 3 "]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_feed_announces_new_sessions_and_their_end() {
    let daemon = daemon().await;
    let mut feed = daemon.client().await.unwrap();
    let before = feed.subscribe_list().await.unwrap();
    assert!(before.is_empty());
    let session = daemon.launch("crash").await.unwrap();
    let mut started = false;
    loop {
        match next(&mut feed).await.unwrap() {
            ServerFrame::SessionStarted { session_id, .. } => {
                assert_eq!(session_id, session);
                started = true;
            }
            ServerFrame::SessionUpdate { update, .. } => {
                assert!(
                    matches!(update, SessionUpdate::StateChange(_)),
                    "the feed carries only state changes"
                );
            }
            ServerFrame::SessionEnded {
                session_id, reason, ..
            } => {
                assert_eq!(session_id, session);
                assert_eq!(reason, viewport_protocol::EndReason::Failed);
                break;
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
    assert!(started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_viewport_never_slows_the_agent_and_catches_up_from_the_store() {
    let daemon = daemon().await;
    let session = daemon.launch("burst 50000").await.unwrap();
    let mut stalled = daemon.client().await.unwrap();
    stalled.subscribe(&session, 0).await.unwrap();
    // The viewport reads nothing while the whole burst is stored.
    daemon
        .wait_for_state(&session, SessionState::Idle)
        .await
        .unwrap();
    let seen = updates_until(&mut stalled, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    let seqs: Vec<u64> = seen.iter().map(|(seq, _)| *seq).collect();
    assert_dense(&seqs, 1, *seqs.last().unwrap());
    assert!(seqs.len() > 50_000);
}
