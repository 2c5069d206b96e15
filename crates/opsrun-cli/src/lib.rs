//! The opsrun command line: clap commands, exit codes, tracing setup.
