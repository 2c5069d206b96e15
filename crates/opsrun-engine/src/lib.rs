//! Runs a Plan: scheduler, processes, health gates, state, journal, lock, signals; emits Events.
