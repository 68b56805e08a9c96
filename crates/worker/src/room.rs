//! Which copies of blobs a device keeps when room runs out (see `offline.rs`): pure, so it is
//! tested natively.

use serde::{Deserialize, Serialize};

/// One kept blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub hash: String,
    pub size: u64,
    /// When the user last opened it; 0 when only indexed.
    pub opened_at: i64,
    pub received_at: i64,
}

/// Whether a blob of `size` bytes read now is worth keeping beside `index` (using `used` of
/// `budget` bytes): one the user opened always is, if it fits the budget at all; one only
/// indexed is while there is room, and after that only when it is newer than the oldest copy
/// that was only indexed (which it will push out).
pub fn admits(index: &[Kept], used: u64, budget: u64, size: u64, opened_at: i64, received_at: i64) -> bool {
    if size > budget {
        return false;
    }
    if opened_at > 0 || used + size <= budget {
        return true;
    }
    index
        .iter()
        .filter(|kept| kept.opened_at == 0)
        .map(|kept| kept.received_at)
        .min()
        .is_some_and(|oldest| received_at > oldest)
}

/// The kept blobs that fit in `budget`, most wanted first, and the hashes that do not.
pub fn fit(mut index: Vec<Kept>, budget: u64) -> (Vec<Kept>, Vec<String>) {
    index.sort_by_key(|kept| std::cmp::Reverse((kept.opened_at, kept.received_at)));
    let mut used = 0;
    let mut fits = Vec::with_capacity(index.len());
    let mut out = Vec::new();
    for kept in index {
        if used + kept.size <= budget {
            used += kept.size;
            fits.push(kept);
        } else {
            out.push(kept.hash);
        }
    }
    (fits, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(hash: &str, size: u64, opened_at: i64, received_at: i64) -> Kept {
        Kept { hash: hash.into(), size, opened_at, received_at }
    }

    #[test]
    fn opened_mail_outranks_indexed_mail_and_newer_outranks_older() {
        let index = vec![
            kept("old-indexed", 40, 0, 100),
            kept("new-indexed", 40, 0, 300),
            kept("opened-long-ago", 40, 1_000, 50),
            kept("opened-now", 40, 2_000, 10),
        ];
        let (fits, out) = fit(index, 130);
        let kept: Vec<&str> = fits.iter().map(|kept| kept.hash.as_str()).collect();
        assert_eq!(kept, ["opened-now", "opened-long-ago", "new-indexed"]);
        assert_eq!(out, ["old-indexed"]);
        let total: u64 = fits.iter().map(|kept| kept.size).sum();
        assert!(total <= 130);
    }

    #[test]
    fn a_smaller_copy_still_fits_after_a_bigger_one_does_not() {
        let (fits, out) = fit(vec![kept("big", 100, 0, 300), kept("small", 10, 0, 200)], 50);
        assert_eq!(fits, [kept("small", 10, 0, 200)]);
        assert_eq!(out, ["big"]);
    }

    #[test]
    fn indexed_mail_is_admitted_while_there_is_room_then_only_when_newer() {
        let index = vec![kept("a", 40, 0, 100), kept("b", 40, 5, 50)];
        assert!(admits(&index, 80, 100, 20, 0, 10), "room left");
        assert!(!admits(&index, 80, 100, 30, 0, 90), "full, and older than every indexed copy");
        assert!(admits(&index, 80, 100, 30, 0, 150), "full, but newer than the oldest indexed copy");
        assert!(admits(&index, 80, 100, 30, 7, 1), "opened mail pushes others out");
        assert!(!admits(&index, 0, 100, 101, 7, 1), "never more than the whole budget");
        assert!(!admits(&[kept("c", 100, 9, 1)], 100, 100, 1, 0, 500), "nothing indexed to push out");
    }
}
