//! Light stemming for English, French, German, Dutch and Swedish.
//!
//! Each stemmer only strips suffixes, so a stem is always a prefix of its word. The index keeps
//! words as written (folded, see [`crate::text`]) and stems at query time: a query word matches
//! every indexed word that has the same stem in one of the five languages. A mail's language
//! need not be guessed, one index serves a mailbox in several languages, and prefix search
//! (which works on words, not stems) stays exact.
//!
//! "Light" means plurals, possessives, common inflections and a few derivations — the
//! stemmers of Savoy's experiments rather than full Snowball: fewer wrong conflations, and
//! much less code in the browser.

/// The languages Plico stems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    French,
    German,
    Dutch,
    Swedish,
}

pub const LANGUAGES: [Language; 5] =
    [Language::English, Language::French, Language::German, Language::Dutch, Language::Swedish];

/// A stem keeps at least this many characters.
const MIN_STEM: usize = 3;

fn chars(word: &str) -> usize {
    if word.is_ascii() {
        word.len()
    } else {
        word.chars().count()
    }
}

/// `word` without `suffix`, when what is left is long enough.
fn strip<'a>(word: &'a str, suffix: &str, min: usize) -> Option<&'a str> {
    let stem = word.strip_suffix(suffix)?;
    (chars(stem) >= min).then_some(stem)
}

/// The first suffix of `suffixes` (longest first) that strips. A one-letter suffix needs one
/// more letter left ("haus" keeps its "s", "hauses" loses "es").
fn strip_any<'a>(word: &'a str, suffixes: &[&str], min: usize) -> &'a str {
    suffixes
        .iter()
        .find_map(|suffix| strip(word, suffix, if suffix.len() == 1 { min.max(MIN_STEM + 1) } else { min }))
        .unwrap_or(word)
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// "runn" → "run", "plann" → "plan"; "fall", "miss" and "buzz" keep theirs.
fn undouble(stem: &str) -> &str {
    let bytes = stem.as_bytes();
    match bytes {
        [.., a, b] if a == b && !is_vowel(*a) && !matches!(a, b'l' | b's' | b'z') && bytes.len() > MIN_STEM => {
            &stem[..stem.len() - 1]
        }
        _ => stem,
    }
}

fn english(word: &str) -> &str {
    let mut w = word.strip_suffix("'s").unwrap_or(word);
    // Plurals and third persons.
    if let Some(stem) = strip(w, "ies", MIN_STEM) {
        w = stem;
    } else if let Some(stem) = strip(w, "sses", MIN_STEM) {
        w = &w[..stem.len() + 2];
    } else if let Some(stem) = w
        .strip_suffix("es")
        .filter(|stem| chars(stem) >= MIN_STEM && (stem.ends_with("sh") || stem.ends_with("ch") || stem.ends_with('x')))
    {
        w = stem;
    } else if !(w.ends_with("ss") || w.ends_with("us") || w.ends_with("is")) {
        w = strip(w, "s", MIN_STEM).unwrap_or(w);
    }
    // Inflections: "meeting", "planned", "quickly".
    if let Some(stem) = strip(w, "ing", MIN_STEM).filter(|stem| stem.bytes().any(is_vowel)) {
        w = undouble(stem);
    } else if let Some(stem) = strip(w, "ed", MIN_STEM).filter(|stem| stem.bytes().any(is_vowel)) {
        w = undouble(stem);
    } else if let Some(stem) = strip(w, "ly", MIN_STEM + 1) {
        w = stem;
    }
    // "create", "created", "creating" → "creat"; "company", "companies" → "compan".
    if let Some(stem) = strip(w, "e", MIN_STEM + 1) {
        w = stem;
    } else if let Some(stem) = strip(w, "y", MIN_STEM + 1) {
        w = stem;
    }
    w
}

fn french(word: &str) -> &str {
    if let Some(stem) = strip(word, "eux", MIN_STEM + 1) {
        return stem;
    }
    let w = strip_any(word, &["s", "x"], MIN_STEM + 1);
    strip_any(
        w,
        &["atrice", "ateur", "ation", "ement", "ment", "euse", "eux", "ite", "ive", "if", "ee", "er", "ez", "e"],
        MIN_STEM + 1,
    )
}

fn german(word: &str) -> &str {
    let w = strip_any(word, &["ungen", "ung", "heit", "keit", "lich", "isch"], MIN_STEM + 1);
    strip_any(w, &["ern", "em", "en", "er", "es", "e", "s", "n"], MIN_STEM)
}

fn dutch(word: &str) -> &str {
    let w = strip_any(word, &["heden", "heid", "ingen", "ing", "lijk"], MIN_STEM + 1);
    let w = strip_any(w, &["tjes", "tje", "jes", "je", "'s", "en", "es", "s", "e"], MIN_STEM);
    undouble(w)
}

fn swedish(word: &str) -> &str {
    // Swedish inflects with single vowels ("möte", "mötet"): they strip down to three letters.
    let suffixes: &[&str] = &[
        "heterna", "hetens", "arnas", "ernas", "ornas", "heten", "andet", "arna", "erna", "orna", "ande", "aste",
        "het", "are", "ade", "ast", "ens", "ets", "an", "ar", "er", "or", "en", "at", "et", "a", "e", "s",
    ];
    suffixes.iter().find_map(|suffix| strip(word, suffix, MIN_STEM)).unwrap_or(word)
}

/// `word` (already folded) stemmed for `language`: always a prefix of `word`.
pub fn stem(language: Language, word: &str) -> &str {
    if chars(word) <= MIN_STEM || !word.is_char_boundary(word.len()) {
        return word;
    }
    match language {
        Language::English => english(word),
        Language::French => french(word),
        Language::German => german(word),
        Language::Dutch => dutch(word),
        Language::Swedish => swedish(word),
    }
}

/// Whether `candidate` (an indexed word) is a form of `word` (a query word) in some language.
pub fn same_stem(word: &str, candidate: &str) -> bool {
    LANGUAGES.iter().any(|&language| stem(language, word) == stem(language, candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflated(language: Language, words: &[&str]) {
        let stems: Vec<_> = words.iter().map(|word| stem(language, word)).collect();
        assert!(stems.windows(2).all(|pair| pair[0] == pair[1]), "{language:?}: {words:?} gave {stems:?}");
    }

    fn kept_apart(language: Language, a: &str, b: &str) {
        assert_ne!(stem(language, a), stem(language, b), "{language:?}: {a} and {b} should differ");
    }

    #[test]
    fn english() {
        conflated(Language::English, &["meeting", "meetings", "meet", "meets"]);
        conflated(Language::English, &["invoice", "invoices", "invoiced", "invoicing"]);
        conflated(Language::English, &["company", "companies", "company's"]);
        conflated(Language::English, &["plan", "planned", "planning", "plans"]);
        conflated(Language::English, &["box", "boxes"]);
        conflated(Language::English, &["quick", "quickly"]);
        assert_eq!(stem(Language::English, "class"), "class");
        assert_eq!(stem(Language::English, "status"), "status");
        assert_eq!(stem(Language::English, "bus"), "bus");
        kept_apart(Language::English, "meet", "meal");
    }

    #[test]
    fn french() {
        conflated(Language::French, &["reunion", "reunions"]);
        conflated(Language::French, &["reserve", "reservee", "reservees", "reserver", "reservez", "reservation"]);
        conflated(Language::French, &["heureux", "heureuse"]);
        conflated(Language::French, &["rapide", "rapidement"]);
        kept_apart(Language::French, "facture", "fact");
    }

    #[test]
    fn german() {
        conflated(Language::German, &["haus", "hauser", "hauses"]);
        conflated(Language::German, &["kind", "kinder", "kindern"]);
        conflated(Language::German, &["rechnung", "rechnungen"]);
        conflated(Language::German, &["freund", "freunde", "freunden"]);
        conflated(Language::German, &["schonheit", "schon"]);
    }

    #[test]
    fn dutch() {
        conflated(Language::Dutch, &["vergadering", "vergaderingen", "vergader"]);
        conflated(Language::Dutch, &["boek", "boeken"]);
        conflated(Language::Dutch, &["huisje", "huis"]);
        conflated(Language::Dutch, &["kat", "katten"]);
    }

    #[test]
    fn swedish() {
        conflated(Language::Swedish, &["faktura", "fakturan", "fakturor", "fakturorna"]);
        conflated(Language::Swedish, &["mote", "motet", "moten"]);
        conflated(Language::Swedish, &["bil", "bilar", "bilarna"]);
    }

    #[test]
    fn a_stem_is_a_prefix_and_short_words_stay() {
        for word in ["meetings", "reservations", "rechnungen", "vergaderingen", "fakturorna", "東京", "ab", "été"] {
            for language in LANGUAGES {
                assert!(word.starts_with(stem(language, word)), "{language:?} {word}");
            }
        }
        assert_eq!(stem(Language::German, "die"), "die");
        assert!(same_stem("meetings", "meeting"));
        assert!(same_stem("rechnungen", "rechnung"));
        assert!(!same_stem("invoice", "involve"));
    }
}
