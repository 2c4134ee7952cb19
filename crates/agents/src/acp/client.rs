//! What the agent may ask of us, the client: files inside the session's
//! directory, and terminals (permission is asked in `raw`'s way, so that a
//! later daemon can still answer it). Each handler answers from a task of
//! its own, so a slow answer (a person deciding, a command running) never
//! holds up the agent's other messages.

use agent_client_protocol::v1::schema::{
    CreateTerminalRequest, CreateTerminalResponse, KillTerminalRequest, KillTerminalResponse,
    ReadTextFileRequest, ReadTextFileResponse, ReleaseTerminalRequest, ReleaseTerminalResponse,
    TerminalExitStatus, TerminalOutputRequest, TerminalOutputResponse, WaitForTerminalExitRequest,
    WaitForTerminalExitResponse, WriteTextFileRequest, WriteTextFileResponse,
};
use agent_client_protocol::v1::{ConnectionTo, Responder};
use agent_client_protocol::{Agent, Error};

use super::Shared;
use super::fs::FsError;
use super::terminals::{ExitStatus, TerminalError, TerminalRequest};

type Handled = Result<(), Error>;

pub(super) async fn read_file(
    shared: &Shared,
    request: ReadTextFileRequest,
    responder: Responder<ReadTextFileResponse>,
    _cx: &ConnectionTo<Agent>,
) -> Handled {
    let read = shared
        .files
        .read(&request.path, request.line, request.limit)
        .await;
    responder.respond_with_result(read.map(ReadTextFileResponse::new).map_err(fs_error))
}

pub(super) async fn write_file(
    shared: &Shared,
    request: WriteTextFileRequest,
    responder: Responder<WriteTextFileResponse>,
    _cx: &ConnectionTo<Agent>,
) -> Handled {
    let written = shared.files.write(&request.path, &request.content).await;
    responder.respond_with_result(
        written
            .map(|()| WriteTextFileResponse::new())
            .map_err(fs_error),
    )
}

pub(super) async fn create_terminal(
    shared: &Shared,
    request: CreateTerminalRequest,
    responder: Responder<CreateTerminalResponse>,
    _cx: &ConnectionTo<Agent>,
) -> Handled {
    let cwd = request
        .cwd
        .unwrap_or_else(|| shared.files.root().to_owned());
    let created = shared
        .files
        .confine(&cwd)
        .map_err(fs_error)
        .and_then(|cwd| {
            let mut env = shared.terminal_env.clone();
            env.extend(request.env.into_iter().map(|v| (v.name, v.value)));
            shared
                .terminals
                .create(TerminalRequest {
                    command: request.command,
                    args: request.args,
                    env,
                    cwd,
                    output_limit: request
                        .output_byte_limit
                        .and_then(|l| usize::try_from(l).ok()),
                })
                .map_err(terminal_error)
        });
    responder.respond_with_result(created.map(CreateTerminalResponse::new))
}

pub(super) async fn terminal_output(
    shared: &Shared,
    request: TerminalOutputRequest,
    responder: Responder<TerminalOutputResponse>,
    _cx: &ConnectionTo<Agent>,
) -> Handled {
    let output = shared.terminals.output(&request.terminal_id.0);
    responder.respond_with_result(
        output
            .map(|o| {
                TerminalOutputResponse::new(o.text, o.truncated)
                    .exit_status(o.exit.map(exit_status))
            })
            .map_err(terminal_error),
    )
}

pub(super) async fn wait_for_exit(
    shared: &Shared,
    request: WaitForTerminalExitRequest,
    responder: Responder<WaitForTerminalExitResponse>,
    _cx: &ConnectionTo<Agent>,
) -> Handled {
    let status = shared.terminals.wait_for_exit(&request.terminal_id.0).await;
    responder.respond_with_result(
        status
            .map(|s| WaitForTerminalExitResponse::new(exit_status(s)))
            .map_err(terminal_error),
    )
}

pub(super) async fn kill_terminal(
    shared: &Shared,
    request: KillTerminalRequest,
    responder: Responder<KillTerminalResponse>,
    _cx: &ConnectionTo<Agent>,
) -> Handled {
    let killed = shared.terminals.kill(&request.terminal_id.0);
    responder.respond_with_result(
        killed
            .map(|()| KillTerminalResponse::new())
            .map_err(terminal_error),
    )
}

pub(super) async fn release_terminal(
    shared: &Shared,
    request: ReleaseTerminalRequest,
    responder: Responder<ReleaseTerminalResponse>,
    _cx: &ConnectionTo<Agent>,
) -> Handled {
    let released = shared.terminals.release(&request.terminal_id.0);
    responder.respond_with_result(
        released
            .map(|()| ReleaseTerminalResponse::new())
            .map_err(terminal_error),
    )
}

fn exit_status(status: ExitStatus) -> TerminalExitStatus {
    TerminalExitStatus::new()
        .exit_code(status.code)
        .signal(status.signal)
}

fn terminal_error(error: TerminalError) -> Error {
    match error {
        TerminalError::Spawn(e) => Error::new(
            agent_client_protocol::ErrorCode::INTERNAL_ERROR,
            e.to_string(),
        ),
        other => refused(&other.to_string()),
    }
}

/// ACP's "resource not found" code: agents treat it as a missing file.
const RESOURCE_NOT_FOUND: i32 = -32002;

fn fs_error(error: FsError) -> Error {
    match error {
        FsError::NotFound(_) => Error::new(RESOURCE_NOT_FOUND, error.to_string()),
        other => refused(&other.to_string()),
    }
}

/// An error whose message says what was wrong: agents show the message,
/// not the data.
fn refused(message: &str) -> Error {
    Error::new(
        agent_client_protocol::ErrorCode::INVALID_PARAMS,
        message.to_owned(),
    )
}
