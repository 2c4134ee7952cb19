//! The fault harness's short form: the daemon killed with SIGKILL at
//! several moments of a burst, a viewport attached; each time the restarted
//! daemon takes the agent over, the turn completes, and the viewport sees
//! every update exactly once, all of them stored with dense seqs.

use viewport_testkit::faults::kill_during_burst;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_mid_burst_is_taken_over_and_loses_or_repeats_nothing() {
    let mut daemon = daemon().await;
    let mut mid_burst = false;
    // From the burst's first chunk: at once, and further into it.
    for millis in [0, 50, 200, 500] {
        let report = kill_during_burst(&mut daemon, 20_000, Duration::from_millis(millis))
            .await
            .unwrap_or_else(|e| panic!("killed {millis} ms into the burst: {e:#}"));
        assert_eq!(
            report.stored,
            report.received + report.after_restart,
            "{report:?}"
        );
        mid_burst |= report.received > 100;
    }
    assert!(
        mid_burst,
        "some kill came while the viewport was receiving the burst"
    );
}
