//! Text into terms: Unicode word segmentation (UAX #29), then case and accent folding.
//!
//! A term is a word lowercased with its diacritics removed (`Größe` → `grosse`, `Café` → `cafe`,
//! `Ærø` → `aero`), so matching is case- and accent-insensitive. Folding covers the Latin
//! letters of the five languages Plico stems (en, fr, de, nl, sv) and their neighbours; other
//! scripts are lowercased and kept as they are.

use unicode_segmentation::UnicodeSegmentation;

/// Words longer than this are not indexed: they are base64, hashes or URLs' insides, not words.
pub const MAX_TERM_CHARS: usize = 40;

/// French elided words ("l'équipe", "qu'il"): the word after the apostrophe is indexed.
const ELIDED: [&str; 9] = ["l", "d", "j", "m", "n", "s", "t", "c", "qu"];

/// Folds one lowercase character onto `out`: diacritics off, ligatures spelled out.
fn fold_into(c: char, out: &mut String) {
    let plain = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' | 'ð' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ĥ' | 'ħ' => 'h',
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ĵ' => 'j',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' => 's',
        'ţ' | 'ť' | 'ŧ' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ŵ' => 'w',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        'ß' => return out.push_str("ss"),
        'æ' => return out.push_str("ae"),
        'œ' => return out.push_str("oe"),
        'þ' => return out.push_str("th"),
        'ĳ' => return out.push_str("ij"),
        // Apostrophes inside a word ("l'équipe", "don't") are kept as one plain form.
        '\u{2019}' | '\u{2018}' => '\'',
        // Combining marks (a decomposed "é") fold away with the letter they follow.
        '\u{0300}'..='\u{036f}' => return,
        other => other,
    };
    out.push(plain);
}

/// `word` lowercased and folded.
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            for lower in c.to_lowercase() {
                fold_into(lower, &mut out);
            }
        }
    }
    out
}

/// Calls `each(term, byte_start, byte_end)` for every indexable word of `text`, in order.
pub fn for_each_word(text: &str, mut each: impl FnMut(&str, usize, usize)) {
    let mut folded = String::new();
    for (start, word) in text.unicode_word_indices() {
        if word.chars().nth(MAX_TERM_CHARS).is_some() {
            continue;
        }
        folded.clear();
        if word.is_ascii() {
            folded.extend(word.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            for c in word.chars() {
                for lower in c.to_lowercase() {
                    fold_into(lower, &mut folded);
                }
            }
        }
        // UAX #29 keeps "c:a", "foo:bar" and "report.pdf" whole: a query operator must not
        // hide in a word, and a file name or domain is found by its parts. Numbers ("3.14")
        // stay whole.
        let has_letters = folded.chars().any(char::is_alphabetic);
        for part in folded.split(|c| c == ':' || (has_letters && c == '.')) {
            // "l'équipe" is found by "equipe": an elided article is dropped.
            let term = part.trim_matches('\'');
            if term.is_empty() {
                continue;
            }
            match term.split_once('\'') {
                Some((head, tail)) if ELIDED.contains(&head) && tail.len() >= 2 => {
                    each(tail, start, start + word.len())
                }
                _ => each(term, start, start + word.len()),
            }
        }
    }
}

/// The terms of `text`, in order.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_word(text, |term, _, _| out.push(term.to_owned()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_ligatures() {
        assert_eq!(fold("Größe"), "grosse");
        assert_eq!(fold("CAFÉ"), "cafe");
        assert_eq!(fold("Ærøskøbing"), "aeroskobing");
        assert_eq!(fold("Œuvre"), "oeuvre");
        assert_eq!(fold("Åsa"), "asa");
        assert_eq!(fold("façade"), "facade");
        assert_eq!(fold("cafe\u{0301}"), "cafe", "a decomposed accent folds too");
        assert_eq!(fold("Ελληνικά"), "ελληνικά", "other scripts are lowercased, kept");
    }

    #[test]
    fn segments_words_the_unicode_way() {
        assert_eq!(terms("Hello, World! It's 3.14 — naïve café."), ["hello", "world", "it's", "3.14", "naive", "cafe"]);
        assert_eq!(terms("alice@plico.test wrote report.pdf"), ["alice", "plico", "test", "wrote", "report", "pdf"]);
        assert_eq!(terms("c:a qu'il don't"), ["c", "a", "il", "don't"]);
        assert_eq!(terms("L'équipe d’été"), ["equipe", "ete"], "elisions index the word");
        assert_eq!(terms("Übermorgen fährt Jörg nach Malmö"), ["ubermorgen", "fahrt", "jorg", "nach", "malmo"]);
        assert_eq!(terms("東京で会議"), ["東", "京", "で", "会", "議"], "ideographs are words of their own");
        let long = "x".repeat(MAX_TERM_CHARS + 1);
        assert_eq!(terms(&format!("short {long} word")), ["short", "word"]);
    }

    #[test]
    fn offsets_point_at_the_original_text() {
        let text = "Réunion: Über alles";
        let mut spans = Vec::new();
        for_each_word(text, |term, start, end| spans.push((term.to_owned(), &text[start..end])));
        assert_eq!(spans, [("reunion".into(), "Réunion"), ("uber".into(), "Über"), ("alles".into(), "alles")]);
    }
}
