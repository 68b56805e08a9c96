//! What runs on a timer: retention (what the privacy policy says must go) and the account
//! lifecycle (closed, inactive and suspended accounts).

pub mod lifecycle;
pub mod retention;
