//! End-to-end tests of the `opsrun` binary: real processes, real files, real signals, each test
//! in its own temporary project. One test binary; the helpers are in [`support`].
//!
//! Nothing here sleeps to synchronise: tests wait for a marker file or an event with a bounded
//! deadline, and tasks that must meet each other poll for files (see
//! [`support::sh_wait_until`]). Tests that look for leftover processes use a sleep duration no
//! other test uses, so they can run in parallel.

mod bootstrap;
mod classify;
mod cli;
mod docs;
mod dry_run;
mod errors;
mod examples;
mod faults;
mod features;
mod gitops;
mod gotask;
mod hardening;
mod import;
mod init;
mod output;
mod preflight;
mod process;
mod recovery;
mod report;
mod resume;
mod scheduling;
mod schema;
mod sim;
mod sources;
mod support;
