//! Why a submission is refused: not graded at all, with a reason for the student and the gradebook.

/// Why a submission is refused (its report says this, every check scores 0, the batch goes on).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// An entry's name is an absolute path.
    #[error("`{name}` is an absolute path")]
    AbsolutePath {
        /// The entry's name.
        name: String,
    },
    /// An entry's name climbs out of the archive.
    #[error("`{name}` climbs out of the archive with `..`")]
    ClimbsOut {
        /// The entry's name.
        name: String,
    },
    /// An entry's name holds control characters.
    #[error("`{name}` has control characters in its name")]
    ControlCharacters {
        /// The entry's name.
        name: String,
    },
    /// Not a zip the grader can read.
    #[error("not a readable zip archive ({reason})")]
    NotAZip {
        /// What the zip reader said.
        reason: String,
    },
    /// The archive is larger than a submission may be.
    #[error("the archive is {bytes} bytes; the limit is {limit}")]
    ArchiveTooLarge {
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// Too many entries.
    #[error("the archive has {entries} entries; the limit is {limit}")]
    TooManyEntries {
        /// How many.
        entries: usize,
        /// The limit.
        limit: usize,
    },
    /// An entry the zip reader cannot read.
    #[error("entry {index} cannot be read ({reason})")]
    UnreadableEntry {
        /// Its index.
        index: usize,
        /// What the zip reader said.
        reason: String,
    },
    /// An entry's name is not UTF-8.
    #[error("entry {index} has a name that is not UTF-8")]
    NameNotUtf8 {
        /// Its index.
        index: usize,
    },
    /// A symbolic link.
    #[error("`{name}` is a symbolic link")]
    SymbolicLink {
        /// The entry.
        name: String,
    },
    /// A device, FIFO or socket in an archive.
    #[error("`{name}` is not a regular file (a device, FIFO or socket)")]
    NotARegularFile {
        /// The entry.
        name: String,
    },
    /// Something in a submitted folder that is neither a file nor a folder.
    #[error("`{name}` is not a regular file")]
    NotAFile {
        /// The entry, relative to the folder.
        name: String,
    },
    /// A file larger than a submission's file may be.
    #[error(
        "`{name}` unpacks to {bytes} bytes; the limit per file is {limit} (submit only the answer files: `make submit` packs them)"
    )]
    FileTooLarge {
        /// The entry.
        name: String,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// A file of a submitted folder larger than a submission's file may be.
    #[error("`{name}` has {bytes} bytes; the limit per file is {limit}")]
    LargeFile {
        /// The file, relative to the folder.
        name: String,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// A compression ratio only zip bombs have.
    #[error("`{name}` is compressed {ratio:.0}:1, which only zip bombs are")]
    ZipBomb {
        /// The entry.
        name: String,
        /// Unpacked / packed.
        ratio: f64,
    },
    /// An entry that does not unpack.
    #[error("`{name}` cannot be unpacked ({reason})")]
    CannotUnpack {
        /// The entry.
        name: String,
        /// What the zip reader said.
        reason: String,
    },
    /// An entry whose header lied about its size.
    #[error("`{name}` unpacks to more than {limit} bytes")]
    UnpacksBeyond {
        /// The entry.
        name: String,
        /// The limit.
        limit: u64,
    },
    /// All files together are too large.
    #[error("the archive unpacks to more than {limit} bytes")]
    TotalTooLarge {
        /// The limit.
        limit: u64,
    },
    /// A folder with more than a submission may hold.
    #[error("the folder holds more than a submission may")]
    FolderTooLarge,
    /// The same path twice.
    #[error("`{path}` appears twice in the archive")]
    Duplicate {
        /// The normalized path.
        path: String,
    },
    /// A submission the grader cannot read (a folder it cannot list, a file it cannot open).
    #[error("{0}")]
    Unreadable(String),
    /// Two or more equally likely files for one answer file.
    #[error("the submission holds {} files named {file_name}: {}", candidates.len(), candidates.join(", "))]
    Ambiguous {
        /// The answer file's name.
        file_name: String,
        /// The candidates.
        candidates: Vec<String>,
    },
    /// An answer file that is not text.
    #[error("{path} is not UTF-8 text")]
    NotText {
        /// The entry.
        path: String,
    },
    /// An answer file that uses what a submission may not.
    #[error("{path} uses `{construct}`, which {why}; that is not allowed in a submission")]
    Forbidden {
        /// The entry.
        path: String,
        /// The macro or attribute.
        construct: String,
        /// What it would do.
        why: String,
    },
    /// None of the answer files.
    #[error("the submission holds none of the answer files (src/basic_block.rs, …)")]
    NoAnswerFiles,
}
