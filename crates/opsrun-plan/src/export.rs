//! Graph export: `opsrun graph --format text|dot|mermaid`.

use std::fmt::Write as _;
use std::str::FromStr;

use crate::Plan;

/// Output formats of `opsrun graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GraphFormat {
    /// An indented list in run order with each task's dependencies.
    Text,
    /// Graphviz.
    Dot,
    /// Mermaid `graph TD`, as operators keep in runbooks.
    Mermaid,
}

impl FromStr for GraphFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Self::Text),
            "dot" => Ok(Self::Dot),
            "mermaid" => Ok(Self::Mermaid),
            other => Err(format!("unknown graph format `{other}` (expected text, dot or mermaid)")),
        }
    }
}

impl Plan {
    /// Renders the DAG.
    pub fn render_graph(&self, format: GraphFormat) -> String {
        let mut out = String::new();
        let id = |i: crate::TaskId| format!("n{}", i.index());
        match format {
            GraphFormat::Text => {
                for &n in self.order() {
                    let t = self.task(n);
                    let mut deps: Vec<&str> = self.dependencies(n).map(|d| self.task(d).key.as_str()).collect();
                    deps.sort_unstable();
                    let gate = t.health.as_ref().map(|h| format!("  [gate: {}]", h.name)).unwrap_or_default();
                    if deps.is_empty() {
                        let _ = writeln!(out, "{}{gate}", t.key);
                    } else {
                        let _ = writeln!(out, "{}{gate}\n  ← {}", t.key, deps.join(", "));
                    }
                }
            }
            GraphFormat::Dot => {
                out.push_str("digraph opsrun {\n  rankdir=LR;\n  node [shape=box];\n");
                for &n in self.order() {
                    let t = self.task(n);
                    let shape = if t.health.is_some() { ", peripheries=2" } else { "" };
                    let _ = writeln!(out, "  {} [label={}{shape}];", id(n), dot_quote(&t.key));
                }
                for &n in self.order() {
                    let mut deps: Vec<_> = self.dependencies(n).collect();
                    deps.sort_unstable();
                    for d in deps {
                        let _ = writeln!(out, "  {} -> {};", id(d), id(n));
                    }
                }
                out.push_str("}\n");
            }
            GraphFormat::Mermaid => {
                out.push_str("graph TD\n");
                for &n in self.order() {
                    let t = self.task(n);
                    let label = mermaid_quote(&t.key);
                    if t.health.is_some() {
                        let _ = writeln!(out, "    {}[[\"{label}\"]]", id(n));
                    } else {
                        let _ = writeln!(out, "    {}[\"{label}\"]", id(n));
                    }
                }
                for &n in self.order() {
                    let mut deps: Vec<_> = self.dependencies(n).collect();
                    deps.sort_unstable();
                    for d in deps {
                        let _ = writeln!(out, "    {} --> {}", id(d), id(n));
                    }
                }
            }
        }
        out
    }
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn mermaid_quote(s: &str) -> String {
    s.replace('"', "#quot;")
}
