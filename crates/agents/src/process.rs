//! Processes vpd did not start but watches: the agent behind an observed
//! session, found from the hook it runs.

/// Programs that run a hook command for the agent (`sh -c "vpd hook …"`).
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "fish"];

/// The agent that ran this hook: the parent process, or the parent's parent
/// when the parent is the shell that ran the hook command.
pub fn hook_caller() -> Option<u32> {
    let parent = std::os::unix::process::parent_id();
    match status(parent) {
        Some(stat) if SHELLS.contains(&stat.name.as_str()) => Some(stat.parent),
        _ => Some(parent),
    }
}

/// Whether a process with this id still runs (a zombie does not).
pub fn is_running(pid: u32) -> bool {
    match status(pid) {
        Some(stat) => stat.state != 'Z' && stat.state != 'X',
        None if cfg!(target_os = "linux") => false,
        None => {
            let Ok(pid) = i32::try_from(pid) else {
                return false;
            };
            // Elsewhere: signal 0 tells whether the id is taken.
            let probe = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None);
            matches!(probe, Ok(()) | Err(nix::errno::Errno::EPERM))
        }
    }
}

/// What `/proc/PID/stat` says of a process (Linux only).
struct ProcStat {
    name: String,
    state: char,
    parent: u32,
}

fn status(pid: u32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `PID (NAME) STATE PPID …`; the name may itself hold spaces and parens.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let parent = rest.next()?.parse().ok()?;
    Some(ProcStat {
        name,
        state,
        parent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_and_an_exited_child_does_not() {
        assert!(is_running(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!is_running(pid));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn proc_stat_names_the_parent() {
        let me = status(std::process::id()).unwrap();
        assert!(!me.name.is_empty());
        assert_eq!(me.parent, std::os::unix::process::parent_id());
    }
}
