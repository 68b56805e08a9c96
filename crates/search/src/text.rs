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
    fold_onto(word, &mut out);
    out
}

/// `word` lowercased and folded onto `out`.
fn fold_onto(word: &str, out: &mut String) {
    for c in word.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            for lower in c.to_lowercase() {
                fold_into(lower, out);
            }
        }
    }
}

/// What a character is to UAX #29's word rules, for the characters the fast path knows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    /// ALetter.
    Letter,
    /// Numeric.
    Digit,
    /// ExtendNumLet (`_`): joins letters, digits and itself.
    Connector,
    /// Joins two letters (`:`, `·`).
    MidLetter,
    /// Joins two letters or two digits (`.`, `'`, `‘`, `’`, `․`).
    MidNumLet,
    /// Joins two digits (`,`, `;`).
    MidNum,
    /// Breaks on both sides and is no part of a word (spaces, most punctuation, symbols).
    Break,
    /// Anything whose rules the fast path does not follow (combining marks, format characters,
    /// other scripts): the whole text goes to `unicode_word_indices` instead.
    Complex,
}

/// The class of `c`: ASCII, Latin-1 and Latin Extended-A/B exactly as UAX #29 has them (tested
/// against `unicode-segmentation` for every one of them), a few common typographic marks, and
/// [`Class::Complex`] for the rest.
fn class(c: char) -> Class {
    match c {
        'a'..='z' | 'A'..='Z' => Class::Letter,
        '0'..='9' => Class::Digit,
        '_' => Class::Connector,
        ':' | '\u{b7}' => Class::MidLetter,
        '.' | '\'' | '\u{2018}' | '\u{2019}' | '\u{2024}' => Class::MidNumLet,
        ',' | ';' => Class::MidNum,
        '\u{0}'..='\u{7f}' => Class::Break,
        '\u{aa}' | '\u{b5}' | '\u{ba}' | '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{f6}' | '\u{f8}'..='\u{24f}' => {
            Class::Letter
        }
        // The soft hyphen and the cedilla join what is around them; superscripts and fractions
        // are words of their own (numeric, yet not Numeric).
        '\u{ad}' | '\u{b8}' | '\u{b2}' | '\u{b3}' | '\u{b9}' | '\u{bc}'..='\u{be}' => Class::Complex,
        '\u{80}'..='\u{bf}' | '\u{d7}' | '\u{f7}' => Class::Break,
        // Dashes, curly double quotes, daggers, bullets, ellipsis, per mille, guillemets,
        // primes; the euro sign. The narrow no-break space is not: it joins (Complex).
        '\u{2010}'..='\u{2017}' | '\u{201a}'..='\u{2023}' | '\u{2025}' | '\u{2026}' | '\u{2030}'..='\u{203e}' => {
            Class::Break
        }
        '\u{20ac}' => Class::Break,
        _ => Class::Complex,
    }
}

/// Whether every character of `text` is one the fast path knows.
fn simple(text: &str) -> bool {
    text.is_ascii() || text.chars().all(|c| class(c) != Class::Complex)
}

/// UAX #29's word boundaries for text of [`simple`] characters, which most mail in the five
/// languages is: the same words as `unicode_word_indices` (tested), several times faster.
/// Letters and digits join; `_` joins anything; `'` and `.` join two letters or two digits, `:`
/// two letters, `,` and `;` two digits.
fn simple_words(text: &str, mut each: impl FnMut(usize, &str)) {
    let bytes = text.as_bytes();
    // The class and width of the character at byte `at`.
    let at = |at: usize| -> (Class, usize) {
        let b = bytes[at];
        if b < 0x80 {
            (class(b as char), 1)
        } else {
            let c = text[at..].chars().next().unwrap_or(' ');
            (class(c), c.len_utf8())
        }
    };
    let word = |class: Class| matches!(class, Class::Letter | Class::Digit | Class::Connector);
    let mut i = 0;
    while i < bytes.len() {
        let (first, width) = at(i);
        if !word(first) {
            i += width;
            continue;
        }
        let start = i;
        let mut alphanumeric = first != Class::Connector;
        let mut previous = first;
        i += width;
        while i < bytes.len() {
            let (current, width) = at(i);
            if word(current) {
                alphanumeric |= current != Class::Connector;
                previous = current;
                i += width;
                continue;
            }
            if i + width >= bytes.len() {
                break;
            }
            let (next, next_width) = at(i + width);
            let letters = previous == Class::Letter && next == Class::Letter;
            let digits = previous == Class::Digit && next == Class::Digit;
            let joins = match current {
                Class::MidNumLet => letters || digits,
                Class::MidLetter => letters,
                Class::MidNum => digits,
                _ => false,
            };
            if !joins {
                break;
            }
            previous = next;
            i += width + next_width;
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
        let end = start + word.len();
        folded.clear();
        if word.is_ascii() {
            folded.push_str(word);
            folded.make_ascii_lowercase();
            // Most words: letters and digits only, nothing to split or trim.
            if folded.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return each(&folded, start, end);
            }
        } else {
            fold_onto(word, &mut folded);
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
                Some((head, tail)) if ELIDED.contains(&head) && tail.len() >= 2 => each(tail, start, end),
                _ => each(term, start, end),
            }
        }
    };
    if simple(text) {
        simple_words(text, one);
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

    fn same_words_as_uax29(sample: &str) {
        assert!(simple(sample), "{sample:?} is not all simple characters");
        let mut fast = Vec::new();
        simple_words(sample, |start, word| fast.push((start, word.to_owned())));
        let uax: Vec<(usize, String)> =
            sample.unicode_word_indices().map(|(start, word)| (start, word.to_owned())).collect();
        assert_eq!(fast, uax, "{sample:?}");
    }

    #[test]
    fn the_fast_path_finds_the_words_uax29_finds() {
        let samples = [
            "Hello, World! It's 3.14 and 1,000,000; v1.2 a.1 x:y 1:2 a_b __ _a_ 1_000 e.g. U.S.A. end.",
            "alice@plico.test <bob.berg@example.org> re: Re:Fwd: 'quoted' don't 'tis rock'n'roll",
            "a..b a.,b 1.a a.1 ..x x.. ,1,2, 12;34 ab;cd c:a foo:bar:baz http://x.y/z?q=1&r=2#f",
            "tabs\tand\nnewlines\r\n--dashes--and/slashes\\back $100 50% #tag @user ~tilde",
            "Réunion à 14h30 — l’équipe « Größe » s’est réunie… Malmö; 3,50 € ‰ “quoted” ‘single’ x·y",
            "Ærøskøbing ŒUVRE façade naïve Ñandú × ÷ ª º µ ¿qué? ¡sí! §4 ©2026 ±1 ¬x °C",
        ];
        for sample in samples {
            same_words_as_uax29(sample);
        }
    }

    /// Every character the fast path classes as simple, in every context that matters to the
    /// word rules, segments exactly as `unicode-segmentation` does.
    #[test]
    fn every_simple_character_segments_as_uax29_does() {
        let mut simple_chars = 0;
        for c in ('\u{0}'..='\u{24f}').chain('\u{2000}'..='\u{20cf}') {
            if class(c) == Class::Complex {
                continue;
            }
            simple_chars += 1;
            for context in ["a{}b", "1{}2", "a{}1", "1{}a", "{}", "a{}", "{}a", "1{}", "_{}_", "a{}{}b", "é{}ü", "x{}_"]
            {
                same_words_as_uax29(&context.replace("{}", &c.to_string()));
            }
        }
        assert!(simple_chars > 600, "only {simple_chars} simple characters");
    }

    /// Random strings over the simple characters that matter most (letters, digits and every
    /// joiner) segment as `unicode-segmentation` does.
    #[test]
    fn random_simple_text_segments_as_uax29_does() {
        let alphabet: Vec<char> =
            "aZ\u{e9}\u{df}\u{20ac}1_:.',;\u{b7}\u{2019}\u{2018} -\u{2014}\n\"\u{ab}\u{a0}".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut sample = String::new();
            for _ in 0..12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                sample.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            same_words_as_uax29(&sample);
        }
    }

    #[test]
    fn other_characters_take_the_unicode_way() {
        for text in ["soft\u{ad}hyphen", "cafe\u{301}", "narrow\u{202f}space", "\u{5d0}\"\u{5d1}", "カタカナ", "👍🏽"]
        {
            assert!(!simple(text), "{text:?}");
        }
        assert_eq!(terms("soft\u{ad}hyphen cafe\u{301}"), ["soft\u{ad}hyphen", "cafe"]);
    }

    #[test]
    fn offsets_point_at_the_original_text() {
        let text = "Réunion: Über alles";
        let mut spans = Vec::new();
        for_each_word(text, |term, start, end| spans.push((term.to_owned(), &text[start..end])));
        assert_eq!(spans, [("reunion".into(), "Réunion"), ("uber".into(), "Über"), ("alles".into(), "alles")]);
    }
}
