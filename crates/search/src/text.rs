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

/// The most frequent function words of en, fr, de, nl and sv, folded. They are indexed (a query
/// for "the" works) but their positions are not kept: they are a third of all words, and a
/// phrase treats them as "any word here" ("find the invoice" matches "find an invoice").
const STOPWORDS: &[&str] = &[
    "a", "aan", "al", "alla", "als", "am", "an", "and", "are", "as", "at", "att", "au", "auch", "auf", "aus", "av",
    "be", "bei", "bij", "but", "by", "ce", "das", "dass", "dat", "de", "dem", "den", "der", "des", "det", "die", "dit",
    "do", "door", "du", "een", "ein", "eine", "einen", "einer", "eller", "elle", "en", "er", "es", "est", "et", "ett",
    "for", "fran", "from", "fur", "har", "has", "have", "he", "het", "i", "ich", "ik", "il", "im", "in", "is", "ist",
    "it", "jag", "je", "la", "le", "les", "leur", "med", "men", "met", "mit", "na", "nach", "ne", "niet", "nicht",
    "not", "och", "of", "om", "on", "op", "or", "ou", "par", "pas", "pour", "qui", "que", "sich", "sie", "som", "sont",
    "sur", "te", "that", "the", "this", "till", "to", "um", "un", "une", "und", "van", "var", "von", "voor", "was",
    "we", "were", "wird", "with", "you", "zu", "zijn", "ar", "pa", "da", "dans", "du", "il", "nous", "vous", "wir",
    "ze",
];

/// Whether `term` (folded) is a function word whose positions are not kept.
pub fn is_stopword(term: &str) -> bool {
    term.len() <= 5 && STOPWORDS.contains(&term)
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

/// UAX #29's word boundaries for ASCII text, which most mail is: the same words as
/// `unicode_word_indices` (tested), several times faster. Letters and digits join; `_` joins
/// anything; `'` and `.` join two letters or two digits, `:` two letters, `,` and `;` two digits.
fn ascii_words(text: &str, mut each: impl FnMut(usize, &str)) {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if !word(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut alphanumeric = bytes[i] != b'_';
        i += 1;
        while i < bytes.len() {
            let b = bytes[i];
            if word(b) {
                alphanumeric |= b != b'_';
                i += 1;
                continue;
            }
            let (Some(&prev), Some(&next)) = (bytes.get(i - 1), bytes.get(i + 1)) else { break };
            let letters = prev.is_ascii_alphabetic() && next.is_ascii_alphabetic();
            let digits = prev.is_ascii_digit() && next.is_ascii_digit();
            let joins = match b {
                b'\'' | b'.' => letters || digits,
                b':' => letters,
                b',' | b';' => digits,
                _ => false,
            };
            if !joins {
                break;
            }
            i += 2;
        }
        if alphanumeric {
            each(start, &text[start..i]);
        }
    }
}

/// Calls `each(term, byte_start, byte_end)` for every indexable word of `text`, in order.
pub fn for_each_word(text: &str, mut each: impl FnMut(&str, usize, usize)) {
    let mut folded = String::new();
    let mut one = |start: usize, word: &str| {
        if word.len() > MAX_TERM_CHARS && word.chars().nth(MAX_TERM_CHARS).is_some() {
            return;
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
    };
    if text.is_ascii() {
        ascii_words(text, one);
    } else {
        for (start, word) in text.unicode_word_indices() {
            one(start, word);
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
    fn the_ascii_fast_path_finds_the_words_uax29_finds() {
        let samples = [
            "Hello, World! It's 3.14 and 1,000,000; v1.2 a.1 x:y 1:2 a_b __ _a_ 1_000 e.g. U.S.A. end.",
            "alice@plico.test <bob.berg@example.org> re: Re:Fwd: 'quoted' don't 'tis rock'n'roll",
            "a..b a.,b 1.a a.1 ..x x.. ,1,2, 12;34 ab;cd c:a foo:bar:baz http://x.y/z?q=1&r=2#f",
            "tabs\tand\nnewlines\r\n--dashes--and/slashes\\back $100 50% #tag @user ~tilde",
        ];
        for sample in samples {
            let mut fast = Vec::new();
            ascii_words(sample, |start, word| fast.push((start, word.to_owned())));
            let uax: Vec<(usize, String)> =
                sample.unicode_word_indices().map(|(start, word)| (start, word.to_owned())).collect();
            assert_eq!(fast, uax, "{sample}");
        }
    }

    #[test]
    fn offsets_point_at_the_original_text() {
        let text = "Réunion: Über alles";
        let mut spans = Vec::new();
        for_each_word(text, |term, start, end| spans.push((term.to_owned(), &text[start..end])));
        assert_eq!(spans, [("reunion".into(), "Réunion"), ("uber".into(), "Über"), ("alles".into(), "alles")]);
    }
}
