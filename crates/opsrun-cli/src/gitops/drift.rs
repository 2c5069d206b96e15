//! What a drift check (`flux diff kustomization`) said: no drift, drift (and in which objects),
//! or nothing usable.
//!
//! `flux diff` exits 0 when the cluster matches the local files, 1 when something differs, and
//! above 1 when the diff failed (`flux` before 2.0 also exits 1 on errors). Each differing
//! object is a line `► Kind/namespace/name drifted` (or `created`, `deleted`). So exit 1 counts
//! as drift only with such lines or flux's "identified at least one change" message; any other
//! exit 1 is an error, and the resume it guards is refused.

use opsrun_process::Exit;

/// The verdict of one drift check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DiffOutcome {
    /// The cluster matches the checkout.
    Clean,
    /// Resuming would change these objects (`Kind/namespace/name drifted`); empty when the
    /// tool reported changes without naming them.
    Drift(Vec<String>),
    /// The check could not tell: why.
    Failed(String),
}

/// Classifies a finished drift check.
pub(crate) fn classify(exit: &Exit, stdout: &str, stderr: &str, timeout: &str) -> DiffOutcome {
    match exit {
        Exit::Code(0) => DiffOutcome::Clean,
        Exit::Code(1) => {
            // Flux prints through cobra, whose output may go to either stream.
            let mut objects = changed_objects(stdout);
            objects.extend(changed_objects(stderr));
            if !objects.is_empty() || mentions_changes(stdout) || mentions_changes(stderr) {
                DiffOutcome::Drift(objects)
            } else {
                DiffOutcome::Failed(format!("exit code 1 without a list of changes{}", last_line(stderr, stdout)))
            }
        }
        Exit::TimedOut => DiffOutcome::Failed(format!("timed out after {timeout} (`[gitops] timeout`)")),
        other => DiffOutcome::Failed(format!("{}{}", other.describe(), last_line(stderr, stdout))),
    }
}

/// `Kind/namespace/name drifted` for every `► Kind/namespace/name drifted|created|deleted` line.
pub(crate) fn changed_objects(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix('►')?.trim();
            let (subject, action) = rest.rsplit_once(' ')?;
            matches!(action, "drifted" | "created" | "deleted").then(|| format!("{} {action}", subject.trim()))
        })
        .collect()
}

fn mentions_changes(text: &str) -> bool {
    text.contains("identified at least one change")
}

/// `: <last non-empty line>` of stderr (else stdout), for an error message.
fn last_line(stderr: &str, stdout: &str) -> String {
    [stderr, stdout]
        .iter()
        .find_map(|t| t.lines().rev().map(str::trim).find(|l| !l.is_empty()))
        .map(|l| format!(": {l}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRIFT: &str = "► ConfigMap/apps/ingress-config drifted\n\ndata.replicas\n  ± value change\n    - 3\n    + 2\n\n► Deployment/apps/web created\n";

    #[test]
    fn exit_0_is_clean_whatever_it_printed() {
        assert_eq!(classify(&Exit::Code(0), "", "", "2m"), DiffOutcome::Clean);
    }

    #[test]
    fn exit_1_with_objects_is_drift_naming_them() {
        let stderr = "✗ identified at least one change, exiting with non-zero exit code\n";
        assert_eq!(
            classify(&Exit::Code(1), DRIFT, stderr, "2m"),
            DiffOutcome::Drift(vec![
                "ConfigMap/apps/ingress-config drifted".into(),
                "Deployment/apps/web created".into()
            ])
        );
        // Changes announced without a list are still drift.
        assert_eq!(classify(&Exit::Code(1), "", stderr, "2m"), DiffOutcome::Drift(Vec::new()));
    }

    #[test]
    fn exit_1_without_changes_is_an_error_not_drift() {
        let stderr = "✗ Kubernetes client initialization failed: connection refused\n";
        assert_eq!(
            classify(&Exit::Code(1), "", stderr, "2m"),
            DiffOutcome::Failed(
                "exit code 1 without a list of changes: ✗ Kubernetes client initialization failed: connection refused"
                    .into()
            )
        );
    }

    #[test]
    fn other_exits_and_timeouts_are_errors() {
        assert_eq!(
            classify(&Exit::Code(2), "", "✗ invalid resource path \"x\"\n", "2m"),
            DiffOutcome::Failed("exit code 2: ✗ invalid resource path \"x\"".into())
        );
        assert_eq!(
            classify(&Exit::TimedOut, DRIFT, "", "1s"),
            DiffOutcome::Failed("timed out after 1s (`[gitops] timeout`)".into())
        );
        assert!(matches!(classify(&Exit::SpawnFailed("no sh".into()), "", "", "2m"), DiffOutcome::Failed(_)));
    }
}
