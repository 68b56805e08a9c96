//! The blob store: ciphertexts on disk, named by their SHA-256.
//!
//! A blob is written to a temporary file, fsync'd, renamed into place, and its directory
//! fsync'd, before the database ever refers to it. So a crash can leave an unreferenced blob
//! (the retention task removes those) but never a reference to a missing or partial one.
//! A later S3 backend implements the same trait.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} is not stored")]
    NotFound(String),
    #[error("blob name {0:?} is not a SHA-256 hex digest")]
    BadName(String),
    #[error("blob store IO: {0}")]
    Io(#[from] std::io::Error),
}

/// Where ciphertexts live.
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` durably and returns their SHA-256, lowercase hex.
    fn put(&self, bytes: &[u8]) -> Result<String, BlobError>;
    /// Stores several blobs durably, all of them before returning (the ingress's group commit);
    /// their names in order. A store may make them durable together rather than one by one.
    fn put_many(&self, blobs: &[&[u8]]) -> Result<Vec<String>, BlobError> {
        blobs.iter().map(|bytes| self.put(bytes)).collect()
    }
    fn get(&self, hash: &str) -> Result<Vec<u8>, BlobError>;
    /// Removes a blob; removing a missing blob is not an error.
    fn delete(&self, hash: &str) -> Result<(), BlobError>;
    /// True when the blob is stored.
    fn contains(&self, hash: &str) -> bool;
    /// Whether the store takes writes now (for `/readyz`); the error says why not.
    fn ready(&self) -> Result<(), BlobError>;
    /// The names of every blob stored, in no order (for `plico migrate` and checks).
    fn list(&self) -> Result<Vec<String>, BlobError>;
}

/// Blobs as files under `<data dir>/blobs/ab/abcdef…`.
pub struct FsBlobStore {
    root: PathBuf,
}

/// Whether `hash` has a blob name's shape: 64 lowercase hex digits.
pub fn is_blob_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_name(hash: &str) -> Result<(), BlobError> {
    if is_blob_hash(hash) {
        Ok(())
    } else {
        Err(BlobError::BadName(hash.chars().take(80).collect()))
    }
}

/// SHA-256 of `bytes`, lowercase hex: a blob's name.
pub fn blob_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// How many blob writes (and directory fsyncs) run at once. Each thread is made for its batch,
/// so a few: four overlapped the disk's latency as well as sixteen did, for less thread churn.
const PARALLEL_WRITES: usize = 4;

/// Runs `work` on every item, up to PARALLEL_WRITES at a time on threads of their own (the work is mostly
/// waiting for the disk); the first error wins.
fn parallel<T: Sync>(items: &[T], work: impl Fn(&T) -> std::io::Result<()> + Sync) -> std::io::Result<()> {
    match items.len() {
        0 => Ok(()),
        1 => work(&items[0]),
        count => {
            let per_thread = count.div_ceil(PARALLEL_WRITES);
            std::thread::scope(|scope| {
                let handles: Vec<_> =
                    items.chunks(per_thread).map(|chunk| scope.spawn(|| chunk.iter().try_for_each(&work))).collect();
                handles.into_iter().try_for_each(|handle| {
                    handle.join().unwrap_or_else(|_| Err(std::io::Error::other("a blob writer panicked")))
                })
            })
        }
    }
}

impl FsBlobStore {
    /// Opens the store. Temporary files a crash left behind (writes that never reached their
    /// name, so nothing refers to them) are removed: no write is in progress yet.
    pub fn open(root: PathBuf) -> Result<Self, BlobError> {
        let temporary = root.join("tmp");
        std::fs::create_dir_all(&temporary)?;
        for entry in std::fs::read_dir(&temporary)? {
            let _ = std::fs::remove_file(entry?.path());
        }
        Ok(FsBlobStore { root })
    }

    fn path(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2]).join(hash)
    }
}

impl BlobStore for FsBlobStore {
    fn list(&self) -> Result<Vec<String>, BlobError> {
        let mut names = Vec::new();
        for shard in std::fs::read_dir(&self.root)? {
            let shard = shard?;
            let shard_name = shard.file_name();
            let shard_name = shard_name.to_string_lossy();
            if shard_name.len() != 2 || !shard.file_type()?.is_dir() {
                continue; // tmp/ and probes
            }
            for entry in std::fs::read_dir(shard.path())? {
                let name = entry?.file_name().to_string_lossy().into_owned();
                if is_blob_hash(&name) && name.starts_with(shard_name.as_ref()) {
                    names.push(name);
                }
            }
        }
        Ok(names)
    }

    fn ready(&self) -> Result<(), BlobError> {
        // A probe file written and removed: a full disk, a read-only mount or a directory gone
        // all show here, as they would on the next message.
        let probe = self.root.join(format!(".ready-{}", std::process::id()));
        std::fs::write(&probe, b"ready")?;
        std::fs::remove_file(&probe)?;
        Ok(())
    }

    fn put(&self, bytes: &[u8]) -> Result<String, BlobError> {
        let hash = blob_hash(bytes);
        let path = self.path(&hash);
        if path.exists() {
            return Ok(hash);
        }
        let temporary = self.root.join("tmp").join(format!("{hash}.{}", rand::random::<u64>()));
        {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        let directory = self.root.join(&hash[..2]);
        std::fs::create_dir_all(&directory)?;
        std::fs::rename(&temporary, &path)?;
        sync_dir(&directory)?;
        Ok(hash)
    }

    /// Writes every new blob to its temporary file and fsyncs them at once (threads, so that
    /// the file system commits its journal for several fsyncs together), renames them into
    /// place, then fsyncs each directory that gained a name, once.
    fn put_many(&self, blobs: &[&[u8]]) -> Result<Vec<String>, BlobError> {
        let hashes: Vec<String> = blobs.iter().map(|bytes| blob_hash(bytes)).collect();
        let mut new: Vec<(usize, PathBuf)> = Vec::with_capacity(blobs.len());
        for (index, hash) in hashes.iter().enumerate() {
            let duplicate = hashes[..index].contains(hash);
            if !duplicate && !self.path(hash).exists() {
                new.push((index, self.root.join("tmp").join(format!("{hash}.{}", rand::random::<u64>()))));
            }
        }
        let write = |(index, temporary): &(usize, PathBuf)| -> std::io::Result<()> {
            let mut file = std::fs::File::create(temporary)?;
            file.write_all(blobs[*index])?;
            file.sync_all()
        };
        let written = parallel(&new, write);
        if let Err(error) = written {
            for (_, temporary) in &new {
                let _ = std::fs::remove_file(temporary);
            }
            return Err(error.into());
        }
        let mut directories: Vec<PathBuf> = Vec::new();
        for (index, temporary) in &new {
            let hash = &hashes[*index];
            let directory = self.root.join(&hash[..2]);
            std::fs::create_dir_all(&directory)?;
            std::fs::rename(temporary, self.path(hash))?;
            if !directories.contains(&directory) {
                directories.push(directory);
            }
        }
        parallel(&directories, |directory| sync_dir(directory))?;
        Ok(hashes)
    }

    fn get(&self, hash: &str) -> Result<Vec<u8>, BlobError> {
        check_name(hash)?;
        std::fs::read(self.path(hash)).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => BlobError::NotFound(hash.to_owned()),
            _ => BlobError::Io(error),
        })
    }

    fn delete(&self, hash: &str) -> Result<(), BlobError> {
        check_name(hash)?;
        match std::fs::remove_file(self.path(hash)) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    fn contains(&self, hash: &str) -> bool {
        check_name(hash).is_ok() && self.path(hash).exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_round_trip_and_names_are_content_addresses() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FsBlobStore::open(dir.path().join("blobs")).expect("opens");
        let hash = store.put(b"ciphertext").expect("puts");
        assert_eq!(hash, blob_hash(b"ciphertext"));
        assert_eq!(store.put(b"ciphertext").expect("idempotent"), hash);
        assert_eq!(store.get(&hash).expect("gets"), b"ciphertext");
        assert!(store.contains(&hash));
        store.delete(&hash).expect("deletes");
        assert!(!store.contains(&hash));
        assert!(matches!(store.get(&hash), Err(BlobError::NotFound(_))));
        store.delete(&hash).expect("deleting twice is fine");
        assert!(std::fs::read_dir(dir.path().join("blobs/tmp")).expect("tmp").next().is_none(), "no temporary left");
    }

    #[test]
    fn put_many_stores_each_blob_once_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FsBlobStore::open(dir.path().join("blobs")).expect("opens");
        let existing = store.put(b"already here").expect("puts");
        let blobs: Vec<Vec<u8>> = (0..40).map(|n| format!("ciphertext {n}").into_bytes()).collect();
        let mut batch: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
        batch.push(b"already here");
        batch.push(b"ciphertext 3");
        let hashes = store.put_many(&batch).expect("puts them all");
        assert_eq!(hashes.len(), batch.len());
        assert_eq!(hashes[40], existing);
        assert_eq!(hashes[41], hashes[3]);
        for (hash, bytes) in hashes.iter().zip(&batch) {
            assert_eq!(hash, &blob_hash(bytes));
            assert_eq!(&store.get(hash).expect("stored"), bytes);
        }
        assert!(std::fs::read_dir(dir.path().join("blobs/tmp")).expect("tmp").next().is_none(), "no temporary left");
        assert_eq!(store.put_many(&[]).expect("nothing to do"), Vec::<String>::new());
    }

    #[test]
    fn a_crashs_temporary_files_are_removed_when_the_store_opens() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FsBlobStore::open(dir.path().join("blobs")).expect("opens");
        let kept = store.put(b"kept").expect("puts");
        std::fs::write(dir.path().join("blobs/tmp/abandoned.123"), b"half a write").expect("writes");
        drop(store);
        let store = FsBlobStore::open(dir.path().join("blobs")).expect("opens again");
        assert!(std::fs::read_dir(dir.path().join("blobs/tmp")).expect("tmp").next().is_none());
        assert_eq!(store.get(&kept).expect("still stored"), b"kept");
    }

    #[test]
    fn names_that_could_escape_the_directory_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FsBlobStore::open(dir.path().join("blobs")).expect("opens");
        for bad in ["../../etc/passwd", "", "ABCDEF", &"g".repeat(64)] {
            assert!(matches!(store.get(bad), Err(BlobError::BadName(_))), "{bad}");
        }
    }
}
