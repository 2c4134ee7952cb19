//! `vpd daemon install` and `uninstall`: the daemon as a service of the
//! user's, started at login and restarted on failure. systemd user units on
//! Linux, launchd agents on macOS. The unit runs this very `vpd` binary on
//! this data home.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use viewport_daemon::DataHome;

/// What the service is called.
const NAME: &str = "vpd";
const LAUNCHD_LABEL: &str = "dev.viewport.vpd";

pub fn install(enable: bool) -> Result<ExitCode> {
    let vpd = std::env::current_exe().context("cannot find the vpd executable")?;
    let home = DataHome::from_env()?;
    let unit = unit_file()?;
    if let Some(dir) = unit.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&unit, unit_text(&vpd, home.root()))
        .with_context(|| format!("cannot write {}", unit.display()))?;
    eprintln!("vpd: wrote {}", unit.display());
    if !enable {
        eprintln!("vpd: not enabled (--no-enable); {}", enable_hint(&unit));
        return Ok(ExitCode::SUCCESS);
    }
    // A daemon started by hand would hold the data home's lock.
    let _ = Command::new(&vpd).args(["daemon", "stop"]).status();
    for args in enable_commands(&unit) {
        run(&args)?;
    }
    eprintln!("vpd: the daemon now runs as a service: it starts at login and restarts if it fails");
    Ok(ExitCode::SUCCESS)
}

pub fn uninstall() -> Result<ExitCode> {
    let unit = unit_file()?;
    if !unit.exists() {
        eprintln!(
            "vpd: no service is installed ({} is not there)",
            unit.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for args in disable_commands(&unit) {
        if let Err(e) = run(&args) {
            eprintln!("vpd: {e:#}");
        }
    }
    std::fs::remove_file(&unit).with_context(|| format!("cannot remove {}", unit.display()))?;
    eprintln!("vpd: removed {}", unit.display());
    Ok(ExitCode::SUCCESS)
}

fn run(args: &[String]) -> Result<()> {
    let (program, rest) = args.split_first().context("an empty command")?;
    let status = Command::new(program)
        .args(rest)
        .status()
        .with_context(|| format!("cannot run `{}`", args.join(" ")))?;
    if !status.success() {
        bail!("`{}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// The unit file: `$XDG_CONFIG_HOME/systemd/user/vpd.service` (or under
/// `~/.config`), or `~/Library/LaunchAgents/dev.viewport.vpd.plist`.
fn unit_file() -> Result<PathBuf> {
    let user_home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set")?;
    if cfg!(target_os = "macos") {
        return Ok(user_home.join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist")));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| user_home.join(".config"));
    Ok(config.join(format!("systemd/user/{NAME}.service")))
}

fn unit_text(vpd: &Path, data_home: &Path) -> String {
    if cfg!(target_os = "macos") {
        launchd_plist(vpd, data_home)
    } else {
        systemd_unit(vpd, data_home)
    }
}

fn systemd_unit(vpd: &Path, data_home: &Path) -> String {
    format!(
        "[Unit]\n\
         Description=vpd: the daemon that owns your agent sessions\n\
         Documentation=https://github.com/viewport-dev/viewport\n\
         \n\
         [Service]\n\
         Environment=\"VIEWPORT_HOME={home}\"\n\
         ExecStart=\"{vpd}\" daemon\n\
         ExecStop=\"{vpd}\" daemon stop\n\
         Restart=on-failure\n\
         KillMode=process\n\
         RestartSec=2\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        home = systemd_escape(data_home),
        vpd = systemd_escape(vpd),
    )
}

/// `%` starts a specifier in a unit file; `"` and `\` end or escape a quoted word.
fn systemd_escape(path: &Path) -> String {
    path.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
}

fn xml_escape(path: &Path) -> String {
    path.display()
        .to_string()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn launchd_plist(vpd: &Path, data_home: &Path) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>{LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key><array><string>{vpd}</string><string>daemon</string></array>
  <key>EnvironmentVariables</key><dict><key>VIEWPORT_HOME</key><string>{home}</string></dict>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
  <key>StandardErrorPath</key><string>{log}</string>
</dict>
</plist>
"#,
        vpd = xml_escape(vpd),
        home = xml_escape(data_home),
        log = xml_escape(&data_home.join("daemon.log")),
    )
}

fn enable_commands(unit: &Path) -> Vec<Vec<String>> {
    if cfg!(target_os = "macos") {
        vec![owned(&[
            "launchctl",
            "load",
            "-w",
            &unit.display().to_string(),
        ])]
    } else {
        vec![
            owned(&["systemctl", "--user", "daemon-reload"]),
            owned(&[
                "systemctl",
                "--user",
                "enable",
                "--now",
                &format!("{NAME}.service"),
            ]),
        ]
    }
}

fn disable_commands(unit: &Path) -> Vec<Vec<String>> {
    if cfg!(target_os = "macos") {
        vec![owned(&[
            "launchctl",
            "unload",
            "-w",
            &unit.display().to_string(),
        ])]
    } else {
        vec![
            owned(&[
                "systemctl",
                "--user",
                "disable",
                "--now",
                &format!("{NAME}.service"),
            ]),
            owned(&["systemctl", "--user", "daemon-reload"]),
        ]
    }
}

fn enable_hint(unit: &Path) -> String {
    let commands: Vec<String> = enable_commands(unit).iter().map(|c| c.join(" ")).collect();
    format!("run `{}` to start it", commands.join(" && "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_this_binary_on_this_home_and_restarts_on_failure() {
        let unit = systemd_unit(
            Path::new("/opt/vpd bin/vpd"),
            Path::new("/srv/my home/.viewport"),
        );
        assert!(
            unit.contains("ExecStart=\"/opt/vpd bin/vpd\" daemon\n"),
            "{unit}"
        );
        assert!(unit.contains("Environment=\"VIEWPORT_HOME=/srv/my home/.viewport\"\n"));
        assert!(unit.contains("Restart=on-failure\n"));
        // Sessions' supervisors live in the unit's cgroup and must outlive a crash.
        assert!(unit.contains("KillMode=process\n"));
        assert!(unit.contains("WantedBy=default.target\n"));
        let odd = systemd_unit(Path::new("/opt/100%/vpd"), Path::new("/h"));
        assert!(odd.contains("ExecStart=\"/opt/100%%/vpd\" daemon"), "{odd}");
        let plist = launchd_plist(
            Path::new("/usr/local/bin/vpd"),
            Path::new("/Users/a/.viewport"),
        );
        assert!(plist.contains("<string>/usr/local/bin/vpd</string><string>daemon</string>"));
        assert!(plist.contains("<key>SuccessfulExit</key><false/>"));
    }
}
