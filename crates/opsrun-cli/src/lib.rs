//! `opsrun-cli`: the `opsrun` command line.
//!
//! Glue only: parse arguments ([`args`]), load the tasks file ([`context`]), call the spec,
//! plan, engine, report and change crates, and map the result to a documented exit code
//! ([`exit`]). The binary's `main` calls [`main`].

pub mod args;
mod classify;
mod commands;
mod complete;
pub mod context;
pub mod error;
mod execute;
pub mod exit;
mod gitops;
mod import;
mod incident;
mod init;
mod journals;
mod masked;
mod overrides;
mod preflight;
mod report;
mod status;
mod text;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::args::{Cli, Command};
use crate::context::Context;
use crate::error::{CliError, Result};

/// Runs opsrun with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
    // A panic is a bug in opsrun, never the operator's fault: say so plainly and exit with the
    // documented internal-error code instead of Rust's 101 and a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: opsrun hit an internal error (a bug, please report it): {info}");
    }));
    let result = std::panic::catch_unwind(run);
    result.unwrap_or(ExitCode::from(exit::INTERNAL))
}

fn run() -> ExitCode {
    // `COMPLETE=bash opsrun` prints the shell's registration script; the shell then calls
    // opsrun with `COMPLETE` set at every TAB, and this answers and exits.
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_tracing(&cli);
    if let Some(dir) = &cli.dir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        eprintln!("error: cannot change to directory `{}`: {e}", dir.display());
        return ExitCode::from(exit::USAGE);
    }
    match dispatch(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let color = context::terminal_info().stderr_is_tty && std::env::var_os("NO_COLOR").is_none();
            eprintln!("{}", e.render(color));
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(cli: &Cli) -> Result<u8> {
    if let Some(Command::Import(args)) = &cli.command {
        return import::import(cli, args);
    }
    if !args::OUTPUT_MODES.contains(&cli.output.as_str()) {
        return Err(CliError::Usage(format!(
            "invalid value `{}` for `--output`\n  help: possible values: {}",
            cli.output,
            args::OUTPUT_MODES.join(", ")
        )));
    }
    if cli.list || cli.list_all || cli.summary.is_some() {
        let ctx = load_context(cli)?;
        if let Some(task) = &cli.summary {
            return commands::summary(cli, &ctx, std::slice::from_ref(task));
        }
        let sort = "default".to_string();
        return commands::list(cli, &ctx, &args::ListArgs { all: cli.list_all, json: false, sort });
    }
    let Some(command) = &cli.command else {
        return default_command(cli);
    };
    if let Command::Completions(args) = command {
        let mut cmd = Cli::command();
        clap_complete::generate(args.shell, &mut cmd, "opsrun", &mut std::io::stdout());
        return Ok(exit::OK);
    }
    if let Command::Init(args) = command {
        return init::init(cli.file.as_deref(), args);
    }
    if let Command::Schema = command {
        let schema = serde_json::to_string_pretty(&opsrun_spec::json_schema()).unwrap_or_default();
        let _ = writeln!(std::io::stdout().lock(), "{schema}");
        return Ok(exit::OK);
    }
    if let Command::Classify(args) = command {
        return classify::classify(cli, args);
    }
    if let Command::Run(args) = command
        && args.help
        && args.items.is_empty()
    {
        let mut cmd = Cli::command();
        cmd.build();
        if let Some(run) = cmd.find_subcommand_mut("run") {
            let _ = run.print_help();
        }
        return Ok(exit::OK);
    }
    let ctx = load_context(cli)?;
    for warning in overrides::warnings(&ctx) {
        eprintln!("{warning}");
    }
    match command {
        Command::List(a) => commands::list(cli, &ctx, a),
        Command::Run(a) => commands::run(cli, &ctx, a),
        Command::Bootstrap(a) => commands::pipeline(cli, &ctx, "bootstrap", a),
        Command::Pipeline(a) => commands::named_pipeline(cli, &ctx, a),
        Command::Preflight(a) => preflight::preflight_cmd(cli, &ctx, a),
        Command::Graph(a) => commands::graph(cli, &ctx, a),
        Command::Explain(a) => commands::explain_cmd(cli, &ctx, a),
        Command::Runs(a) => commands::runs(cli, &ctx, a),
        Command::Logs(a) => commands::logs(cli, &ctx, a),
        Command::Report(a) => report::report(cli, &ctx, a),
        Command::Status(a) => status::status(cli, &ctx, a),
        Command::EmergencyRecovery(a) => status::recovery(cli, &ctx, a),
        Command::Override(c) => overrides::run(cli, &ctx, c),
        Command::Incident(args::IncidentCommand::Report(a)) => incident::report(cli, &ctx, a),
        Command::Task(words) => {
            // `opsrun lsit` is more likely a mistyped command than a task.
            if let Some(word) = words.first()
                && ctx.spec.lookup(word).is_none()
            {
                let commands = Cli::command();
                let names = commands.get_subcommands().map(clap::Command::get_name);
                if let Some(best) = opsrun_spec::did_you_mean(word, names) {
                    return Err(CliError::Usage(format!(
                        "`{word}` is neither a command nor a task\n  help: did you mean the command `opsrun {best}`?"
                    )));
                }
            }
            let args = args::TaskWords::try_parse_from(words).map_err(|e| CliError::Usage(e.to_string()))?;
            commands::run(cli, &ctx, &args.run)
        }
        Command::Completions(_) | Command::Classify(_) | Command::Schema | Command::Init(_) | Command::Import(_) => {
            unreachable!("handled above")
        }
    }
}

/// `opsrun` alone: the `default` task if the file has one, else the task list.
fn default_command(cli: &Cli) -> Result<u8> {
    let ctx = load_context(cli)?;
    for warning in overrides::warnings(&ctx) {
        eprintln!("{warning}");
    }
    if ctx.spec.task("default").is_some() {
        let args = args::RunArgs {
            items: vec!["default".into()],
            help: false,
            cli_args: Vec::new(),
            exec: args::ExecFlags { grace: 10.0, ..args::ExecFlags::default() },
        };
        return commands::run(cli, &ctx, &args);
    }
    let code = commands::list(cli, &ctx, &args::ListArgs { all: false, json: false, sort: "default".into() })?;
    eprintln!("run a task with `opsrun run TASK`, or add a task named `default`; `opsrun --help` lists the commands");
    Ok(code)
}

/// The context of a command, never dropped: the command is the last thing the process does,
/// and freeing a spec of 10,000 tasks piece by piece took longer than the process's exit takes
/// to release all of it. Nothing in it needs dropping (no file, lock or child is held).
fn load_context(cli: &Cli) -> Result<std::mem::ManuallyDrop<Context>> {
    Context::load(cli).map(std::mem::ManuallyDrop::new)
}

/// Colour only on bars (a terminal), and never when `NO_COLOR` is set (<https://no-color.org>).
pub(crate) fn color_allowed(renderer: opsrun_report::Renderer) -> bool {
    renderer == opsrun_report::Renderer::Bars && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The async runtime: one thread. A task runner's work is waiting on processes, pipes and
/// timers; a single-threaded scheduler avoids cross-thread wake-ups (measured: 500 no-op tasks
/// at `-j 2` took 0.22 s against 0.26 s with two worker threads). HTTP probes run on the
/// blocking pool, so they never stall it.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Other { code: exit::INTERNAL, message: format!("cannot start the async runtime: {e}") })
}

fn init_tracing(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let default = match cli.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = context::terminal_info().stderr_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .without_time()
        .try_init();
}
