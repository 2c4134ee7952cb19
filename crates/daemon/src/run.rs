//! Start-up and shutdown of the daemon.

use std::future::Future;

use futures_util::FutureExt;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::serve::ListenerExt;
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;
use viewport_config::model::RelayConfig;
use viewport_protocol::state::SessionKind;
use viewport_protocol::{SessionState, now_ms};
use viewport_store::{Durability, Writer};

use crate::connection::AppContext;
use crate::home::{DaemonInfo, DataHome};
use crate::hub::Hub;
use crate::ingest::Ingest;
use crate::manager::Manager;
use crate::readers::ReaderPool;
use crate::relay::Relay;
use crate::server::{self, Listener};
use crate::tls::{CertificateFiles, Tls};
use crate::web::Gate;

pub struct DaemonOptions {
    pub home: DataHome,
    /// `ADDR:PORT`; port 0 picks a free one.
    pub listen: String,
    pub durability: Durability,
    /// How many one-off jobs run at once (else the config's, else 2).
    pub jobs_max_parallel: Option<usize>,
    /// How long a hooked tool call waits for a viewport's answer.
    pub hook_answer_wait: std::time::Duration,
    /// Tool output text above this many bytes is kept as a file.
    pub large_output_bytes: usize,
    /// TLS on the TCP listener (required beyond loopback): with the
    /// configured certificate, or a self-signed one.
    pub tls: Option<Option<CertificateFiles>>,
    /// A NATS relay to serve viewports through, as well.
    pub relay: Option<RelayConfig>,
    /// Host names the TCP listener answers to besides addresses and
    /// `localhost` (a self-signed certificate covers them).
    pub hosts: Vec<String>,
}

/// Beyond loopback, tokens and transcripts would cross the network: only
/// with TLS.
fn refuse_beyond_loopback(listen: &str, tls: bool) -> Result<()> {
    use std::net::ToSocketAddrs;
    let addresses: Vec<std::net::SocketAddr> = listen
        .to_socket_addrs()
        .with_context(|| {
            format!("cannot listen on {listen:?}: expected ADDRESS:PORT, such as 127.0.0.1:7707")
        })?
        .collect();
    if addresses.iter().any(|a| !a.ip().is_loopback()) && !tls {
        anyhow::bail!(
            "refusing to listen on {listen} without TLS: beyond loopback, tokens and transcripts would cross the network unencrypted. Add `--tls` (a self-signed certificate is made on first use; `vpd pair` prints its fingerprint) or set `daemon.tls.cert` and `daemon.tls.key` in ~/.viewport/config.yaml; or listen on 127.0.0.1 and use an SSH tunnel (`ssh -L 7707:127.0.0.1:7707 HOST`)"
        );
    }
    Ok(())
}

/// The names a self-signed certificate must cover besides loopback: the
/// address listened on, when it is one address.
fn certificate_hosts(address: std::net::SocketAddr) -> Vec<String> {
    if address.ip().is_unspecified() || address.ip().is_loopback() {
        Vec::new()
    } else {
        vec![address.ip().to_string()]
    }
}

/// How a daemon goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Its sessions end with it (`vpd daemon stop`).
    EndSessions,
    /// Its sessions run on for the next daemon to take over (`vpd daemon restart`).
    KeepSessions,
}

/// Run the daemon until `shutdown` completes; how it went.
pub async fn run_daemon(
    options: DaemonOptions,
    shutdown: impl Future<Output = Shutdown>,
) -> Result<Shutdown> {
    let DaemonOptions {
        home,
        listen,
        durability,
        jobs_max_parallel,
        hook_answer_wait,
        large_output_bytes,
        tls,
        relay,
        hosts,
    } = options;
    refuse_beyond_loopback(&listen, tls.is_some())?;
    home.ensure()?;
    let _lock = home.lock()?;
    let gate = Arc::new(Gate::load(&home).context("cannot load the logins")?);
    gate.set_hosts(hosts.clone());
    let relay = match relay {
        Some(config) => Some(Arc::new(Relay::load(&home, config, gate.daemon_id())?)),
        None => None,
    };

    let writer = Writer::open(&home.database(), durability)
        .with_context(|| format!("cannot open the event log {}", home.database().display()))?;
    // Observed sessions run on without the daemon: they are followed again.
    let orphans: Vec<_> = writer
        .views()
        .filter(|v| v.summary.state != SessionState::Ended)
        .filter(|v| v.summary.kind != SessionKind::Observed)
        .map(|v| v.summary.clone())
        .collect();
    let hub = Arc::new(Hub::default());
    let (ingest, ingest_thread) =
        Ingest::start(writer, hub.clone()).context("cannot start the ingest thread")?;
    let readers = Arc::new(ReaderPool::new(home.database()));
    let manager = Manager::new(
        home.clone(),
        ingest,
        readers,
        jobs_max_parallel,
        hook_answer_wait,
        large_output_bytes,
    );
    if !orphans.is_empty() {
        tracing::info!(
            count = orphans.len(),
            "taking over the sessions the last daemon left running"
        );
        manager.take_over(orphans).await;
    }
    manager.recover_jobs().await;
    manager.resume_watching().await;
    manager.recover_workflow_runs().await;

    let tcp = TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (choose another address with `--listen ADDR:PORT` or VIEWPORT_LISTEN; port 0 picks a free one)"))?;
    let address = tcp.local_addr()?;
    let socket_path = home.socket();
    // The lock is ours, so a socket file left here is stale.
    let _ = std::fs::remove_file(&socket_path);
    let unix = UnixListener::bind(&socket_path)
        .with_context(|| format!("cannot listen on {}", socket_path.display()))?;
    std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o600))?;
    let tls = match tls {
        Some(files) => Some(Tls::load(
            &home,
            files.as_ref(),
            &[certificate_hosts(address), hosts].concat(),
        )?),
        None => None,
    };
    let fingerprint = tls.as_ref().map(|tls| tls.fingerprint.clone());
    if tls.is_some() {
        gate.set_over_tls();
    }
    home.write_info(&DaemonInfo {
        pid: std::process::id(),
        listen: address.to_string(),
        socket: socket_path.display().to_string(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: now_ms(),
        tls_fingerprint: fingerprint.clone(),
        args: std::env::args().skip(1).collect(),
    })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        "vpd listening on {scheme}://{address}/ and {}{}",
        socket_path.display(),
        fingerprint
            .map(|f| format!(" (certificate {f})"))
            .unwrap_or_default()
    );

    let stop = CancellationToken::new();
    let ctx = Arc::new(AppContext {
        manager: manager.clone(),
        hub,
        gate: gate.clone(),
        relay: relay.clone(),
        shutdown: stop.clone(),
    });
    if let Some(relay) = relay {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            if let Err(error) = relay.serve(ctx).await {
                tracing::error!("the relay stopped: {error:#}");
            }
        });
    }
    let tcp_router = server::router(ctx.clone(), Listener::Tcp(gate.clone()));
    let tcp_server: std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> = match tls
    {
        Some(tls) => {
            let remote = tcp_router
                .clone()
                .layer(axum::middleware::from_fn_with_state(
                    gate.clone(),
                    crate::web::refuse_owner_token,
                ));
            Box::pin(tls.serve(tcp, tcp_router, remote, stop.clone()).map(Ok))
        }
        None => {
            // Frames are small and latency matters more than packet count: no Nagle.
            let tcp = tcp.tap_io(|stream| {
                let _ = stream.set_nodelay(true);
            });
            Box::pin(
                axum::serve(tcp, tcp_router)
                    .with_graceful_shutdown(stop.clone().cancelled_owned())
                    .into_future(),
            )
        }
    };
    let unix_server = axum::serve(unix, server::router(ctx.clone(), Listener::LocalSocket))
        .with_graceful_shutdown(stop.clone().cancelled_owned());
    let servers = async { tokio::try_join!(tcp_server, unix_server.into_future()) };
    let how = tokio::select! {
        result = servers => {
            result.context("the server failed")?;
            Shutdown::EndSessions
        }
        how = shutdown => how,
    };
    stop.cancel();
    match how {
        Shutdown::EndSessions => {
            tracing::info!("shutting down");
            manager.shutdown().await;
        }
        Shutdown::KeepSessions => {
            let kept = manager.detach().await;
            tracing::info!("restarting: {kept} sessions run on for the next daemon");
        }
    }
    drop(ctx);
    drop(manager);
    // Everything queued before now is committed; don't hang on a straggler.
    // Sessions that run on hold the ingest until the process exits: what
    // they queued and is not committed, the next daemon reads again from
    // their supervisors.
    if how == Shutdown::EndSessions {
        let join = tokio::task::spawn_blocking(move || ingest_thread.join());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), join).await;
    }
    let _ = std::fs::remove_file(&socket_path);
    let _ = std::fs::remove_file(home.info_file());
    Ok(how)
}
