//! The inverted index: terms to postings, ranked with BM25 and recency, stored as segments.
//!
//! Documents get numbers in the order they are added (from 1). Each term keeps two byte
//! streams: its postings (`doc delta, tf << 5 | fields`, varints) and, apart, the positions
//! of each occurrence (varint deltas), so that a plain query never reads positions and a
//! phrase reads only its own words'.
//!
//! The index persists as a log of segments: [`Index::take_segment`] encodes what changed since
//! the last one (new documents with their postings, removals, folder and flag changes) and
//! [`Index::apply_segment`] replays one. A term's postings in a segment say which document
//! they follow, so replaying appends bytes without re-encoding them. The caller seals and
//! stores the bytes; this module does no IO.
//!
//! Words are indexed as written (folded); stemming happens at query time ([`crate::stem`]),
//! so prefixes stay exact and one index serves every language.

use std::collections::HashMap as StdHashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::query::{self, Clause, Field, Filter, Query, QueryError};
use crate::stem;
use crate::text;

/// The Fx hash (as in rustc): word-at-a-time multiply and rotate. The index's keys are its own
/// words and numbers, not an attacker's choice of collisions to slow a server down, and
/// SipHash was a fifth of indexing time.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }
    #[inline]
    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }
    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type HashMap<K, V> = StdHashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Document flags, as the caller knows them.
pub mod flags {
    pub const UNREAD: u8 = 1;
    pub const STARRED: u8 = 2;
    pub const ATTACHMENT: u8 = 4;
}

/// Where in a document a term occurs (a posting's field bits).
mod field {
    pub const SUBJECT: u8 = 1;
    pub const FROM: u8 = 2;
    pub const TO: u8 = 4;
    pub const BODY: u8 = 8;
    pub const ATTACHMENT: u8 = 16;
}

/// How much body text each document keeps for its snippet.
pub const EXCERPT_CHARS: usize = 160;
/// Positions between fields, so a phrase never spans two.
const FIELD_GAP: u32 = 8;
/// Completions of a prefix that a query follows, the most frequent first.
const MAX_PREFIX_TERMS: usize = 64;
const BM25_K1: f32 = 1.2;
const BM25_B: f32 = 0.75;

/// Something to index. Mail today; contacts, events and documents can come as documents with
/// their own folder ("contacts", "calendar", …) and fields mapped onto these.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Document {
    /// The caller's id (a message id); adding an id again replaces the document.
    pub id: String,
    /// Seconds since the epoch (received).
    pub date: i64,
    /// The folder's id.
    pub folder: String,
    /// [`flags`].
    pub flags: u8,
    pub subject: String,
    /// "Name <address>" or an address.
    pub from: Vec<String>,
    /// To and Cc.
    pub to: Vec<String>,
    /// Plain text (HTML already converted).
    pub body: String,
    /// Attachment file names.
    pub attachments: Vec<String>,
}

/// What the index keeps of a document besides its postings.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Doc {
    id: String,
    date: i64,
    folder: String,
    flags: u8,
    /// Words in the document, for BM25's length normalisation.
    len: u32,
    subject: String,
    from: String,
    excerpt: String,
}

#[derive(Debug, Default)]
struct Term {
    postings: Vec<u8>,
    positions: Vec<u8>,
    last_doc: u32,
    df: u32,
    /// A function word ([`text::is_stopword`]): no positions kept.
    stop: bool,
    /// Where the stored segments end: (postings length, positions length, last doc, df).
    flushed: (u32, u32, u32, u32),
}

/// Where a snapshot written in pieces has got to.
#[derive(Debug)]
pub struct Snapshot {
    docs: Vec<u32>,
    terms: Vec<u32>,
    doc_at: usize,
    term_at: usize,
    pieces: u32,
}

/// Text with the byte ranges to highlight.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Highlighted {
    pub text: String,
    pub marks: Vec<(u32, u32)>,
}

/// One result.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    pub id: String,
    pub score: f32,
    pub date: i64,
    pub folder: String,
    pub from: String,
    pub subject: Highlighted,
    pub snippet: Highlighted,
}

/// What a search found.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Results {
    /// How many documents matched (more than `hits` holds when over the limit).
    pub total: u32,
    pub hits: Vec<Hit>,
}

/// Why a segment did not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentError(pub &'static str);

impl std::fmt::Display for SegmentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the stored search index is damaged ({})", self.0)
    }
}

impl std::error::Error for SegmentError {}

/// Term ids by text. A word of up to 15 bytes (nearly every word) is keyed by its bytes packed
/// into a u128 with its length, so a lookup compares two words in registers instead of
/// following a pointer to the text and comparing it byte by byte (a third of indexing time).
#[derive(Debug, Default)]
struct TermIds {
    short: HashMap<u128, u32>,
    long: HashMap<Box<str>, u32>,
}

impl TermIds {
    fn pack(term: &str) -> Option<u128> {
        let bytes = term.as_bytes();
        if bytes.len() > 15 {
            return None;
        }
        let mut packed = [0u8; 16];
        packed[..bytes.len()].copy_from_slice(bytes);
        packed[15] = bytes.len() as u8;
        Some(u128::from_le_bytes(packed))
    }

    fn get(&self, term: &str) -> Option<u32> {
        match TermIds::pack(term) {
            Some(packed) => self.short.get(&packed).copied(),
            None => self.long.get(term).copied(),
        }
    }

    fn insert(&mut self, term: &str, id: u32) {
        match TermIds::pack(term) {
            Some(packed) => self.short.insert(packed, id),
            None => self.long.insert(term.into(), id),
        };
    }
}

/// The index.
#[derive(Debug, Default)]
pub struct Index {
    /// By document number - 1; `None` once removed.
    docs: Vec<Option<Doc>>,
    by_id: HashMap<String, u32>,
    live: u32,
    /// Removed documents whose postings are still in the streams.
    removed_unpurged: u32,
    total_len: u64,
    terms: Vec<Term>,
    term_text: Vec<Box<str>>,
    term_ids: TermIds,
    /// Term ids in text order up to `sorted_upto` terms; later ones are scanned.
    sorted: Vec<u32>,
    // What the next segment holds.
    pending_docs: Vec<u32>,
    pending_terms: Vec<u32>,
    pending_removed: Vec<u32>,
    pending_updates: Vec<u32>,
}

// Varints (LEB128) and the small codec of segments.

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *bytes.get(*at)?;
        *at += 1;
        if shift > 63 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

/// Reads the posting at `at`: (doc delta, tf, fields).
#[inline]
fn get_posting(bytes: &[u8], at: &mut usize) -> Option<(u32, u32, u8)> {
    let delta = get_varint(bytes, at)? as u32;
    let packed = get_varint(bytes, at)? as u32;
    Some((delta, packed >> 5, (packed & 31) as u8))
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, SegmentError> {
        get_varint(self.bytes, &mut self.at).ok_or(SegmentError("a number is cut short"))
    }
    fn u32(&mut self) -> Result<u32, SegmentError> {
        u32::try_from(self.varint()?).map_err(|_| SegmentError("a number is too large"))
    }
    fn bytes(&mut self) -> Result<&'a [u8], SegmentError> {
        let len = self.varint()? as usize;
        let end = self.at.checked_add(len).filter(|&end| end <= self.bytes.len()).ok_or(SegmentError("cut short"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn string(&mut self) -> Result<String, SegmentError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| SegmentError("text is not UTF-8"))
    }
    fn byte(&mut self) -> Result<u8, SegmentError> {
        let byte = *self.bytes.get(self.at).ok_or(SegmentError("cut short"))?;
        self.at += 1;
        Ok(byte)
    }
}

const SEGMENT_MAGIC: &[u8; 4] = b"PLS1";

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// The first `max` characters of `text`, whitespace runs made single spaces.
fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(max.min(text.len()));
    let mut count = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if count >= max {
            out.push('…');
            break;
        }
        if space {
            out.push(' ');
            count += 1;
            space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

impl Index {
    pub fn new() -> Index {
        Index::default()
    }

    /// Documents in the index.
    pub fn len(&self) -> usize {
        self.live as usize
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Distinct words indexed.
    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// Whether document `id` is indexed.
    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// The ids of the documents in `folder`.
    pub fn ids_in(&self, folder: &str) -> Vec<String> {
        self.docs.iter().flatten().filter(|doc| doc.folder == folder).map(|doc| doc.id.clone()).collect()
    }

    /// The ids of every indexed document.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }

    /// The date of the oldest indexed document: "searchable back to".
    pub fn oldest(&self) -> Option<i64> {
        self.docs.iter().flatten().map(|doc| doc.date).min()
    }

    /// Sizes for benchmarks: (postings bytes, positions bytes, document bytes, term text bytes).
    pub fn stats(&self) -> (usize, usize, usize, usize) {
        let postings = self.terms.iter().map(|term| term.postings.len()).sum();
        let positions = self.terms.iter().map(|term| term.positions.len()).sum();
        let docs = self
            .docs
            .iter()
            .flatten()
            .map(|doc| doc.id.len() + doc.folder.len() + doc.subject.len() + doc.from.len() + doc.excerpt.len() + 12)
            .sum();
        let texts = self.term_text.iter().map(|text| text.len()).sum();
        (postings, positions, docs, texts)
    }

    /// Bytes the index holds in memory for postings and positions (an estimate of its stored size).
    pub fn posting_bytes(&self) -> usize {
        self.terms.iter().map(|term| term.postings.len() + term.positions.len()).sum()
    }

    fn term_id(&mut self, term: &str) -> u32 {
        if let Some(id) = self.term_ids.get(term) {
            return id;
        }
        let id = self.terms.len() as u32;
        self.terms.push(Term { stop: text::is_stopword(term), ..Term::default() });
        self.term_text.push(term.into());
        self.term_ids.insert(term, id);
        id
    }

    /// Adds (or replaces) a document.
    pub fn add(&mut self, document: &Document) {
        if let Some(&old) = self.by_id.get(&document.id) {
            self.remove_number(old);
        }
        let number = self.docs.len() as u32 + 1;
        // Every occurrence: (term, position, field), grouped by term below.
        let mut occurrences: Vec<(u32, u32, u8)> = Vec::with_capacity(document.body.len() / 5 + 16);
        let mut position = 0u32;
        let mut index_text = |index: &mut Index, text: &str, field: u8, position: &mut u32| {
            text::for_each_word(text, |term, _, _| {
                occurrences.push((index.term_id(term), *position, field));
                *position += 1;
            });
            *position += FIELD_GAP;
        };
        index_text(self, &document.subject, field::SUBJECT, &mut position);
        for from in &document.from {
            index_text(self, from, field::FROM, &mut position);
        }
        for to in &document.to {
            index_text(self, to, field::TO, &mut position);
        }
        for name in &document.attachments {
            index_text(self, name, field::ATTACHMENT, &mut position);
        }
        index_text(self, &document.body, field::BODY, &mut position);
        // By term, positions ascending within each: occurrences are in position order, so
        // sorting (term, occurrence number) as one u64 is the stable sort by term, done unstably.
        let mut order: Vec<u64> =
            occurrences.iter().enumerate().map(|(at, &(id, _, _))| (u64::from(id) << 32) | at as u64).collect();
        order.sort_unstable();
        let words = occurrences.len() as u32;
        let occurrences: Vec<(u32, u32, u8)> =
            order.iter().map(|&key| occurrences[(key & 0xffff_ffff) as usize]).collect();
        for group in occurrences.chunk_by(|a, b| a.0 == b.0) {
            let id = group[0].0;
            let fields = group.iter().fold(0u8, |bits, &(_, _, field)| bits | field);
            let term = &mut self.terms[id as usize];
            if term.postings.len() as u32 == term.flushed.0 {
                self.pending_terms.push(id);
            }
            put_varint(&mut term.postings, u64::from(number - term.last_doc));
            put_varint(&mut term.postings, (u64::from(group.len() as u32) << 5) | u64::from(fields));
            if !term.stop {
                let mut previous = 0;
                for &(_, at, _) in group {
                    put_varint(&mut term.positions, u64::from(at - previous));
                    previous = at;
                }
            }
            term.last_doc = number;
            term.df += 1;
        }
        let flags = document.flags | if document.attachments.is_empty() { 0 } else { flags::ATTACHMENT };
        let from = document.from.first().cloned().unwrap_or_default();
        self.docs.push(Some(Doc {
            id: document.id.clone(),
            date: document.date,
            folder: document.folder.clone(),
            flags,
            len: words,
            subject: document.subject.clone(),
            from,
            excerpt: excerpt(&document.body, EXCERPT_CHARS),
        }));
        self.by_id.insert(document.id.clone(), number);
        self.live += 1;
        self.total_len += u64::from(words);
        self.pending_docs.push(number);
    }

    fn remove_number(&mut self, number: u32) {
        if let Some(slot) = self.docs.get_mut(number as usize - 1) {
            if let Some(doc) = slot.take() {
                self.by_id.remove(&doc.id);
                self.live -= 1;
                self.removed_unpurged += 1;
                self.total_len -= u64::from(doc.len);
                self.pending_removed.push(number);
            }
        }
    }

    /// Removes document `id` (deleted mail). Its postings stay until the index is rebuilt,
    /// but it is never found again.
    pub fn remove(&mut self, id: &str) -> bool {
        match self.by_id.get(id) {
            Some(&number) => {
                self.remove_number(number);
                true
            }
            None => false,
        }
    }

    /// Moves document `id` to `folder` and sets its flags (the attachment flag is kept).
    pub fn update(&mut self, id: &str, folder: &str, flags: u8) -> bool {
        let Some(&number) = self.by_id.get(id) else { return false };
        let Some(Some(doc)) = self.docs.get_mut(number as usize - 1) else { return false };
        let flags = (flags & !flags::ATTACHMENT) | (doc.flags & flags::ATTACHMENT);
        if doc.folder == folder && doc.flags == flags {
            return false;
        }
        doc.folder = folder.to_owned();
        doc.flags = flags;
        self.pending_updates.push(number);
        true
    }

    /// Whether anything changed since the last [`Index::take_segment`].
    pub fn has_pending(&self) -> bool {
        !(self.pending_docs.is_empty() && self.pending_removed.is_empty() && self.pending_updates.is_empty())
    }

    /// Documents added since the last segment.
    pub fn pending_documents(&self) -> usize {
        self.pending_docs.len()
    }

    /// Encodes everything since the last segment, and starts the next.
    pub fn take_segment(&mut self) -> Option<Vec<u8>> {
        if !self.has_pending() {
            return None;
        }
        self.take_segment_always()
    }

    /// [`Index::take_segment`] even when only words wait (a snapshot's pieces).
    fn take_segment_always(&mut self) -> Option<Vec<u8>> {
        if !self.has_pending() && self.pending_terms.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(64 + self.pending_docs.len() * 400);
        out.extend_from_slice(SEGMENT_MAGIC);
        let docs = std::mem::take(&mut self.pending_docs);
        let live: Vec<u32> = docs.into_iter().filter(|&number| self.docs[number as usize - 1].is_some()).collect();
        put_varint(&mut out, live.len() as u64);
        for &number in &live {
            let Some(doc) = &self.docs[number as usize - 1] else { continue };
            put_varint(&mut out, u64::from(number));
            put_bytes(&mut out, doc.id.as_bytes());
            put_varint(&mut out, zigzag(doc.date));
            put_bytes(&mut out, doc.folder.as_bytes());
            out.push(doc.flags);
            put_varint(&mut out, u64::from(doc.len));
            put_bytes(&mut out, doc.subject.as_bytes());
            put_bytes(&mut out, doc.from.as_bytes());
            put_bytes(&mut out, doc.excerpt.as_bytes());
        }
        // A document added and removed before its segment: its number is gone from `live`,
        // but its postings are in the streams, so its number still counts.
        put_varint(&mut out, self.docs.len() as u64);
        // Words in order, each written as what it shares with the one before and the rest.
        let mut terms = std::mem::take(&mut self.pending_terms);
        terms.sort_unstable_by(|a, b| self.term_text[*a as usize].cmp(&self.term_text[*b as usize]));
        put_varint(&mut out, terms.len() as u64);
        let mut previous: &[u8] = &[];
        for id in terms {
            let text = self.term_text[id as usize].as_bytes();
            let shared = previous.iter().zip(text).take_while(|(a, b)| a == b).count();
            put_varint(&mut out, shared as u64);
            put_bytes(&mut out, &text[shared..]);
            previous = text;
            let term = &mut self.terms[id as usize];
            let (postings_at, positions_at, base, base_df) = term.flushed;
            put_varint(&mut out, u64::from(base));
            put_varint(&mut out, u64::from(term.last_doc - base));
            put_varint(&mut out, u64::from(term.df - base_df));
            put_bytes(&mut out, &term.postings[postings_at as usize..]);
            put_bytes(&mut out, &term.positions[positions_at as usize..]);
            term.flushed = (term.postings.len() as u32, term.positions.len() as u32, term.last_doc, term.df);
        }
        let removed = std::mem::take(&mut self.pending_removed);
        put_varint(&mut out, removed.len() as u64);
        for number in removed {
            put_varint(&mut out, u64::from(number));
        }
        let updates = std::mem::take(&mut self.pending_updates);
        let updates: Vec<_> = updates
            .into_iter()
            .filter_map(|number| self.docs[number as usize - 1].as_ref().map(|doc| (number, doc)))
            .collect();
        put_varint(&mut out, updates.len() as u64);
        for (number, doc) in updates {
            put_varint(&mut out, u64::from(number));
            put_bytes(&mut out, doc.folder.as_bytes());
            out.push(doc.flags);
        }
        Some(out)
    }

    /// Encodes the whole index as one segment, to replace every stored one (compaction).
    /// Removed documents' postings are dropped first.
    pub fn snapshot(&mut self) -> Vec<u8> {
        let mut snapshot = self.begin_snapshot();
        self.snapshot_piece(&mut snapshot, usize::MAX).unwrap_or_default()
    }

    /// Starts a snapshot written in pieces ([`Index::snapshot_piece`]), so that compacting a big
    /// index never holds all of it twice. Until the last piece, the index must not change.
    pub fn begin_snapshot(&mut self) -> Snapshot {
        self.purge_removed();
        self.pending_docs.clear();
        self.pending_removed.clear();
        self.pending_updates.clear();
        self.pending_terms.clear();
        let mut terms = Vec::new();
        for (id, term) in self.terms.iter_mut().enumerate() {
            term.flushed = (0, 0, 0, 0);
            if !term.postings.is_empty() {
                terms.push(id as u32);
            }
        }
        let docs = (1..=self.docs.len() as u32).filter(|&n| self.docs[n as usize - 1].is_some()).collect();
        Snapshot { docs, terms, doc_at: 0, term_at: 0, pieces: 0 }
    }

    /// The next piece of a snapshot, about `max_bytes` long: a segment of its own (documents
    /// first, then words with their whole postings). `None` once all is written; replaying the
    /// pieces in order into an empty index gives this index.
    pub fn snapshot_piece(&mut self, snapshot: &mut Snapshot, max_bytes: usize) -> Option<Vec<u8>> {
        let done = snapshot.doc_at >= snapshot.docs.len() && snapshot.term_at >= snapshot.terms.len();
        if done && snapshot.pieces > 0 {
            return None;
        }
        snapshot.pieces += 1;
        let mut size = 0usize;
        while snapshot.doc_at < snapshot.docs.len() && size < max_bytes {
            let number = snapshot.docs[snapshot.doc_at];
            if let Some(Some(doc)) = self.docs.get(number as usize - 1) {
                size += 24 + doc.id.len() + doc.folder.len() + doc.subject.len() + doc.from.len() + doc.excerpt.len();
            }
            self.pending_docs.push(number);
            snapshot.doc_at += 1;
        }
        while snapshot.term_at < snapshot.terms.len() && size < max_bytes {
            let id = snapshot.terms[snapshot.term_at];
            let term = &self.terms[id as usize];
            size += 16 + term.postings.len() + term.positions.len() + self.term_text[id as usize].len();
            self.pending_terms.push(id);
            snapshot.term_at += 1;
        }
        let mut out = Vec::with_capacity(size.min(64 << 20) + 64);
        out.extend_from_slice(SEGMENT_MAGIC);
        match self.take_segment_always() {
            Some(segment) => Some(segment),
            None => {
                // An empty index is an empty segment that says how many numbers were used.
                out.push(0);
                put_varint(&mut out, self.docs.len() as u64);
                out.extend_from_slice(&[0, 0, 0]);
                Some(out)
            }
        }
    }

    /// The share of indexed postings that belong to removed documents, roughly: removed
    /// documents not purged yet over all numbered ones.
    pub fn removed_share(&self) -> f32 {
        self.removed_unpurged as f32 / self.docs.len().max(1) as f32
    }

    /// Re-encodes every term without the postings of removed documents.
    fn purge_removed(&mut self) {
        if self.removed_unpurged == 0 {
            return;
        }
        self.removed_unpurged = 0;
        for term in &mut self.terms {
            let mut postings = Vec::with_capacity(term.postings.len());
            let mut positions = Vec::with_capacity(term.positions.len());
            let (mut at, mut position_at) = (0, 0);
            let (mut doc, mut last, mut df) = (0u32, 0u32, 0u32);
            while at < term.postings.len() {
                let Some((delta, tf, fields)) = get_posting(&term.postings, &mut at) else { break };
                doc += delta;
                let start = position_at;
                for _ in 0..if term.stop { 0 } else { tf } {
                    if get_varint(&term.positions, &mut position_at).is_none() {
                        break;
                    }
                }
                if matches!(self.docs.get(doc as usize - 1), Some(Some(_))) {
                    put_varint(&mut postings, u64::from(doc - last));
                    put_varint(&mut postings, (u64::from(tf) << 5) | u64::from(fields));
                    positions.extend_from_slice(&term.positions[start..position_at]);
                    last = doc;
                    df += 1;
                }
            }
            term.postings = postings;
            term.positions = positions;
            term.last_doc = last;
            term.df = df;
        }
    }

    /// Replays a segment made by [`Index::take_segment`], in the order they were made.
    pub fn apply_segment(&mut self, bytes: &[u8]) -> Result<(), SegmentError> {
        if bytes.get(..4) != Some(SEGMENT_MAGIC) {
            return Err(SegmentError("not a segment"));
        }
        let mut r = Reader { bytes, at: 4 };
        let count = r.u32()?;
        let mut added = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let number = r.u32()?;
            let id = r.string()?;
            let date = unzigzag(r.varint()?);
            let folder = r.string()?;
            let flags = r.byte()?;
            let len = r.u32()?;
            let subject = r.string()?;
            let from = r.string()?;
            let excerpt = r.string()?;
            added.push((number, Doc { id, date, folder, flags, len, subject, from, excerpt }));
        }
        let doc_count = r.u32()?;
        if (doc_count as usize) < self.docs.len() || added.iter().any(|(number, _)| *number == 0 || *number > doc_count)
        {
            return Err(SegmentError("document numbers out of order"));
        }
        let terms = r.u32()?;
        let mut term_updates = Vec::with_capacity(terms as usize);
        let mut word: Vec<u8> = Vec::new();
        for _ in 0..terms {
            let shared = r.varint()? as usize;
            if shared > word.len() {
                return Err(SegmentError("a word shares more than the one before has"));
            }
            word.truncate(shared);
            word.extend_from_slice(r.bytes()?);
            let text = String::from_utf8(word.clone()).map_err(|_| SegmentError("a word is not UTF-8"))?;
            let base = r.u32()?;
            let last = base.checked_add(r.u32()?).ok_or(SegmentError("a number is too large"))?;
            let df = r.u32()?;
            let postings = r.bytes()?;
            let positions = r.bytes()?;
            if last > doc_count {
                return Err(SegmentError("a posting names a document that does not exist"));
            }
            term_updates.push((text, base, last, df, postings, positions));
        }
        let removed = r.u32()?;
        let mut removals = Vec::with_capacity(removed as usize);
        for _ in 0..removed {
            removals.push(r.u32()?);
        }
        let updates = r.u32()?;
        let mut changes = Vec::with_capacity(updates as usize);
        for _ in 0..updates {
            let number = r.u32()?;
            let folder = r.string()?;
            let flags = r.byte()?;
            changes.push((number, folder, flags));
        }
        // Checked whole before anything changes: a damaged segment changes nothing.
        for (text, base, ..) in &term_updates {
            let current = self.term_ids.get(text.as_str()).map_or(0, |id| self.terms[id as usize].last_doc);
            if current != *base {
                return Err(SegmentError("segments replayed out of order"));
            }
        }
        self.docs.resize(doc_count as usize, None);
        for (number, doc) in added {
            if let Some(&old) = self.by_id.get(&doc.id) {
                self.remove_number_quietly(old);
            }
            self.live += 1;
            self.total_len += u64::from(doc.len);
            self.by_id.insert(doc.id.clone(), number);
            self.docs[number as usize - 1] = Some(doc);
        }
        for (text, _, last, df, postings, positions) in term_updates {
            let id = self.term_id(&text);
            let term = &mut self.terms[id as usize];
            term.postings.extend_from_slice(postings);
            term.positions.extend_from_slice(positions);
            term.last_doc = last;
            term.df += df;
            term.flushed = (term.postings.len() as u32, term.positions.len() as u32, term.last_doc, term.df);
        }
        for number in removals {
            self.remove_number_quietly(number);
        }
        for (number, folder, flags) in changes {
            if let Some(Some(doc)) = self.docs.get_mut(number as usize - 1) {
                doc.folder = folder;
                doc.flags = flags;
            }
        }
        Ok(())
    }

    fn remove_number_quietly(&mut self, number: u32) {
        self.remove_number(number);
        self.pending_removed.retain(|&pending| pending != number);
    }

    fn ensure_sorted(&mut self) {
        if self.sorted.len() + 4096 < self.terms.len() || (self.sorted.is_empty() && !self.terms.is_empty()) {
            let mut sorted: Vec<u32> = (0..self.terms.len() as u32).collect();
            sorted.sort_unstable_by(|a, b| self.term_text[*a as usize].cmp(&self.term_text[*b as usize]));
            self.sorted = sorted;
        }
    }

    /// Term ids whose text starts with `prefix`.
    fn with_prefix(&self, prefix: &str, mut each: impl FnMut(u32) -> bool) {
        let start = self.sorted.partition_point(|&id| &*self.term_text[id as usize] < prefix);
        for &id in &self.sorted[start..] {
            if !self.term_text[id as usize].starts_with(prefix) || !each(id) {
                break;
            }
        }
        // Terms added since the last sort.
        if self.sorted.len() < self.terms.len() {
            for id in self.sorted.len() as u32..self.terms.len() as u32 {
                if self.term_text[id as usize].starts_with(prefix) && !each(id) {
                    break;
                }
            }
        }
    }

    /// The words a query word stands for, with their weights: itself, its other forms
    /// (stems in any of the five languages), and when `prefix`, the words it begins.
    fn expand(&self, word: &str, prefix: bool) -> Vec<(u32, f32)> {
        let mut out: Vec<(u32, f32)> = Vec::new();
        if let Some(id) = self.term_ids.get(word) {
            out.push((id, 1.0));
        }
        let mut stems: Vec<&str> = stem::LANGUAGES.iter().map(|&language| stem::stem(language, word)).collect();
        stems.sort_unstable();
        stems.dedup();
        for root in stems {
            let mut examined = 0;
            self.with_prefix(root, |id| {
                examined += 1;
                let text = &*self.term_text[id as usize];
                if text != word && stem::same_stem(word, text) && !out.iter().any(|(seen, _)| *seen == id) {
                    out.push((id, 0.8));
                }
                examined < 4096
            });
        }
        if prefix && word.chars().count() >= 2 {
            let mut completions = Vec::new();
            self.with_prefix(word, |id| {
                if &*self.term_text[id as usize] != word {
                    completions.push(id);
                }
                true
            });
            completions.sort_unstable_by_key(|&id| std::cmp::Reverse(self.terms[id as usize].df));
            for id in completions.into_iter().take(MAX_PREFIX_TERMS) {
                if !out.iter().any(|(seen, _)| *seen == id) {
                    out.push((id, 0.7));
                }
            }
        }
        out
    }

    fn field_bits(field: Option<Field>) -> u8 {
        match field {
            None => 0x1f,
            Some(Field::From) => field::FROM,
            Some(Field::To) => field::TO,
            Some(Field::Subject) => field::SUBJECT,
        }
    }

    /// Calls `each(doc, tf, fields, positions offset)` for every posting of `term`.
    fn postings(&self, term: u32, mut each: impl FnMut(u32, u32, u8, usize)) {
        let term = &self.terms[term as usize];
        let bytes = &term.postings;
        let mut at = 0;
        let mut doc = 0u32;
        let mut position_at = 0usize;
        let positioned = !term.stop;
        while at < bytes.len() {
            let Some((delta, tf, fields)) = get_posting(bytes, &mut at) else { return };
            doc += delta;
            each(doc, tf, fields, position_at);
            if positioned {
                position_at += tf as usize;
            }
        }
    }

    /// The positions of `term` in the posting whose positions start at occurrence `skip`.
    fn positions(&self, term: u32, cursor: &mut (usize, usize), skip: usize, tf: u32) -> Vec<u32> {
        // `cursor` is (occurrences read, byte offset): postings are visited in order.
        let bytes = &self.terms[term as usize].positions;
        while cursor.0 < skip {
            if get_varint(bytes, &mut cursor.1).is_none() {
                return Vec::new();
            }
            cursor.0 += 1;
        }
        let mut out = Vec::with_capacity(tf as usize);
        let mut at = 0u32;
        for _ in 0..tf {
            let Some(delta) = get_varint(bytes, &mut cursor.1) else { break };
            cursor.0 += 1;
            at += delta as u32;
            out.push(at);
        }
        out
    }

    fn bm25(&self, tf: u32, df: u32, len: u32) -> f32 {
        let n = self.live.max(1) as f32;
        let df = df.min(self.live.max(1)) as f32;
        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        let average = (self.total_len as f32 / n).max(1.0);
        let tf = tf as f32;
        idf * tf * (BM25_K1 + 1.0) / (tf + BM25_K1 * (1.0 - BM25_B + BM25_B * len as f32 / average))
    }

    fn boost(fields: u8) -> f32 {
        if fields & field::SUBJECT != 0 {
            2.0
        } else if fields & (field::FROM | field::TO | field::ATTACHMENT) != 0 {
            1.5
        } else {
            1.0
        }
    }

    /// Scores of the documents matching one words clause, into `scores` (max over variants);
    /// returns the documents touched.
    fn score_clause(
        &self,
        terms: &[String],
        field: Option<Field>,
        phrase: bool,
        prefix: bool,
        scores: &mut [f32],
    ) -> Vec<u32> {
        let bits = Self::field_bits(field);
        let mut touched = Vec::new();
        if !phrase {
            let Some(word) = terms.first() else { return touched };
            for (term, weight) in self.expand(word, prefix) {
                let df = self.terms[term as usize].df;
                self.postings(term, |doc, tf, fields, _| {
                    if fields & bits == 0 {
                        return;
                    }
                    let Some(Some(meta)) = self.docs.get(doc as usize - 1) else { return };
                    let score = self.bm25(tf, df, meta.len) * weight * Self::boost(fields & bits);
                    let slot = &mut scores[doc as usize];
                    if *slot == 0.0 {
                        touched.push(doc);
                    }
                    if score > *slot {
                        *slot = score;
                    }
                });
            }
            return touched;
        }
        // A phrase: every word, exactly (the last one as a prefix while typing), in a row. Words
        // without positions (function words) stand for "any word here", but must be present.
        let mut positioned: Vec<(u32, Vec<u32>)> = Vec::with_capacity(terms.len());
        let mut present: Vec<Vec<u32>> = Vec::new();
        for (i, word) in terms.iter().enumerate() {
            let mut variants: Vec<u32> = self.term_ids.get(word.as_str()).into_iter().collect();
            if prefix && i + 1 == terms.len() {
                self.with_prefix(word, |id| {
                    if !variants.contains(&id) {
                        variants.push(id);
                    }
                    variants.len() < MAX_PREFIX_TERMS
                });
            }
            if variants.is_empty() {
                return touched;
            }
            let (stop, kept): (Vec<u32>, Vec<u32>) = variants.into_iter().partition(|&id| self.terms[id as usize].stop);
            if kept.is_empty() {
                present.push(stop);
            } else {
                positioned.push((i as u32, kept));
            }
        }
        // Documents with every positioned word in the field, with its positions.
        let mut candidates: Option<HashMap<u32, Vec<Vec<u32>>>> = None;
        for (_, variants) in &positioned {
            let mut found: HashMap<u32, Vec<u32>> = HashMap::default();
            for &term in variants {
                let mut cursor = (0, 0);
                self.postings(term, |doc, tf, fields, skip| {
                    if fields & bits == 0 {
                        return;
                    }
                    if let Some(previous) = &candidates {
                        if !previous.contains_key(&doc) {
                            return;
                        }
                    }
                    let positions = self.positions(term, &mut cursor, skip, tf);
                    found.entry(doc).or_default().extend(positions);
                });
            }
            candidates = Some(match candidates.take() {
                None => found.into_iter().map(|(doc, positions)| (doc, vec![positions])).collect(),
                Some(mut previous) => {
                    previous.retain(|doc, _| found.contains_key(doc));
                    for (doc, lists) in previous.iter_mut() {
                        if let Some(positions) = found.remove(doc) {
                            lists.push(positions);
                        }
                    }
                    previous
                }
            });
        }
        for variants in &present {
            let mut docs = std::collections::HashSet::<u32, BuildHasherDefault<FxHasher>>::default();
            for &term in variants {
                self.postings(term, |doc, _, fields, _| {
                    if fields & bits != 0 {
                        docs.insert(doc);
                    }
                });
            }
            candidates = Some(match candidates.take() {
                None => docs.into_iter().map(|doc| (doc, Vec::new())).collect(),
                Some(mut previous) => {
                    previous.retain(|doc, _| docs.contains(doc));
                    previous
                }
            });
        }
        let Some(candidates) = candidates else { return touched };
        for (doc, lists) in candidates {
            let count = match positioned.first() {
                // Only function words: present is all that can be known.
                None => 1,
                Some(&(first_offset, _)) => lists[0]
                    .iter()
                    .filter(|&&at| {
                        at >= first_offset
                            && positioned
                                .iter()
                                .zip(&lists)
                                .skip(1)
                                .all(|((offset, _), positions)| positions.contains(&(at - first_offset + offset)))
                    })
                    .count() as u32,
            };
            if count == 0 {
                continue;
            }
            let Some(Some(meta)) = self.docs.get(doc as usize - 1) else { continue };
            // A phrase is rarer than its words: scored like a rare word.
            let score = self.bm25(count, 1, meta.len) * terms.len() as f32;
            let slot = &mut scores[doc as usize];
            if *slot == 0.0 {
                touched.push(doc);
            }
            *slot = slot.max(score);
        }
        touched
    }

    fn passes(doc: &Doc, filter: &Filter, folders: &dyn Fn(&str) -> Vec<String>) -> bool {
        match filter {
            Filter::HasAttachment => doc.flags & flags::ATTACHMENT != 0,
            Filter::Unread => doc.flags & flags::UNREAD != 0,
            Filter::Starred => doc.flags & flags::STARRED != 0,
            Filter::Before(time) => doc.date < *time,
            Filter::After(time) => doc.date >= *time,
            Filter::In(name) => folders(name).contains(&doc.folder),
        }
    }

    /// Runs `query`. `folders` turns a folder name the user typed (`in:work`) into the folder
    /// ids it may mean. At most `limit` hits, the best first; recency breaks ties.
    pub fn search(&mut self, query: &Query, folders: &dyn Fn(&str) -> Vec<String>, limit: usize) -> Results {
        self.ensure_sorted();
        let size = self.docs.len() + 1;
        let mut total = vec![0f32; size];
        let mut counts = vec![0u16; size];
        let mut clause_scores = vec![0f32; size];
        let mut positive = 0u16;
        let mut excluded: Vec<u32> = Vec::new();
        let mut matched_terms: Vec<u32> = Vec::new();
        let mut filters = Vec::new();
        for clause in &query.clauses {
            match clause {
                Clause::Filter { filter, negated } => filters.push((filter, *negated)),
                Clause::Words { terms, field, phrase, prefix, negated } => {
                    let touched = self.score_clause(terms, *field, *phrase, *prefix, &mut clause_scores);
                    if *negated {
                        for doc in touched {
                            excluded.push(doc);
                            clause_scores[doc as usize] = 0.0;
                        }
                        continue;
                    }
                    for word in terms {
                        matched_terms.extend(self.expand(word, *prefix).into_iter().map(|(id, _)| id));
                    }
                    for doc in touched {
                        if counts[doc as usize] == positive {
                            counts[doc as usize] += 1;
                            total[doc as usize] += clause_scores[doc as usize];
                        }
                        clause_scores[doc as usize] = 0.0;
                    }
                    positive += 1;
                }
            }
        }
        for doc in excluded {
            counts[doc as usize] = u16::MAX;
        }
        let mut found: Vec<(u32, f32)> = Vec::new();
        for (i, slot) in self.docs.iter().enumerate() {
            let number = i + 1;
            if counts[number] != positive {
                continue;
            }
            let Some(doc) = slot else { continue };
            if filters.iter().all(|(filter, negated)| Self::passes(doc, filter, folders) != *negated) {
                found.push((number as u32, total[number]));
            }
        }
        let count = found.len() as u32;
        let date = |number: u32| self.docs[number as usize - 1].as_ref().map_or(i64::MIN, |doc| doc.date);
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then_with(|| date(b.0).cmp(&date(a.0)));
        if found.len() > limit && limit > 0 {
            found.select_nth_unstable_by(limit - 1, order);
            found.truncate(limit);
        } else if limit == 0 {
            found.clear();
        }
        found.sort_unstable_by(order);
        let words: Vec<&str> = matched_terms.iter().map(|&id| &*self.term_text[id as usize]).collect();
        let hits = found
            .into_iter()
            .filter_map(|(number, score)| {
                let doc = self.docs[number as usize - 1].as_ref()?;
                Some(Hit {
                    id: doc.id.clone(),
                    score,
                    date: doc.date,
                    folder: doc.folder.clone(),
                    from: doc.from.clone(),
                    subject: highlight(&doc.subject, &words, usize::MAX),
                    snippet: highlight(&doc.excerpt, &words, 160),
                })
            })
            .collect();
        Results { total: count, hits }
    }

    /// Parses and runs `text` (see [`query`]).
    pub fn search_text(
        &mut self,
        text: &str,
        folders: &dyn Fn(&str) -> Vec<String>,
        limit: usize,
    ) -> Result<Results, QueryError> {
        Ok(self.search(&query::parse(text)?, folders, limit))
    }
}

/// `text` with the words in `words` marked; when `window` is shorter than the text, the part
/// around the first mark.
fn highlight(text: &str, words: &[&str], window: usize) -> Highlighted {
    let mut marks = Vec::new();
    text::for_each_word(text, |term, start, end| {
        if words.contains(&term) && marks.last().is_none_or(|&(_, last_end)| last_end as usize <= start) {
            marks.push((start as u32, end as u32));
        }
    });
    if text.len() <= window {
        return Highlighted { text: text.to_owned(), marks };
    }
    // A window of about `window` bytes starting a little before the first mark.
    let first = marks.first().map_or(0, |&(start, _)| start as usize);
    let mut start = first.saturating_sub(window / 4);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    if start > 0 {
        // Start at a word.
        start = text[start..].find(' ').map_or(start, |space| start + space + 1).min(first);
    }
    let mut end = (start + window).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let prefix = if start > 0 { "…" } else { "" };
    let suffix = if end < text.len() { "…" } else { "" };
    let shift = prefix.len() as u32;
    let marks = marks
        .into_iter()
        .filter(|&(s, e)| s as usize >= start && e as usize <= end)
        .map(|(s, e)| (s - start as u32 + shift, e - start as u32 + shift))
        .collect();
    Highlighted { text: format!("{prefix}{}{suffix}", &text[start..end]), marks }
}

#[cfg(test)]
mod tests;
