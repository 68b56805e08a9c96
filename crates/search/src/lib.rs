//! Plico's local search: a full-text index of the mail this browser can decrypt.
//!
//! - [`text`]: Unicode word segmentation, case and accent folding.
//! - [`stem`]: light stemmers for en, fr, de, nl and sv, applied at query time.
//! - [`query`]: the query language.
//! - [`index`]: the inverted index (BM25, recency as the tie-breaker, highlighted snippets),
//!   its segments and how they are stored.
//!
//! The index never leaves the browser and is stored only sealed (`plico_local`): in the
//! search worker ([`worker`], wasm only), in IndexedDB.

pub mod index;
pub mod protocol;
pub mod query;
pub mod rows;
pub mod stem;
pub mod store;
pub mod text;
#[cfg(target_arch = "wasm32")]
pub mod worker;

pub use index::{Document, Hit, Index};
