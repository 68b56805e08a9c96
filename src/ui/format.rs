//! How the UI writes dates and fingerprints, the same on every page.

/// Unix seconds as a local date.
pub fn local_date(seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0));
    String::from(date.to_locale_date_string(crate::i18n::lang().code(), &wasm_bindgen::JsValue::UNDEFINED))
}

/// Groups a hex fingerprint in blocks of four, with a wider gap in the middle, as people compare
/// them aloud: `ABCD 1234 … ␣␣ …`.
pub fn group_fingerprint(hex: &str) -> String {
    let blocks: Vec<String> =
        hex.as_bytes().chunks(4).map(|chunk| String::from_utf8_lossy(chunk).to_uppercase()).collect();
    let middle = blocks.len() / 2;
    let mut out = String::new();
    for (index, block) in blocks.iter().enumerate() {
        if index > 0 {
            out.push_str(if index == middle { "  " } else { " " });
        }
        out.push_str(block);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_grouped_in_fours_with_a_middle_gap() {
        let hex = "C3D006440F898039BE505B72EC064AC91DECA7FA";
        assert_eq!(group_fingerprint(hex), "C3D0 0644 0F89 8039 BE50  5B72 EC06 4AC9 1DEC A7FA");
        assert_eq!(group_fingerprint(""), "");
    }
}
