//! Following a session: print its replay and live updates, answer
//! permission prompts when asked to, and decide when to stop.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;
use viewport_client::Client;
use viewport_client::subscription::{Event, Subscription};
use viewport_protocol::frames::{PendingPrompt, UpdateAt};
use viewport_protocol::update::PermissionRequest;
use viewport_protocol::{
    EndReason, ErrorCode, PromptId, ServerFrame, SessionId, SessionState, SessionUpdate,
};

use super::EXIT_SESSION_FAILED;
use crate::connect::redial;
use crate::render::Printer;

pub struct Follow {
    pub json: bool,
    /// Return when the session goes idle (its turn is done).
    pub until_idle: bool,
    /// Allow every prompt.
    pub approve_all: bool,
    /// Ask on the terminal for prompts that are open now.
    pub ask: bool,
}

fn detach(session_id: &SessionId) -> ExitCode {
    eprintln!("\nvpd: detached; {session_id} keeps running (`vpd watch {session_id}` to return)");
    ExitCode::SUCCESS
}

pub fn exit_for(reason: EndReason) -> ExitCode {
    match reason {
        EndReason::Completed | EndReason::Killed | EndReason::Cancelled => ExitCode::SUCCESS,
        EndReason::Failed | EndReason::DaemonLost | EndReason::CostCap => {
            ExitCode::from(EXIT_SESSION_FAILED)
        }
    }
}

impl Follow {
    /// Follow the session after `after_seq` over `client`, reconnecting
    /// (to the same daemon, never a newly started one) when it is lost.
    pub async fn run(
        &self,
        client: Client,
        session_id: &SessionId,
        after_seq: u64,
    ) -> Result<ExitCode> {
        let (mut subscription, subscribed) =
            Subscription::open(client, redial(), session_id.clone(), after_seq).await?;
        let mut head = subscribed.session.last_seq;
        let mut open = open_prompts(subscribed.pending_prompts);
        let mut printer = Printer::stdout();
        if !open.is_empty()
            && let Flow::Detach = self
                .answer_open(subscription.client(), session_id, &mut open, &mut printer)
                .await?
        {
            return Ok(detach(session_id));
        }
        loop {
            let event = tokio::select! {
                event = subscription.next() => event?,
                _ = tokio::signal::ctrl_c() => {
                    printer.finish();
                    return Ok(detach(session_id));
                }
            };
            let frame = match event {
                Event::Update(UpdateAt { seq, update }) => ServerFrame::SessionUpdate {
                    session_id: session_id.clone(),
                    seq,
                    update,
                },
                Event::Ended { reason, detail } => ServerFrame::SessionEnded {
                    session_id: session_id.clone(),
                    reason,
                    detail,
                },
                Event::Lost(why) => {
                    printer.finish();
                    eprintln!("vpd: lost the daemon ({why}); reconnecting…");
                    continue;
                }
                Event::Resumed(now) => {
                    eprintln!(
                        "vpd: reconnected; following {session_id} after update {}",
                        subscription.last_seq()
                    );
                    head = now.session.last_seq;
                    open = open_prompts(now.pending_prompts);
                    if !open.is_empty()
                        && let Flow::Detach = self
                            .answer_open(subscription.client(), session_id, &mut open, &mut printer)
                            .await?
                    {
                        return Ok(detach(session_id));
                    }
                    continue;
                }
            };
            if self.json {
                println!("{}", serde_json::to_string(&frame)?);
            } else {
                printer.frame(&frame);
            }
            match frame {
                ServerFrame::SessionUpdate { seq, update, .. } => match update {
                    SessionUpdate::PermissionRequest(request) => {
                        // A prompt in the replay may have been answered later in it.
                        let live = seq > head;
                        open.insert(request.prompt_id.clone(), request);
                        if live
                            && let Flow::Detach = self
                                .answer_open(
                                    subscription.client(),
                                    session_id,
                                    &mut open,
                                    &mut printer,
                                )
                                .await?
                        {
                            return Ok(detach(session_id));
                        }
                    }
                    SessionUpdate::PermissionResolved(resolved) => {
                        open.remove(&resolved.prompt_id);
                    }
                    SessionUpdate::StateChange(change)
                        if self.until_idle && change.state == SessionState::Idle =>
                    {
                        printer.finish();
                        eprintln!(
                            "vpd: {session_id} is idle; `vpd send {session_id} \"…\"` to continue, `vpd kill {session_id}` to end it"
                        );
                        return Ok(ExitCode::SUCCESS);
                    }
                    _ => {}
                },
                ServerFrame::SessionEnded { reason, .. } => {
                    printer.finish();
                    return Ok(exit_for(reason));
                }
                _ => {}
            }
        }
    }

    async fn answer_open(
        &self,
        client: &mut Client,
        session_id: &SessionId,
        open: &mut BTreeMap<PromptId, PermissionRequest>,
        printer: &mut Printer,
    ) -> Result<Flow> {
        let can_answer = self.approve_all || (self.ask && std::io::stdin().is_terminal());
        if !can_answer {
            let waiting: Vec<&str> = open.keys().map(|p| p.as_str()).collect();
            eprintln!(
                "vpd: waiting for an answer to {}: `vpd approve {session_id}` or `vpd deny {session_id}`",
                waiting.join(", ")
            );
            return Ok(Flow::Continue);
        }
        let pending: Vec<PermissionRequest> = open.values().cloned().collect();
        for request in pending {
            printer.finish();
            let option = if self.approve_all {
                request.first_option(true).map(|o| o.option_id.clone())
            } else {
                match ask_terminal(&request).await? {
                    Some(option) => Some(option),
                    None => return Ok(Flow::Detach),
                }
            };
            match client
                .respond(session_id, &request.prompt_id, option.as_deref())
                .await
            {
                Ok(()) => {}
                Err(e)
                    if matches!(
                        e.code(),
                        Some(ErrorCode::PromptResolved | ErrorCode::UnknownPrompt)
                    ) =>
                {
                    eprintln!("vpd: {} was already answered elsewhere", request.prompt_id);
                }
                Err(e) => return Err(e.into()),
            }
            open.remove(&request.prompt_id);
        }
        Ok(Flow::Continue)
    }
}

fn open_prompts(pending: Vec<PendingPrompt>) -> BTreeMap<PromptId, PermissionRequest> {
    pending
        .into_iter()
        .map(|p| (p.request.prompt_id.clone(), p.request))
        .collect()
}

/// Whether to keep following after answering prompts.
enum Flow {
    Continue,
    /// The person left (Ctrl-C or end of input) without answering.
    Detach,
}

/// Ask on the terminal for an option; `None` when the person leaves (Ctrl-C
/// or end of input) and the prompt stays open for someone else.
async fn ask_terminal(request: &PermissionRequest) -> Result<Option<String>> {
    let options: Vec<&str> = request
        .options
        .iter()
        .map(|o| o.option_id.as_str())
        .collect();
    let question = format!(
        "Allow \"{}\"? [y]es, [n]o, or one of {}: ",
        request.title,
        options.join(", ")
    );
    let request = request.clone();
    let reading = tokio::task::spawn_blocking(move || -> std::io::Result<Option<String>> {
        let mut stderr = std::io::stderr();
        loop {
            write!(stderr, "{question}")?;
            stderr.flush()?;
            let mut line = String::new();
            if std::io::stdin().lock().read_line(&mut line)? == 0 {
                return Ok(None);
            }
            let line = line.trim();
            let choice = match line {
                "y" | "yes" => request.first_option(true).map(|o| o.option_id.clone()),
                "n" | "no" => request.first_option(false).map(|o| o.option_id.clone()),
                other => request
                    .options
                    .iter()
                    .find(|o| o.option_id == other)
                    .map(|o| o.option_id.clone()),
            };
            if choice.is_some() {
                return Ok(choice);
            }
        }
    });
    tokio::select! {
        answer = reading => Ok(answer??),
        _ = tokio::signal::ctrl_c() => Ok(None),
    }
}
