//! `plico migrate`: moves a stopped SQLite installation (its data directory) into PostgreSQL
//! and, with `--blobs s3://…`, its blob files into a bucket; then checks that every table has
//! the same rows (count and checksum) and every blob reads back whole, and says what it did.
//! The source is left as it was (apart from old queue files moved into their rows), so a failed
//! or abandoned move costs nothing: run the old installation again.

use std::fmt::Write;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::config::ServeConfig;
use crate::store::blobs::{BlobStore, FsBlobStore};
use crate::store::Store;

/// Moves the installation in `config.data_dir` to the database `to` and the blob store
/// `config.blobs`; the report, line by line.
pub async fn run(config: &ServeConfig, to: &str) -> Result<String, String> {
    let mut report = String::new();
    let database = config.data_dir.join("plico.sqlite");
    if !database.is_file() {
        return Err(format!("--data-dir {}: no Plico installation here (no plico.sqlite)", config.data_dir.display()));
    }
    if !crate::state::is_postgres_url(to) {
        return Err(format!("--to: {:?} is not a postgres:// URL", crate::state::redact(to)));
    }
    let source = Store::open(&config.data_dir).await.map_err(|e| format!("{}: {e}", database.display()))?;

    // Queue files of an older version go into their rows first (the same sealed bytes).
    let files = crate::outbound::QueueFiles::open(&config.data_dir)?;
    let moved = crate::outbound::adopt_queue_files(&source, &files).await?;
    if moved > 0 {
        writeln!(report, "queue: {moved} queued messages moved from queue files into their rows").ok();
    }

    let target = Store::connect_postgres(to, 4).await.map_err(|e| format!("--to {}: {e}", crate::state::redact(to)))?;
    let source_blobs: Arc<dyn BlobStore> = Arc::new(
        FsBlobStore::open(config.data_dir.join("blobs"))
            .map_err(|e| format!("{}/blobs: {e}", config.data_dir.display()))?,
    );
    let target_blobs = crate::state::open_blobs(config).map_err(|e| e.to_string())?;
    let hashes = source.stored_blob_hashes().await.map_err(|e| e.to_string())?;
    let copy_blobs = config.blobs != "files";

    // Blobs before rows: a row is never there without its blob.
    if copy_blobs {
        let (bytes, count) = copy_blob_files(&source_blobs, &target_blobs, &hashes).await?;
        writeln!(report, "blobs: {count} copied to {} ({:.1} MB)", config.blobs, bytes as f64 / 1e6).ok();
    } else {
        writeln!(report, "blobs: {} stay in {}/blobs", hashes.len(), config.data_dir.display()).ok();
    }

    let sums = source.copy_to(&target).await.map_err(|e| format!("copying the rows: {e}"))?;
    let copied = target.table_sums(&source).await.map_err(|e| format!("checking the rows: {e}"))?;
    for (from, into) in sums.iter().zip(&copied) {
        if from != into {
            return Err(format!(
                "table {}: {} rows in SQLite, {} in PostgreSQL, or their contents differ; the target is not \
                 to be used (drop and recreate it, then run again)",
                from.table, from.rows, into.rows
            ));
        }
        writeln!(report, "rows: {:<18} {:>9} copied, count and checksum match", from.table, from.rows).ok();
    }
    if copy_blobs {
        verify_blobs(&target_blobs, &hashes).await?;
        writeln!(report, "blobs: all {} read back from {} with their SHA-256", hashes.len(), config.blobs).ok();
    }
    writeln!(
        report,
        "done: start every node with --database {} --blobs {}, and copy opaque-server-setup.bin and queue.key \
         from {} into each node's data directory",
        crate::state::redact(to),
        config.blobs,
        config.data_dir.display()
    )
    .ok();
    Ok(report)
}

/// Copies the blob files named in `hashes`, eight at a time; their bytes and count.
async fn copy_blob_files(
    from: &Arc<dyn BlobStore>,
    into: &Arc<dyn BlobStore>,
    hashes: &[String],
) -> Result<(u64, usize), String> {
    let mut bytes = 0u64;
    for chunk in hashes.chunks(8) {
        let (from, into, chunk) = (from.clone(), into.clone(), chunk.to_vec());
        bytes += tokio::task::spawn_blocking(move || -> Result<u64, String> {
            let blobs: Vec<Vec<u8>> = chunk
                .iter()
                .map(|hash| from.get(hash).map_err(|e| format!("blob {hash}: {e}")))
                .collect::<Result<_, _>>()?;
            let slices: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
            let names = into.put_many(&slices).map_err(|e| format!("writing blobs: {e}"))?;
            if let Some((name, hash)) = names.iter().zip(&chunk).find(|(name, hash)| name != hash) {
                return Err(format!("blob {hash} is damaged on disk (its bytes hash to {name})"));
            }
            Ok(blobs.iter().map(|blob| blob.len() as u64).sum())
        })
        .await
        .map_err(|_| "the blob copier stopped".to_owned())??;
    }
    Ok((bytes, hashes.len()))
}

/// Reads every blob back from the target and checks it against its name (its SHA-256).
async fn verify_blobs(blobs: &Arc<dyn BlobStore>, hashes: &[String]) -> Result<(), String> {
    let (blobs, hashes) = (blobs.clone(), hashes.to_vec());
    tokio::task::spawn_blocking(move || {
        for hash in &hashes {
            let bytes = blobs.get(hash).map_err(|e| format!("blob {hash} in the target: {e}"))?;
            let actual: String = Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect();
            if &actual != hash {
                return Err(format!("blob {hash} reads back as {actual} from the target"));
            }
        }
        Ok(())
    })
    .await
    .map_err(|_| "the blob checker stopped".to_owned())?
}
