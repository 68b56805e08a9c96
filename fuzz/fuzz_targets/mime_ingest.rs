//! Arbitrary bytes through what incoming mail meets before it is encrypted: the RFC 5322 parse
//! that makes the summary, the PGP/MIME unwrap that spots mail already encrypted, and the
//! summary's snippet. None of it may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = plico_mime::parse(data) {
        let summary = parsed.summary();
        assert!(summary.snippet.chars().count() <= plico_mime::SNIPPET_CHARS);
    }
    let _ = plico_mime::unwrap_pgp_mime(data);
});
