//! Tag resolution: turns a tag (a list of path tokens) into the one dataset
//! directory under the data directory that it names.
//!
//! An exact relative path (`data_dir/t1/t2/...`) holding `metadata.json` wins.
//! Otherwise, like Synergos, any dataset directory whose path components contain
//! every token (order-insensitive) matches; unlike Synergos the components are
//! relative to the data directory, and several matches are an error rather than
//! "the first one glob returned". The walk does not descend into symlinked
//! directories and skips subdirectories it cannot read; whatever is returned is
//! canonical and inside the data directory.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use super::{DatasetError, fmt_tag};

/// The file that marks a directory as a dataset.
pub(crate) const METADATA: &str = "metadata.json";

/// How deep below the data directory a dataset may sit.
const MAX_DEPTH: usize = 8;

/// Resolves `tokens` to a canonical dataset directory inside `data_dir`.
pub fn resolve_tag(data_dir: &Path, tokens: &[String]) -> Result<PathBuf, DatasetError> {
    check_tokens(tokens)?;
    let root = canonical_data_dir(data_dir)?;

    let exact = tokens.iter().fold(root.clone(), |path, t| path.join(t));
    if exact.join(METADATA).is_file() {
        return inside(&root, &exact, tokens);
    }

    let dirs = walk_dirs(&root);
    let wanted: BTreeSet<&OsStr> = tokens.iter().map(OsStr::new).collect();
    let matching: Vec<&PathBuf> = dirs.iter().filter(|d| covers(d, &wanted)).collect();
    let datasets: Vec<&PathBuf> = matching
        .iter()
        .copied()
        .filter(|d| root.join(d).join(METADATA).is_file())
        .collect();

    match datasets.as_slice() {
        [one] => inside(&root, &root.join(one), tokens),
        [] => {
            let tag = fmt_tag(tokens);
            // Point at the folder the user most likely meant: the exact path, or
            // the shallowest directory the tokens match.
            let bare = if exact.is_dir() {
                exact.strip_prefix(&root).ok().map(Path::to_path_buf)
            } else {
                matching.first().map(|d| (*d).clone())
            };
            Err(match bare {
                Some(dir) => DatasetError::NoMetadata { tag, dir },
                None => DatasetError::TagNotFound {
                    tag,
                    data_dir: data_dir.to_path_buf(),
                },
            })
        }
        many => Err(DatasetError::AmbiguousTag {
            tag: fmt_tag(tokens),
            matches: many
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Canonical form of the data directory, which must exist and be a directory.
pub(crate) fn canonical_data_dir(data_dir: &Path) -> Result<PathBuf, DatasetError> {
    let root = data_dir
        .canonicalize()
        .map_err(|source| DatasetError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
    if !root.is_dir() {
        return Err(DatasetError::DataDir {
            path: data_dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    Ok(root)
}

/// Tokens are single path components; anything that could climb out of the data
/// directory or name a different component structure is refused.
fn check_tokens(tokens: &[String]) -> Result<(), DatasetError> {
    if tokens.is_empty() {
        return Err(DatasetError::EmptyTag);
    }
    for token in tokens {
        let reason = if token.is_empty() {
            Some("it is empty")
        } else if token == "." || token == ".." {
            Some("it would leave the dataset path")
        } else if token.contains(['/', '\\']) {
            Some("a token is one path component, without `/` or `\\`")
        } else if token.contains('\0') {
            Some("it contains a NUL byte")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(DatasetError::BadTagToken {
                token: token.clone(),
                reason,
            });
        }
    }
    Ok(())
}

/// Canonicalises `dir` and checks it is still under `root` (a symlink may point out).
fn inside(root: &Path, dir: &Path, tokens: &[String]) -> Result<PathBuf, DatasetError> {
    let canonical = dir.canonicalize().map_err(|source| DatasetError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if canonical.starts_with(root) {
        Ok(canonical)
    } else {
        Err(DatasetError::OutsideDataDir {
            tag: fmt_tag(tokens),
            path: canonical,
        })
    }
}

/// Whether the components of `dir` include every wanted token.
fn covers(dir: &Path, wanted: &BTreeSet<&OsStr>) -> bool {
    let parts: BTreeSet<&OsStr> = dir.iter().collect();
    wanted.is_subset(&parts)
}

/// Every real directory under `root` up to [`MAX_DEPTH`], relative to `root`,
/// parents before children and siblings sorted.
fn walk_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut frontier = vec![PathBuf::new()];
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for rel in &frontier {
            let Ok(entries) = fs::read_dir(root.join(rel)) else {
                continue;
            };
            let mut children: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                // `file_type` does not follow symlinks, so links are never descended.
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| rel.join(e.file_name()))
                .collect();
            children.sort();
            next.extend(children);
        }
        if next.is_empty() {
            break;
        }
        out.extend(next.iter().cloned());
        frontier = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datasets() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/datasets"
        ))
    }

    fn tag(tokens: &[&str]) -> Vec<String> {
        tokens.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn exact_path_resolves() {
        let root = datasets().join("heart_disease");
        let dir = resolve_tag(&root, &tag(&["data1", "iid_1"])).expect("resolves");
        assert!(
            dir.ends_with("heart_disease/data1/iid_1"),
            "{}",
            dir.display()
        );
    }

    #[test]
    fn tokens_match_in_any_order_and_subset() {
        let root = datasets().join("heart_disease");
        let dir = resolve_tag(&root, &tag(&["iid_1"])).expect("resolves");
        assert!(dir.ends_with("data1/iid_1"));
        let dir = resolve_tag(&root, &tag(&["iid_2", "data2"])).expect("resolves");
        assert!(dir.ends_with("data2/iid_2"));
    }

    #[test]
    fn several_matches_are_ambiguous() {
        let root = datasets().join("heart_disease");
        let err = resolve_tag(&root, &tag(&["data1"])).expect_err("ambiguous");
        let msg = err.to_string();
        assert!(matches!(err, DatasetError::AmbiguousTag { .. }), "{msg}");
        assert!(
            msg.contains("data1/iid_1") && msg.contains("data1/non_iid_1"),
            "{msg}"
        );
    }

    #[test]
    fn dot_dot_and_slashes_are_refused() {
        let root = datasets().join("heart_disease");
        for bad in ["..", ".", "", "a/b", "a\\b", "a\0b"] {
            let err = resolve_tag(&root, &tag(&["data1", bad])).expect_err(bad);
            assert!(
                matches!(err, DatasetError::BadTagToken { .. }),
                "{bad}: {err}"
            );
        }
        assert!(matches!(
            resolve_tag(&root, &[]),
            Err(DatasetError::EmptyTag)
        ));
    }

    #[test]
    fn folder_without_metadata_is_named() {
        let root = datasets();
        for tokens in [
            tag(&["edge_cases", "edge_test_misalign"]),
            tag(&["edge_test_misalign"]),
        ] {
            let err = resolve_tag(&root, &tokens).expect_err("no metadata");
            let msg = err.to_string();
            assert!(
                msg.contains("edge_cases/edge_test_misalign` has no metadata.json"),
                "{msg}"
            );
        }
    }

    #[test]
    fn unknown_tag_names_tag_and_dir() {
        let root = datasets().join("heart_disease");
        let err = resolve_tag(&root, &tag(&["nope"])).expect_err("missing");
        let msg = err.to_string();
        assert!(
            msg.contains("[nope]") && msg.contains("heart_disease"),
            "{msg}"
        );
    }

    #[test]
    fn absolute_path_parts_do_not_match() {
        // Synergos matched the absolute path, so a token naming a parent of the
        // data directory matched every dataset.
        let root = datasets().join("heart_disease");
        let err = resolve_tag(&root, &tag(&["heart_disease", "iid_1"])).expect_err("relative");
        assert!(matches!(err, DatasetError::TagNotFound { .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_out_of_data_dir_is_refused() {
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join(METADATA), "{}").expect("write");
        let data = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path(), data.path().join("escape")).expect("link");
        let err = resolve_tag(data.path(), &tag(&["escape"])).expect_err("outside");
        assert!(matches!(err, DatasetError::OutsideDataDir { .. }), "{err}");
    }
}
