//! `vpd workflow run|ls`: config workflows run by the daemon, followed here;
//! and `vpd plans`, the plans sessions made.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use viewport_protocol::update::PlanEntryStatus;
use viewport_protocol::workflows::{RunStatus, WorkflowRun};

use super::print_json;
use crate::cli::WorkflowCommand;
use crate::connect::connect;

/// How often a followed run is looked at.
const POLL: Duration = Duration::from_millis(300);

pub async fn run(command: WorkflowCommand) -> Result<ExitCode> {
    match command {
        WorkflowCommand::Run {
            name,
            dir,
            detach,
            json,
        } => start(&name, &dir, detach, json).await,
        WorkflowCommand::Ls(args) => list(args.json).await,
    }
}

async fn start(name: &str, dir: &std::path::Path, detach: bool, json: bool) -> Result<ExitCode> {
    let mut client = connect().await?;
    let dir =
        std::fs::canonicalize(dir).with_context(|| format!("cannot use {}", dir.display()))?;
    let directory = client.add_directory(&dir.to_string_lossy()).await?;
    let run = client
        .run_workflow(directory.directory_id, name, None)
        .await?;
    if detach {
        println!("{}", run.run_id);
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("vpd: workflow {name} ({}) in {}", run.run_id, dir.display());
    let mut shown: BTreeMap<String, RunStatus> = BTreeMap::new();
    loop {
        let runs = client.list_workflow_runs().await?;
        let current = runs
            .into_iter()
            .find(|r| r.run_id == run.run_id)
            .context("the run is no longer recorded")?;
        for step in &current.steps {
            if shown.get(&step.name) != Some(&step.status) && step.status != RunStatus::Pending {
                shown.insert(step.name.clone(), step.status);
                let session = step
                    .session_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let detail = step
                    .detail
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                eprintln!("  {:<10} {:<16} {session}{detail}", step.status, step.name);
            }
        }
        if current.status.is_done() {
            if json {
                print_json(&current)?;
            }
            eprintln!("vpd: workflow {name} {}", current.status);
            return Ok(if current.status == RunStatus::Completed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(super::EXIT_SESSION_FAILED)
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn list(json: bool) -> Result<ExitCode> {
    let mut client = connect().await?;
    let runs = client.list_workflow_runs().await?;
    if json {
        print_json(&runs)?;
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!(
            "no workflow runs yet (`vpd workflow run NAME`; `vpd config resolve` lists the workflows)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<37} {:<16} {:<10} STEPS", "RUN", "WORKFLOW", "STATUS");
    for run in &runs {
        println!(
            "{:<37} {:<16} {:<10} {}",
            run.run_id,
            run.workflow,
            run.status,
            steps_summary(run)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn steps_summary(run: &WorkflowRun) -> String {
    run.steps
        .iter()
        .map(|s| format!("{}:{}", s.name, s.status))
        .collect::<Vec<_>>()
        .join(" ")
}

pub async fn plans(json: bool) -> Result<ExitCode> {
    let mut client = connect().await?;
    let plans = client.list_plans().await?;
    if json {
        print_json(&plans)?;
        return Ok(ExitCode::SUCCESS);
    }
    if plans.is_empty() {
        println!("no session has a plan yet");
    }
    for plan in &plans {
        println!("{} (update {})", plan.session_id, plan.seq);
        for entry in &plan.entries {
            let mark = match entry.status {
                PlanEntryStatus::Completed => "x",
                PlanEntryStatus::InProgress => "~",
                PlanEntryStatus::Pending => " ",
            };
            println!("  [{mark}] {}", entry.content);
        }
    }
    Ok(ExitCode::SUCCESS)
}
