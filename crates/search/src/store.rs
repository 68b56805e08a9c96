//! How the index is laid out in the device's store, without the IO: a manifest record and the
//! segments' chunks, each sealed with [`LocalKey`] under a keyed-hash name.
//!
//! A flush writes the new segment's chunks and the manifest that lists them in one IndexedDB
//! transaction, so the stored index is always a prefix of the log: a crash loses at most the
//! last flush, which the next sync indexes again. A compaction writes one snapshot segment and
//! a manifest listing only it, and deletes the old chunks, in one transaction too.

use plico_local::LocalKey;

use crate::index::SegmentError;

/// Segments are stored in chunks of at most this many bytes (IndexedDB handles big values, but
/// sealing and copying them in one piece doubles the peak memory for nothing).
pub const CHUNK_BYTES: usize = 1 << 20;

const MANIFEST: &str = "search/manifest";
const MANIFEST_VERSION: u8 = 1;

/// A manifest's line for one segment: (number, chunks, sealed bytes).
pub type SegmentEntry = (u32, u32, u64);

/// Sealed records: (stored name, bytes).
pub type Records = Vec<(String, Vec<u8>)>;

/// Which segments the stored index is made of, in replay order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The next segment's number.
    pub next: u32,
    /// (number, chunks, bytes).
    pub segments: Vec<SegmentEntry>,
}

impl Manifest {
    pub fn stored_bytes(&self) -> u64 {
        self.segments.iter().map(|&(_, _, bytes)| bytes).sum()
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = vec![MANIFEST_VERSION];
        out.extend_from_slice(&self.next.to_le_bytes());
        out.extend_from_slice(&(self.segments.len() as u32).to_le_bytes());
        for &(number, chunks, bytes) in &self.segments {
            out.extend_from_slice(&number.to_le_bytes());
            out.extend_from_slice(&chunks.to_le_bytes());
            out.extend_from_slice(&bytes.to_le_bytes());
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Manifest, SegmentError> {
        let (&version, rest) = bytes.split_first().ok_or(SegmentError("empty manifest"))?;
        if version != MANIFEST_VERSION {
            return Err(SegmentError("unknown manifest version"));
        }
        let u32_at = |at: usize| -> Result<u32, SegmentError> {
            rest.get(at..at + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or(SegmentError("manifest cut short"))
        };
        let next = u32_at(0)?;
        let count = u32_at(4)? as usize;
        if rest.len() != 8 + count * 16 {
            return Err(SegmentError("manifest of the wrong length"));
        }
        let mut segments = Vec::with_capacity(count);
        for i in 0..count {
            let at = 8 + i * 16;
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&rest[at + 8..at + 16]);
            segments.push((u32_at(at)?, u32_at(at + 4)?, u64::from_le_bytes(bytes)));
        }
        Ok(Manifest { next, segments })
    }
}

/// The stored name of the manifest.
pub fn manifest_name(key: &LocalKey) -> String {
    key.name(MANIFEST)
}

fn chunk_record(segment: u32, chunk: u32) -> String {
    format!("search/segment/{segment}/{chunk}")
}

/// The stored names of segment `segment`'s chunks.
pub fn chunk_names(key: &LocalKey, segment: u32, chunks: u32) -> Vec<String> {
    (0..chunks).map(|chunk| key.name(&chunk_record(segment, chunk))).collect()
}

pub fn seal_manifest(key: &LocalKey, manifest: &Manifest) -> (String, Vec<u8>) {
    (manifest_name(key), key.seal(MANIFEST, &manifest.encode()))
}

pub fn open_manifest(key: &LocalKey, sealed: &[u8]) -> Result<Manifest, String> {
    let bytes = key.open(MANIFEST, sealed).map_err(|error| error.to_string())?;
    Manifest::decode(&bytes).map_err(|error| error.to_string())
}

/// Seals `bytes` as segment `segment`: its records and the manifest entry for it.
pub fn seal_segment(key: &LocalKey, segment: u32, bytes: &[u8]) -> (Records, SegmentEntry) {
    let mut records = Vec::with_capacity(bytes.len() / CHUNK_BYTES + 1);
    let mut stored = 0u64;
    for (chunk, piece) in bytes.chunks(CHUNK_BYTES).enumerate() {
        let record = chunk_record(segment, chunk as u32);
        let sealed = key.seal(&record, piece);
        stored += sealed.len() as u64;
        records.push((key.name(&record), sealed));
    }
    let chunks = records.len() as u32;
    (records, (segment, chunks, stored))
}

/// Opens segment `segment` from its sealed chunks, in order.
pub fn open_segment(key: &LocalKey, segment: u32, chunks: &[Option<Vec<u8>>]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (chunk, sealed) in chunks.iter().enumerate() {
        let Some(sealed) = sealed else {
            return Err(format!("part {chunk} of search segment {segment} is missing"));
        };
        let piece = key.open(&chunk_record(segment, chunk as u32), sealed).map_err(|error| error.to_string())?;
        out.extend_from_slice(&piece);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_and_segments_round_trip_sealed() {
        let key = LocalKey::derive(&[3; 32], "bob@plico.test");
        let manifest = Manifest { next: 7, segments: vec![(5, 2, 2_000_000), (6, 1, 40)] };
        let (name, sealed) = seal_manifest(&key, &manifest);
        assert_eq!(name, manifest_name(&key));
        assert_eq!(open_manifest(&key, &sealed).expect("opens"), manifest);
        assert!(open_manifest(&LocalKey::derive(&[4; 32], "bob@plico.test"), &sealed).is_err(), "another key");

        let bytes: Vec<u8> = (0..CHUNK_BYTES * 2 + 10).map(|i| (i % 251) as u8).collect();
        let (records, entry) = seal_segment(&key, 9, &bytes);
        assert_eq!(entry.0, 9);
        assert_eq!(entry.1, 3, "three chunks");
        let names: Vec<_> = records.iter().map(|(name, _)| name.clone()).collect();
        assert_eq!(names, chunk_names(&key, 9, 3));
        assert!(names.iter().all(|name| !name.contains("segment")));
        let sealed: Vec<_> = records.into_iter().map(|(_, sealed)| Some(sealed)).collect();
        assert_eq!(open_segment(&key, 9, &sealed).expect("opens"), bytes);
        assert!(open_segment(&key, 8, &sealed).is_err(), "bound to its number");
        let mut swapped = sealed.clone();
        swapped.swap(0, 1);
        assert!(open_segment(&key, 9, &swapped).is_err(), "chunks cannot be reordered");
        let mut missing = sealed;
        missing[1] = None;
        assert!(open_segment(&key, 9, &missing).expect_err("missing").contains("missing"));
    }
}
