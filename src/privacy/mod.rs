//! The privacy promises in the browser: consent (`consent.rs`) and the pages that show the
//! policies, the canary and what the server holds (`views.rs`).

pub mod consent;
pub mod views;

pub use consent::{provide_consent, use_consent, Consent};
pub use views::{CanaryWarning, ConsentBanner, DataPage, Footer, PrivacyPage, TermsPage, TransparencyPage};
