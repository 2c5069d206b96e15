//! [`ReportOptions`]: what the user asked of the output besides its mode.

/// Switches that change what the renderers show, never what the engine does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportOptions {
    /// Bars: also print every output line above the bars.
    pub verbose: bool,
    /// Plain: no command echo and no task output, only status lines and the summary.
    pub quiet: bool,
    /// Bars: end a run of a single task with the summary table too (by default its own
    /// finished line is the end).
    pub summary_table: bool,
    /// ANSI colour is allowed. Only ever true for bars on a terminal; plain output ignores it.
    pub color: bool,
}
