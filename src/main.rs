//! The `opsrun` binary: everything happens in `opsrun-cli`.

fn main() -> std::process::ExitCode {
    opsrun_cli::main()
}
