//! Paths from standard input or a file: one per line.

use std::io::BufRead;

use crate::classifier::normalize_path;
use crate::error::ClassifyError;

/// Reads one path per line. Surrounding whitespace is trimmed; blank lines and lines starting
/// with `#` are skipped; a leading `./` is removed.
pub fn read_path_list(reader: impl BufRead) -> Result<Vec<String>, ClassifyError> {
    let mut paths = Vec::new();
    for line in reader.lines() {
        let line = line.map_err(|source| ClassifyError::ReadPaths { source })?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        paths.push(normalize_path(line));
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::read_path_list;

    #[test]
    fn skips_blanks_and_comments() {
        let input = "# changed files\n./talconfig.yaml\n\n  apps/x.yaml  \r\n#apps/y.yaml\n";
        assert_eq!(read_path_list(input.as_bytes()).unwrap(), ["talconfig.yaml", "apps/x.yaml"]);
    }
}
