//! The ingress's group commit: the encrypted copies of messages that several SMTP sessions
//! finished at about the same time are made durable together (their blobs fsync'd at once,
//! their rows in one SQLite transaction), and only then does each session say 250.
//!
//! One task owns the write path. It takes the first waiting message, then everything else
//! already waiting (up to [`MAX_MESSAGES`] and [`MAX_BYTES`]), so a lone message is committed
//! at once and a busy ingress commits in batches as large as its load: no timer, no added
//! latency. Each message is filed under its own savepoint, so one that cannot be filed (its
//! account closed a moment ago) fails alone with a 4xx while the rest of its batch is stored.
//!
//! Architecture Invariant: a session's reply waits for its message's outcome from this task;
//! the outcome is sent only after the batch's blobs are fsync'd (files and directories) and its
//! transaction committed. When anything fails, every message whose outcome is not yet known is
//! told "try again later".

use plico_api::mail::FolderRole;
use tokio::sync::{mpsc, oneshot};

use crate::store::blobs::BlobStore;
use crate::store::mail::{Delivery, InboundBlob, InboundMessage};
use crate::store::Store;

/// The most messages one batch holds, unless configured otherwise (`--smtp-commit-batch`).
pub const MAX_MESSAGES: usize = 64;
/// The most blob bytes one batch holds (a batch is in memory until it is written).
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Blobs up to this size are written in their row, in the batch's transaction; larger ones
/// are files, fsync'd before it.
pub const MAX_INLINE_BYTES: usize = 256 * 1024;

/// One recipient's encrypted copy, before it is filed.
pub struct Copy {
    pub account_id: i64,
    pub folder: FolderRole,
    /// The PGP/MIME message as it will be stored.
    pub blob: CopyBlob,
    pub sealed_summary: Vec<u8>,
}

/// A copy's stored message: still in memory (small ones, written with the batch), or already
/// durable in the blob store (large ones, written as each copy is made so that a message for
/// many recipients is never in memory once per recipient).
pub enum CopyBlob {
    Bytes(Vec<u8>),
    Stored { hash: String, size: u64 },
}

impl CopyBlob {
    fn in_memory(&self) -> usize {
        match self {
            CopyBlob::Bytes(bytes) => bytes.len(),
            CopyBlob::Stored { .. } => 0,
        }
    }
}

/// Why a message was not committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitError {
    /// The blobs could not be written.
    Blobs,
    /// The database refused the message or the batch.
    Database,
    /// The commit task is gone (the server is stopping).
    Stopped,
}

struct Job {
    copies: Vec<Copy>,
    received_at: i64,
    done: oneshot::Sender<Result<Vec<String>, CommitError>>,
}

/// The handle sessions commit through; cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Job>,
    counts: std::sync::Arc<Counts>,
}

/// How many batches and messages were committed, for the benchmark and the tests.
#[derive(Default)]
struct Counts {
    batches: std::sync::atomic::AtomicU64,
    messages: std::sync::atomic::AtomicU64,
}

impl GroupCommit {
    /// Starts the commit task on the current tokio runtime. It ends when every handle is gone.
    pub fn start(
        store: Store,
        blobs: std::sync::Arc<dyn BlobStore>,
        max_messages: usize,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> GroupCommit {
        let max_messages = max_messages.max(1);
        let (jobs, queue) = mpsc::channel(4 * max_messages);
        let counts = std::sync::Arc::new(Counts::default());
        tokio::spawn(run(queue, store, blobs, counts.clone(), max_messages, metrics));
        GroupCommit { jobs, counts }
    }

    /// Batches and messages committed (or tried) so far.
    pub fn counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.counts.batches.load(Relaxed), self.counts.messages.load(Relaxed))
    }

    /// Makes every copy of one message durable and files it; returns the filed message ids.
    pub async fn commit(&self, copies: Vec<Copy>, received_at: i64) -> Result<Vec<String>, CommitError> {
        let (done, outcome) = oneshot::channel();
        self.jobs.send(Job { copies, received_at, done }).await.map_err(|_| CommitError::Stopped)?;
        outcome.await.map_err(|_| CommitError::Stopped)?
    }
}

async fn run(
    mut queue: mpsc::Receiver<Job>,
    store: Store,
    blobs: std::sync::Arc<dyn BlobStore>,
    counts: std::sync::Arc<Counts>,
    max_messages: usize,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
) {
    while let Some(first) = queue.recv().await {
        let mut bytes = first.copies.iter().map(|copy| copy.blob.in_memory()).sum::<usize>();
        let mut batch = vec![first];
        while batch.len() < max_messages && bytes < MAX_BYTES {
            match queue.try_recv() {
                Ok(job) => {
                    bytes += job.copies.iter().map(|copy| copy.blob.in_memory()).sum::<usize>();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        counts.batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        counts.messages.fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
        metrics.commit_batch(batch.len());
        if !commit_batch(batch, &store, &blobs).await {
            metrics.commit_failed();
        }
    }
}

/// Commits one batch; `false` when all of it failed.
async fn commit_batch(mut batch: Vec<Job>, store: &Store, blobs: &std::sync::Arc<dyn BlobStore>) -> bool {
    // Large blobs first, durable as files before any row names them; small ones go in their
    // rows, in the same transaction as the messages. The large ones move to the writer.
    let mut names: Vec<String> = Vec::new();
    let mut sizes: Vec<u64> = Vec::new();
    let mut in_file: Vec<bool> = Vec::new();
    let mut large: Vec<Vec<u8>> = Vec::new();
    for copy in batch.iter_mut().flat_map(|job| job.copies.iter_mut()) {
        match &mut copy.blob {
            CopyBlob::Stored { hash, size } => {
                names.push(hash.clone());
                sizes.push(*size);
                in_file.push(true);
            }
            CopyBlob::Bytes(bytes) => {
                names.push(crate::store::blobs::blob_hash(bytes));
                sizes.push(bytes.len() as u64);
                let file = bytes.len() > MAX_INLINE_BYTES;
                in_file.push(file);
                if file {
                    large.push(std::mem::take(bytes));
                }
            }
        }
    }
    if !large.is_empty() {
        let blob_store = blobs.clone();
        let written = tokio::task::spawn_blocking(move || {
            let slices: Vec<&[u8]> = large.iter().map(Vec::as_slice).collect();
            blob_store.put_many(&slices)
        })
        .await;
        match written {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "smtp: the blobs of a batch could not be written");
                return fail_all(batch, CommitError::Blobs);
            }
            Err(_) => return fail_all(batch, CommitError::Blobs),
        }
    }

    let mut index = 0;
    let messages: Vec<InboundMessage<'_>> = batch
        .iter()
        .map(|job| {
            let mut message = InboundMessage { blobs: Vec::new(), copies: Vec::new(), received_at: job.received_at };
            for copy in &job.copies {
                let (hash, size) = (names[index].as_str(), sizes[index]);
                index += 1;
                let inline = match &copy.blob {
                    CopyBlob::Bytes(bytes) if !in_file[index - 1] => Some(bytes.as_slice()),
                    _ => None,
                };
                // Copies that share a blob (mail already encrypted, the same for everyone) name it
                // once; its references are counted by copy.
                if !message.blobs.iter().any(|blob: &InboundBlob<'_>| blob.hash == hash) {
                    message.blobs.push(InboundBlob { hash, size, inline });
                }
                let delivery = Delivery {
                    blob_hash: hash,
                    size,
                    sealed_summary: &copy.sealed_summary,
                    received_at: job.received_at,
                    sender: None,
                };
                message.copies.push((copy.account_id, copy.folder, delivery));
            }
            message
        })
        .collect();
    let filed = store.deliver_inbound_batch(&messages).await;
    drop(messages);
    match filed {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                let outcome = outcome.map(|metas| metas.into_iter().map(|meta| meta.id).collect()).map_err(|error| {
                    tracing::warn!(%error, "smtp: a message of a batch could not be filed");
                    CommitError::Database
                });
                let _ = job.done.send(outcome);
            }
            true
        }
        Err(error) => {
            tracing::warn!(%error, "smtp: a batch could not be committed");
            fail_all(batch, CommitError::Database)
        }
    }
}

/// Answers every job of the batch with `error`; `false`, for the caller to count.
fn fail_all(batch: Vec<Job>, error: CommitError) -> bool {
    for job in batch {
        let _ = job.done.send(Err(error.clone()));
    }
    false
}
