//! Hook bridge latency: how long `vpd hook claude` takes, as Claude Code
//! runs it (a new process, the event on stdin), with the daemon up (the
//! event stored before the hook returns) and with the daemon down. The
//! baseline is the same binary doing nothing but start and exit
//! (`vpd --version`), measured in the same run.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use viewport_testkit::daemon::TestDaemon;

use crate::Sizes;

/// Milliseconds each run of `command` took, `runs` times, `input` on stdin.
fn time_runs(mut command: impl FnMut() -> Command, input: &[u8], runs: u64) -> Result<Vec<f64>> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = command()
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start vpd")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input)?;
        }
        let status = child.wait()?;
        if !status.success() {
            bail!("vpd exited with {status}");
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

fn report(label: &str, times: &[f64], baseline_p50: f64) {
    let p50 = percentile(times, 0.5);
    println!(
        "{label:<34} p50 {p50:>6.2} ms  p99 {:>6.2} ms  ({:.2}x the baseline p50)",
        percentile(times, 0.99),
        p50 / baseline_p50
    );
}

pub async fn run(vpd: &Path, sizes: &Sizes) -> Result<()> {
    let runs = sizes.hook_runs;
    println!("\n== hook bridge: `vpd hook claude` as Claude Code runs it, {runs} runs each");
    let mut daemon = TestDaemon::start(vpd).await?;
    daemon.work_directory().await?;
    let home = daemon.home();
    let cwd = daemon.work_dir().display().to_string();
    let hook = || {
        let mut command = Command::new(vpd);
        command.args(["hook", "claude"]).env("VIEWPORT_HOME", &home);
        command
    };
    let baseline = time_runs(
        || {
            let mut command = Command::new(vpd);
            command.arg("--version");
            command
        },
        b"",
        runs,
    )?;
    let baseline_p50 = percentile(&baseline, 0.5);
    report("baseline: vpd --version", &baseline, baseline_p50);

    let start = serde_json::json!({"hook_event_name": "SessionStart", "session_id": "bench",
                                   "cwd": cwd, "source": "startup"});
    time_runs(hook, start.to_string().as_bytes(), 1)?;
    let tool = serde_json::json!({"hook_event_name": "PostToolUse", "session_id": "bench",
        "cwd": cwd, "tool_name": "Bash", "tool_use_id": "toolu_1",
        "tool_response": {"stdout": "ok"}});
    let up = tool_runs(hook, &tool, runs)?;
    report("daemon up (event stored)", &up, baseline_p50);

    daemon.kill_hard();
    let down = tool_runs(hook, &tool, runs)?;
    report("daemon down (exits at once)", &down, baseline_p50);
    Ok(())
}

fn tool_runs(
    hook: impl FnMut() -> Command,
    event: &serde_json::Value,
    runs: u64,
) -> Result<Vec<f64>> {
    time_runs(hook, event.to_string().as_bytes(), runs)
}
