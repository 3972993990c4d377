//! Configuration readers. Owns source positions and diagnostics shared by
//! both readers; the readers themselves live in `keepalived` and `haproxy`.
//! Nothing here prints: diagnostics are values, the CLI renders them.

pub mod haproxy;
pub mod keepalived;

use serde::Serialize;
use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct FileId(pub u32);

/// A position in the configuration: which file, which physical line (1-based).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
}

/// Every file read while parsing one configuration, in the order opened.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SourceMap {
    files: Vec<PathBuf>,
}

impl SourceMap {
    /// Registers a file and returns its id.
    pub fn add(&mut self, path: PathBuf) -> FileId {
        self.files.push(path);
        FileId(u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX))
    }

    /// The path of a registered file (empty for an unknown id).
    pub fn path(&self, id: FileId) -> &Path {
        self.files
            .get(id.0 as usize)
            .map(PathBuf::as_path)
            .unwrap_or(Path::new(""))
    }

    /// How many files were read.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when no file was read.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// One message about the configuration. `K` is the reader's own severity
/// scale (keepalived's error classes, haproxy's ALERT/WARNING/NOTICE).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic<K> {
    pub kind: K,
    pub at: Option<Span>,
    pub message: String,
}
