//! `vpd agents`: the profiles the daemon offers, and whether each is installed.

use std::process::ExitCode;

use anyhow::Result;

use super::print_json;
use crate::cli::ListArgs;
use crate::connect::connect;

pub async fn list(args: ListArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let agents = client.list_agents().await?;
    if args.json {
        print_json(&agents)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<12} {:<10} DESCRIPTION", "AGENT", "INSTALLED");
    for agent in &agents {
        let installed = if agent.installed { "yes" } else { "no" };
        println!("{:<12} {installed:<10} {}", agent.name, agent.description);
        if agent.installed {
            println!("{:<12} {:<10} runs {}", "", "", agent.program);
        } else if let Some(install) = &agent.install {
            println!("{:<12} {:<10} install: {install}", "", "");
        }
    }
    Ok(ExitCode::SUCCESS)
}
