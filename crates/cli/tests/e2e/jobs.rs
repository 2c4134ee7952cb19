//! One-off jobs: statuses, the parallel limit, and a queue that outlives
//! the daemon.

use viewport_protocol::JobId;
use viewport_protocol::jobs::{JobInfo, JobStatus};

use super::*;

async fn wait_for_job(daemon: &TestDaemon, id: &JobId, done: impl Fn(&JobInfo) -> bool) -> JobInfo {
    let mut client = daemon.client().await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let jobs = client.list_jobs().await.unwrap();
        let job = jobs.iter().find(|j| &j.job_id == id).unwrap().clone();
        if done(&job) {
            return job;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job never got there: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn enqueue(daemon: &TestDaemon, command: &str) -> JobInfo {
    let directory = daemon.work_directory().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    client.enqueue_job(directory, command, None).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_complete_or_fail_with_their_exit_code() {
    let daemon = daemon().await;
    let good = enqueue(&daemon, "echo fine").await;
    let bad = enqueue(&daemon, "echo broken; exit 5").await;
    let good = wait_for_job(&daemon, &good.job_id, |j| j.status.is_done()).await;
    let bad = wait_for_job(&daemon, &bad.job_id, |j| j.status.is_done()).await;
    assert_eq!(
        (good.status, good.exit_code),
        (JobStatus::Completed, Some(0))
    );
    assert_eq!((bad.status, bad.exit_code), (JobStatus::Failed, Some(5)));
    assert!(bad.started_at.is_some() && bad.ended_at >= bad.started_at);
    let listed = daemon.vpd().args(["jobs", "--json"]).output().unwrap();
    let jobs: Vec<JobInfo> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(jobs.len(), 2);
    let logs = daemon.vpd().args(["logs", &bad.name]).output().unwrap();
    assert!(String::from_utf8_lossy(&logs.stdout).contains("broken"));
    let shown = daemon
        .vpd()
        .args(["show", &bad.name, "--json"])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["jobId"], bad.job_id.as_str());
    assert_eq!(shown["exitCode"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_max_parallel_jobs_run_at_once() {
    let daemon = daemon().await;
    let mut queued = Vec::new();
    for _ in 0..3 {
        queued.push(enqueue(&daemon, "sleep 1").await);
    }
    let statuses: Vec<JobStatus> = queued.iter().map(|j| j.status).collect();
    assert_eq!(
        statuses,
        [JobStatus::Running, JobStatus::Running, JobStatus::Queued],
        "the default limit is 2"
    );
    let last = wait_for_job(&daemon, &queued[2].job_id, |j| j.status.is_done()).await;
    assert_eq!(last.status, JobStatus::Completed);
    let mut first_end = i64::MAX;
    for job in &queued[..2] {
        let done = wait_for_job(&daemon, &job.job_id, |j| j.status.is_done()).await;
        first_end = first_end.min(done.ended_at.unwrap());
    }
    assert!(
        last.started_at.unwrap() >= first_end,
        "the third job waited for a slot: started {:?}, first end {first_end}",
        last.started_at
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_on_and_queued_jobs_start_after_a_daemon_restart() {
    let mut daemon = TestDaemon::unstarted(vpd()).unwrap();
    daemon
        .boot_with(&["--jobs-max-parallel", "1"])
        .await
        .unwrap();
    let long = enqueue(&daemon, "sleep 2; echo ran-through > long.txt").await;
    let later = enqueue(&daemon, "echo ran-later > later.txt").await;
    assert_eq!(
        (long.status, later.status),
        (JobStatus::Running, JobStatus::Queued)
    );
    daemon.restart().await.unwrap();
    // The running job's terminal is taken over: it runs to its end.
    let long = wait_for_job(&daemon, &long.job_id, |j| j.status.is_done()).await;
    assert_eq!(long.status, JobStatus::Completed);
    let through = std::fs::read_to_string(daemon.work_dir().join("long.txt")).unwrap();
    assert_eq!(through, "ran-through\n");
    let later = wait_for_job(&daemon, &later.job_id, |j| j.status.is_done()).await;
    assert_eq!(later.status, JobStatus::Completed);
    let written = std::fs::read_to_string(daemon.work_dir().join("later.txt")).unwrap();
    assert_eq!(written, "ran-later\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parallel_limit_comes_from_config_when_not_given() {
    let mut daemon = TestDaemon::unstarted(vpd()).unwrap();
    std::fs::write(
        daemon.home().join("config.yaml"),
        "jobs:\n  maxParallel: 1\n",
    )
    .unwrap();
    daemon.boot_with(&[]).await.unwrap();
    let first = enqueue(&daemon, "sleep 1").await;
    let second = enqueue(&daemon, "sleep 1").await;
    assert_eq!(
        (first.status, second.status),
        (JobStatus::Running, JobStatus::Queued)
    );
    let second = wait_for_job(&daemon, &second.job_id, |j| j.status.is_done()).await;
    assert_eq!(second.status, JobStatus::Completed);
}
