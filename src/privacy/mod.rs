//! The privacy promises in the browser: the consent banner and chooser, and the pages that show
//! the policies, the canary and what the server holds (`views.rs`). The consent state itself is
//! `crate::consent`, which every feature reads.

pub mod views;

pub use views::{CanaryWarning, ConsentBanner, DataPage, Footer, PrivacyPage, TermsPage, TransparencyPage};
