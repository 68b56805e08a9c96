//! Blobs in an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, Ceph…), through the maintained
//! `object_store` crate: for installations whose blobs outgrow one disk, or that run several
//! nodes on one bucket. Named as on disk (`blobs/ab/abcdef…`); blobs over 8 MiB go up as
//! multipart uploads. A PUT is durable once S3 answers it, as an fsync'd file is.
//!
//! The blob store's callers are synchronous (the server calls it from blocking threads), so this
//! store runs its requests on a small runtime of its own and waits for the answer.

use std::future::Future;
use std::sync::Arc;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::blobs::{blob_hash, is_blob_hash, BlobError, BlobStore};

/// Blobs larger than this go up in parts of this size.
const PART_BYTES: usize = 8 * 1024 * 1024;

/// Where the bucket is and who may use it.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    /// A folder in the bucket under which the installation's blobs live (`""`, or `name/`), so
    /// several installations can share one bucket.
    pub prefix: String,
    /// `https://s3.example.net` or `http://127.0.0.1:8333`; `None` for AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
}

impl S3Config {
    /// The bucket and folder named by `s3://bucket` or `s3://bucket/folder` (what `--blobs`
    /// takes); the folder comes back as `""` or `folder/`.
    pub fn parse_url(url: &str) -> Result<(String, String), String> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| format!("{url:?} is not an s3://bucket address"))?;
        let (bucket, folder) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid {
            return Err(format!("{bucket:?} is not a bucket name (3 to 63 lowercase letters, digits, '-' and '.')"));
        }
        let folder = folder.trim_matches('/');
        let folder_ok = folder
            .split('/')
            .all(|part| part.is_empty() || part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
            && !folder.split('/').any(|part| part == "." || part == "..")
            && !folder.contains("//");
        if !folder_ok {
            return Err(format!(
                "{folder:?} is not a folder name (letters, digits, '-', '_' and '.', parts split by '/')"
            ));
        }
        Ok((bucket.to_owned(), if folder.is_empty() { String::new() } else { format!("{folder}/") }))
    }
}

/// The S3 blob store.
pub struct S3BlobStore {
    store: Arc<AmazonS3>,
    /// Taken on drop, to be shut down without blocking whatever thread drops the store.
    runtime: Option<tokio::runtime::Runtime>,
    bucket: String,
    /// [`S3Config::prefix`].
    root: Arc<str>,
}

fn remote(error: object_store::Error) -> BlobError {
    match error {
        object_store::Error::NotFound { path, .. } => BlobError::NotFound(path),
        other => BlobError::Io(std::io::Error::other(other.to_string())),
    }
}

fn location(root: &str, hash: &str) -> Path {
    Path::from(format!("{root}blobs/{}/{hash}", &hash[..2]))
}

impl S3BlobStore {
    /// A client for the bucket. Nothing is asked yet: [`BlobStore::ready`] says whether the
    /// bucket is there and the credentials may write to it.
    pub fn open(config: &S3Config) -> Result<S3BlobStore, BlobError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key)
            .with_secret_access_key(&config.secret_key);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(remote)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("plico-s3")
            .enable_all()
            .build()
            .map_err(BlobError::Io)?;
        Ok(S3BlobStore {
            store: Arc::new(store),
            runtime: Some(runtime),
            bucket: config.bucket.clone(),
            root: config.prefix.as_str().into(),
        })
    }

    /// Runs `work` on the store's runtime and waits for it, from any thread.
    fn run<T: Send + 'static>(&self, work: impl Future<Output = T> + Send + 'static) -> Result<T, BlobError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let runtime =
            self.runtime.as_ref().ok_or_else(|| BlobError::Io(std::io::Error::other("the S3 store is closed")))?;
        runtime.spawn(async move {
            let _ = sender.send(work.await);
        });
        receiver.recv().map_err(|_| BlobError::Io(std::io::Error::other("the S3 request was dropped")))
    }

    fn put_named(&self, hash: String, bytes: Vec<u8>) -> Result<String, BlobError> {
        let (store, path) = (self.store.clone(), location(&self.root, &hash));
        self.run(async move {
            put_object(&store, &path, bytes).await?;
            Ok(hash)
        })?
    }
}

/// One blob up: a single PUT, or a multipart upload in parts of [`PART_BYTES`].
async fn put_object(store: &AmazonS3, path: &Path, bytes: Vec<u8>) -> Result<(), BlobError> {
    if bytes.len() <= PART_BYTES {
        store.put(path, PutPayload::from(bytes)).await.map_err(remote)?;
    } else {
        let upload = store.put_multipart(path).await.map_err(remote)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        for part in bytes.chunks(PART_BYTES) {
            writer.wait_for_capacity(2).await.map_err(remote)?;
            writer.write(part);
        }
        writer.finish().await.map_err(remote)?;
    }
    Ok(())
}

impl BlobStore for S3BlobStore {
    fn put(&self, bytes: &[u8]) -> Result<String, BlobError> {
        let hash = blob_hash(bytes);
        if self.contains(&hash) {
            return Ok(hash);
        }
        self.put_named(hash, bytes.to_vec())
    }

    /// All at once (the group commit's batch): up to 8 requests in flight, each blob durable
    /// once S3 answered it.
    fn put_many(&self, blobs: &[&[u8]]) -> Result<Vec<String>, BlobError> {
        let hashes: Vec<String> = blobs.iter().map(|bytes| blob_hash(bytes)).collect();
        let store = self.store.clone();
        let work: Vec<(Path, Vec<u8>)> = hashes
            .iter()
            .map(|hash| location(&self.root, hash))
            .zip(blobs.iter().map(|bytes| bytes.to_vec()))
            .collect();
        self.run(async move {
            let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
            let mut tasks = tokio::task::JoinSet::new();
            for (path, bytes) in work {
                let store = store.clone();
                let limit = limit.clone();
                tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    put_object(&store, &path, bytes).await
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.map_err(|_| BlobError::Io(std::io::Error::other("an S3 upload stopped")))??;
            }
            Ok::<(), BlobError>(())
        })??;
        Ok(hashes)
    }

    fn get(&self, hash: &str) -> Result<Vec<u8>, BlobError> {
        if !is_blob_hash(hash) {
            return Err(BlobError::BadName(hash.chars().take(80).collect()));
        }
        let store = self.store.clone();
        let path = location(&self.root, hash);
        let hash = hash.to_owned();
        self.run(async move {
            match store.get(&path).await {
                Ok(found) => found.bytes().await.map(|bytes| bytes.to_vec()).map_err(remote),
                Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(hash)),
                Err(other) => Err(remote(other)),
            }
        })?
    }

    fn delete(&self, hash: &str) -> Result<(), BlobError> {
        if !is_blob_hash(hash) {
            return Err(BlobError::BadName(hash.chars().take(80).collect()));
        }
        let store = self.store.clone();
        let path = location(&self.root, hash);
        self.run(async move {
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(other) => Err(remote(other)),
            }
        })?
    }

    fn contains(&self, hash: &str) -> bool {
        if !is_blob_hash(hash) {
            return false;
        }
        let store = self.store.clone();
        let path = location(&self.root, hash);
        self.run(async move { store.head(&path).await.is_ok() }).unwrap_or(false)
    }

    fn list(&self) -> Result<Vec<String>, BlobError> {
        use futures_util::TryStreamExt;
        let store = self.store.clone();
        let prefix = Path::from(format!("{}blobs", self.root));
        self.run(async move {
            let objects: Vec<object_store::ObjectMeta> =
                store.list(Some(&prefix)).try_collect().await.map_err(remote)?;
            Ok(objects
                .into_iter()
                .filter_map(|object| object.location.filename().map(str::to_owned))
                .filter(|name| is_blob_hash(name))
                .collect())
        })?
    }

    fn ready(&self) -> Result<(), BlobError> {
        // A probe written and removed: a missing bucket, wrong credentials or a read-only key
        // all fail here, with S3's own words.
        let store = self.store.clone();
        let bucket = self.bucket.clone();
        let root = self.root.clone();
        self.run(async move {
            // Listing first: some servers make a missing bucket on a first write.
            store
                .list_with_delimiter(Some(&Path::from(format!("{root}blobs"))))
                .await
                .map_err(|error| BlobError::Io(std::io::Error::other(format!("bucket {bucket}: {error}"))))?;
            let probe = Path::from(format!("{root}blobs/.ready-{}", std::process::id()));
            store
                .put(&probe, PutPayload::from_static(b"ready"))
                .await
                .map_err(|error| BlobError::Io(std::io::Error::other(format!("bucket {bucket}: {error}"))))?;
            store.delete(&probe).await.map_err(remote)
        })?
    }
}

impl Drop for S3BlobStore {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
