//! The mailbox the worker keeps between visits: every message's metadata and opened summary,
//! the folders with their opened names, and the sync cursor they are current to.
//!
//! Stored as records of `plico_local` (each sealed under the device key by the caller):
//! - `mailbox/state`: the cursor and the folders;
//! - `mailbox/bucket/N`, N < [`BUCKETS`]: the messages whose id hashes to N, so a change
//!   rewrites a thirty-second of the mailbox, not all of it;
//! - `mailbox/head`: what the first screen needs (the newest messages of each folder, listed),
//!   so the Inbox shows before the rest is read.
//!
//! Several tabs save the same records. A save goes through only when the saver's cursor is at
//! least the stored one, read in the same transaction ([`MailboxCache::stored_cursor`]); then
//! every stored bucket was written by a tab that knew no more than the saver, and the saver
//! writes every bucket it changed since its own last save. So the stored cursor never claims
//! changes the stored buckets lack, and the next sync from it repairs anything older.

use std::collections::{HashMap, HashSet};

use plico_api::mail::MessageMeta;
use plico_api::worker::{FolderView, ListedMessage, ListedSummary};
use serde::{Deserialize, Serialize};

/// How many records the messages are spread over.
pub const BUCKETS: u32 = 32;
/// The record names.
pub const STATE_RECORD: &str = "mailbox/state";
pub const HEAD_RECORD: &str = "mailbox/head";
/// Bumped when a record's layout changes; an old layout is dropped and synced again.
const FORMAT: u8 = 2;

/// The key of this account's records on this device, from its first secret key (the last of
/// the keyring, which grows at the front: a new primary key leaves what this device keeps
/// readable); `None` if the key has no secret material to derive it from.
pub fn device_key(session: &crate::UnlockedSession) -> Option<plico_local::LocalKey> {
    let first = session.keyring.last().unwrap_or(&session.secret_key);
    let secret = plico_pgp::primary_secret_material(first).ok()?;
    Some(plico_local::LocalKey::derive(&secret, &session.account.address))
}

/// The name of bucket `n`'s record.
pub fn bucket_record(n: u32) -> String {
    format!("mailbox/bucket/{n}")
}

/// Which bucket message `id` lives in (FNV-1a: stable across builds, unlike std's hasher).
pub fn bucket_of(id: &str) -> u32 {
    let hash =
        id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3));
    (hash % u64::from(BUCKETS)) as u32
}

/// One cached message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedMessage {
    /// The server's metadata, without the sealed summary (opened below, or fetched when needed).
    pub meta: MessageMeta,
    /// `None`: not opened yet. `Some(None)`: cannot be read.
    pub summary: Option<Option<ListedSummary>>,
}

#[derive(Serialize, Deserialize)]
struct StateRecord {
    format: u8,
    cursor: i64,
    folders: Vec<FolderView>,
}

#[derive(Serialize, Deserialize)]
struct BucketRecord {
    format: u8,
    messages: Vec<CachedMessage>,
}

/// The first screen's worth of the mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    format: u8,
    pub folders: Vec<FolderView>,
    pub messages: Vec<ListedMessage>,
}

/// Records to write, as plaintext (the caller seals them), and the buckets they cover.
#[derive(Debug)]
pub struct Dirty {
    pub records: Vec<(String, Vec<u8>)>,
    pub cursor: i64,
    buckets: u64,
    state: bool,
}

/// The mailbox as the worker knows it.
#[derive(Debug, Default)]
pub struct MailboxCache {
    cursor: i64,
    folders: Vec<FolderView>,
    messages: HashMap<String, CachedMessage>,
    /// Bit n: bucket n changed since the last save.
    dirty_buckets: u64,
    dirty_state: bool,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // postcard into a Vec fails only on types it cannot represent, and these are plain data.
    postcard::to_allocvec(value).unwrap_or_default()
}

/// What a change to a message means for its cached summary.
fn keep_summary(old: Option<&CachedMessage>, meta: &MessageMeta) -> Option<Option<ListedSummary>> {
    old.filter(|old| old.meta.blob_hash == meta.blob_hash).and_then(|old| old.summary.clone())
}

/// The ids of the newest `per_folder` messages of each folder (and of each recovery area).
pub fn newest_per_folder<'a>(
    messages: impl IntoIterator<Item = &'a MessageMeta>,
    per_folder: usize,
) -> HashSet<String> {
    let mut by_folder: HashMap<(&str, bool), Vec<&MessageMeta>> = HashMap::new();
    for meta in messages {
        by_folder.entry((meta.folder_id.as_str(), meta.deleted_at.is_some())).or_default().push(meta);
    }
    by_folder
        .into_values()
        .flat_map(|mut metas| {
            metas.sort_by(|a, b| b.received_at.cmp(&a.received_at).then_with(|| a.id.cmp(&b.id)));
            metas.into_iter().take(per_folder).map(|meta| meta.id.clone())
        })
        .collect()
}

impl MailboxCache {
    /// The cursor the cache is current to; 0 when it has never synced.
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    pub fn is_empty(&self) -> bool {
        self.cursor == 0 && self.messages.is_empty() && self.folders.is_empty()
    }

    pub fn folders(&self) -> &[FolderView] {
        &self.folders
    }

    /// A message's metadata.
    pub fn meta(&self, id: &str) -> Option<&MessageMeta> {
        self.messages.get(id).map(|cached| &cached.meta)
    }

    /// A message's opened summary, when it has been opened.
    pub fn summary(&self, id: &str) -> Option<Option<ListedSummary>> {
        self.messages.get(id).and_then(|cached| cached.summary.clone())
    }

    fn touch(&mut self, id: &str) {
        self.dirty_buckets |= 1 << bucket_of(id);
    }

    /// Applies one sync answer; `folders` are already opened. Returns the changed messages,
    /// listed, each keeping its summary while its blob is unchanged.
    pub fn apply(
        &mut self,
        cursor: i64,
        folders: Vec<FolderView>,
        messages: Vec<MessageMeta>,
        removed: &[String],
        removed_folders: &[String],
    ) -> Vec<ListedMessage> {
        self.cursor = self.cursor.max(cursor);
        self.dirty_state = true;
        self.folders.retain(|folder| !removed_folders.contains(&folder.id));
        for folder in folders {
            match self.folders.iter_mut().find(|known| known.id == folder.id) {
                Some(known) => *known = folder,
                None => self.folders.push(folder),
            }
        }
        let mut listed = Vec::with_capacity(messages.len());
        for mut meta in messages {
            meta.sealed_summary = String::new();
            let summary = keep_summary(self.messages.get(&meta.id), &meta);
            listed.push(crate::mail::listed_message(&meta, summary.clone()));
            self.touch(&meta.id);
            self.messages.insert(meta.id.clone(), CachedMessage { meta, summary });
        }
        for id in removed {
            if self.messages.remove(id).is_some() {
                self.touch(id);
            }
        }
        listed
    }

    /// Puts an opened summary in place (`None`: it cannot be read).
    pub fn set_summary(&mut self, id: &str, summary: Option<ListedSummary>) {
        if let Some(cached) = self.messages.get_mut(id) {
            cached.summary = Some(summary);
            self.touch(id);
        }
    }

    /// One message, listed.
    pub fn listed_one(&self, id: &str) -> Option<ListedMessage> {
        self.messages.get(id).map(|cached| crate::mail::listed_message(&cached.meta, cached.summary.clone()))
    }

    /// Every message's metadata.
    pub fn metas(&self) -> impl Iterator<Item = &MessageMeta> {
        self.messages.values().map(|cached| &cached.meta)
    }

    /// Every message, listed.
    pub fn listed(&self) -> Vec<ListedMessage> {
        self.messages.values().map(|cached| crate::mail::listed_message(&cached.meta, cached.summary.clone())).collect()
    }

    /// The ids of the newest `per_folder` messages of each folder whose summaries are not
    /// opened yet.
    pub fn first_unopened(&self, per_folder: usize) -> Vec<String> {
        newest_per_folder(self.messages.values().map(|cached| &cached.meta), per_folder)
            .into_iter()
            .filter(|id| self.messages.get(id).is_some_and(|cached| cached.summary.is_none()))
            .collect()
    }

    /// The first screen: the folders and the newest `per_folder` messages of each.
    pub fn head(&self, per_folder: usize) -> Head {
        let newest = newest_per_folder(self.messages.values().map(|cached| &cached.meta), per_folder);
        let messages = newest
            .iter()
            .filter_map(|id| self.messages.get(id))
            .map(|cached| crate::mail::listed_message(&cached.meta, cached.summary.clone()))
            .collect();
        Head { format: FORMAT, folders: self.folders.clone(), messages }
    }

    /// Takes what changed since the last save, as plaintext records; the dirty marks clear
    /// now, and come back with [`MailboxCache::unsaved`] if the write does not happen.
    pub fn take_dirty(&mut self, head_per_folder: usize) -> Option<Dirty> {
        if !self.dirty_state && self.dirty_buckets == 0 {
            return None;
        }
        let mut buckets: Vec<Vec<CachedMessage>> = vec![Vec::new(); BUCKETS as usize];
        if self.dirty_buckets != 0 {
            for cached in self.messages.values() {
                let n = bucket_of(&cached.meta.id);
                if self.dirty_buckets & (1 << n) != 0 {
                    buckets[n as usize].push(cached.clone());
                }
            }
        }
        let mut records = vec![
            (
                STATE_RECORD.to_owned(),
                encode(&StateRecord { format: FORMAT, cursor: self.cursor, folders: self.folders.clone() }),
            ),
            (HEAD_RECORD.to_owned(), encode(&self.head(head_per_folder))),
        ];
        for (n, messages) in buckets.into_iter().enumerate() {
            if self.dirty_buckets & (1 << n) != 0 {
                records.push((bucket_record(n as u32), encode(&BucketRecord { format: FORMAT, messages })));
            }
        }
        let dirty = Dirty { records, cursor: self.cursor, buckets: self.dirty_buckets, state: self.dirty_state };
        self.dirty_buckets = 0;
        self.dirty_state = false;
        Some(dirty)
    }

    /// Marks what `dirty` covered as unsaved again.
    pub fn unsaved(&mut self, dirty: &Dirty) {
        self.dirty_buckets |= dirty.buckets;
        self.dirty_state |= dirty.state;
    }

    /// The cursor in a stored state record, if it is one this build reads.
    pub fn stored_cursor(state: &[u8]) -> Option<i64> {
        postcard::from_bytes::<StateRecord>(state).ok().filter(|state| state.format == FORMAT).map(|state| state.cursor)
    }

    /// A stored head, if it is one this build reads.
    pub fn read_head(head: &[u8]) -> Option<Head> {
        postcard::from_bytes::<Head>(head).ok().filter(|head| head.format == FORMAT)
    }

    /// Rebuilds the cache from its stored records: the state, then bucket 0, 1, … (`None` for
    /// a bucket never written). Anything unreadable gives an empty cache, which syncs afresh.
    pub fn load(state: Option<&[u8]>, buckets: &[Option<Vec<u8>>]) -> MailboxCache {
        let Some(state) = state.and_then(|bytes| postcard::from_bytes::<StateRecord>(bytes).ok()) else {
            return MailboxCache::default();
        };
        if state.format != FORMAT {
            return MailboxCache::default();
        }
        let mut messages = HashMap::new();
        for bytes in buckets.iter().flatten() {
            match postcard::from_bytes::<BucketRecord>(bytes) {
                Ok(bucket) if bucket.format == FORMAT => {
                    messages.extend(bucket.messages.into_iter().map(|cached| (cached.meta.id.clone(), cached)))
                }
                _ => return MailboxCache::default(),
            }
        }
        MailboxCache { cursor: state.cursor, folders: state.folders, messages, dirty_buckets: 0, dirty_state: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plico_api::mail::FolderRole;

    fn meta(id: &str, folder: &str, received_at: i64, blob: &str) -> MessageMeta {
        MessageMeta {
            id: id.into(),
            folder_id: folder.into(),
            flags: 0,
            size: 10,
            received_at,
            blob_hash: blob.into(),
            sealed_summary: "sealed".into(),
            deleted_at: None,
            sender: None,
        }
    }

    fn summary(subject: &str) -> ListedSummary {
        ListedSummary {
            subject: subject.into(),
            from_name: None,
            from_address: Some("bob@plico.test".into()),
            snippet: "…".into(),
            has_attachments: false,
            message_id: None,
            in_reply_to: vec![],
            references: vec![],
            sender_mismatch: None,
        }
    }

    fn inbox() -> FolderView {
        FolderView { id: "in".into(), role: Some(FolderRole::Inbox), name: None, total: 3, unread: 3 }
    }

    /// Saves `cache` as a store would keep it: the last write of each record wins.
    fn save(cache: &mut MailboxCache, store: &mut HashMap<String, Vec<u8>>) {
        if let Some(dirty) = cache.take_dirty(60) {
            store.extend(dirty.records);
        }
    }

    fn reload(store: &HashMap<String, Vec<u8>>) -> MailboxCache {
        let buckets: Vec<Option<Vec<u8>>> = (0..BUCKETS).map(|n| store.get(&bucket_record(n)).cloned()).collect();
        MailboxCache::load(store.get(STATE_RECORD).map(Vec::as_slice), &buckets)
    }

    #[test]
    fn a_saved_cache_reloads_with_summaries_and_drops_sealed_summaries() {
        let mut cache = MailboxCache::default();
        let listed = cache.apply(
            7,
            vec![inbox()],
            vec![meta("a", "in", 1, "ha"), meta("b", "in", 2, "hb"), meta("c", "in", 3, "hc")],
            &[],
            &[],
        );
        assert!(listed.iter().all(|message| message.pending), "nothing opened yet");
        let mut unopened = cache.first_unopened(2);
        unopened.sort();
        assert_eq!(unopened, ["b", "c"], "the newest first");
        cache.set_summary("c", Some(summary("Lunch?")));
        cache.set_summary("b", None);

        let mut store = HashMap::new();
        save(&mut cache, &mut store);
        assert!(cache.take_dirty(60).is_none(), "nothing left to save");
        let loaded = reload(&store);
        assert_eq!(loaded.cursor(), 7);
        assert_eq!(loaded.folders(), &[inbox()]);
        assert_eq!(loaded.summary("c"), Some(Some(summary("Lunch?"))));
        assert_eq!(loaded.summary("b"), Some(None), "unreadable stays unreadable");
        assert_eq!(loaded.summary("a"), None, "still to open");
        assert_eq!(loaded.meta("a").map(|meta| meta.sealed_summary.as_str()), Some(""), "not kept twice");

        let head = MailboxCache::read_head(&store[HEAD_RECORD]).expect("head");
        let mut ids: Vec<&str> = head.messages.iter().map(|message| message.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(MailboxCache::stored_cursor(&store[STATE_RECORD]), Some(7));
    }

    #[test]
    fn changes_keep_summaries_until_the_blob_changes_and_removals_stick() {
        let mut cache = MailboxCache::default();
        cache.apply(1, vec![inbox()], vec![meta("a", "in", 1, "ha"), meta("b", "in", 2, "hb")], &[], &[]);
        cache.set_summary("a", Some(summary("one")));
        cache.set_summary("b", Some(summary("two")));
        let mut moved = meta("a", "archive", 1, "ha");
        moved.flags = 1;
        let listed = cache.apply(2, vec![], vec![moved, meta("b", "in", 2, "hb2")], &[], &[]);
        assert_eq!(listed[0].summary, Some(summary("one")), "a move keeps the summary");
        assert!(listed[1].pending, "a new blob (a draft saved again) needs its new summary");
        let mut store = HashMap::new();
        save(&mut cache, &mut store);
        cache.apply(3, vec![], vec![], &["a".into()], &["in".into()]);
        save(&mut cache, &mut store);
        let loaded = reload(&store);
        assert!(loaded.meta("a").is_none(), "purged for good");
        assert!(loaded.meta("b").is_some());
        assert!(loaded.folders().is_empty(), "the deleted folder is gone");
        assert_eq!(loaded.cursor(), 3);
    }

    #[test]
    fn only_changed_buckets_are_rewritten() {
        let mut cache = MailboxCache::default();
        let metas: Vec<MessageMeta> = (0..500).map(|n| meta(&format!("m{n}"), "in", n, "h")).collect();
        cache.apply(1, vec![inbox()], metas, &[], &[]);
        let first = cache.take_dirty(60).expect("dirty");
        assert_eq!(first.records.len(), 2 + BUCKETS as usize, "state, head and every bucket");
        cache.set_summary("m42", Some(summary("x")));
        let second = cache.take_dirty(60).expect("dirty");
        let buckets: Vec<&str> =
            second.records.iter().map(|(name, _)| name.as_str()).filter(|name| name.contains("bucket")).collect();
        assert_eq!(buckets, [bucket_record(bucket_of("m42"))]);
        cache.unsaved(&second);
        assert!(cache.take_dirty(60).is_some(), "a save that did not happen stays to do");
    }

    #[test]
    fn unreadable_or_other_format_records_give_an_empty_cache() {
        assert!(MailboxCache::load(Some(b"junk"), &[]).is_empty());
        assert!(MailboxCache::load(None, &[]).is_empty());
        let mut cache = MailboxCache::default();
        cache.apply(5, vec![inbox()], vec![meta("a", "in", 1, "ha")], &[], &[]);
        let mut store = HashMap::new();
        save(&mut cache, &mut store);
        let bucket = bucket_record(bucket_of("a"));
        store.insert(bucket, b"truncated".to_vec());
        assert!(reload(&store).is_empty(), "a damaged bucket means syncing afresh, never a partial mailbox");
        assert_eq!(MailboxCache::stored_cursor(b"junk"), None);
        assert_eq!(MailboxCache::read_head(b""), None);
    }

    #[test]
    fn buckets_spread_and_stay_put() {
        assert_eq!(bucket_of("0190b5c6-aaaa"), bucket_of("0190b5c6-aaaa"));
        let used: HashSet<u32> = (0..1000).map(|n| bucket_of(&format!("id-{n}"))).collect();
        assert_eq!(used.len(), BUCKETS as usize);
    }
}
