//! Results as the list's rows, in HTML: made here, in the worker, so the page's small binary
//! only inserts them. Every text from mail is escaped; the marks become `<mark>`.
//!
//! Architecture Invariant: nothing from a message reaches this HTML unescaped. Each row is
//! `<li class="search-hit"><button type="button" class="message-row" data-id="…">` with the
//! sender, folder and date, subject and snippet as text.

use crate::index::{Highlighted, Hit};

/// Appends `text` escaped for HTML text and attribute values.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
}

fn marked_into(out: &mut String, text: &Highlighted) {
    let mut at = 0usize;
    for &(start, end) in &text.marks {
        let (start, end) = (start as usize, end as usize);
        if start < at || end > text.text.len() || !text.text.is_char_boundary(start) || !text.text.is_char_boundary(end)
        {
            continue;
        }
        escape_into(out, &text.text[at..start]);
        out.push_str("<mark>");
        escape_into(out, &text.text[start..end]);
        out.push_str("</mark>");
        at = end;
    }
    escape_into(out, &text.text[at..]);
}

/// The rows of `hits`; `folder` names a folder id, `date` writes a date.
pub fn result_rows(hits: &[Hit], folder: &dyn Fn(&str) -> String, date: &dyn Fn(i64) -> String) -> String {
    let mut out = String::with_capacity(hits.len() * 400);
    for hit in hits {
        out.push_str(r#"<li class="search-hit"><button type="button" class="message-row" data-id=""#);
        escape_into(&mut out, &hit.id);
        out.push_str(r#""><span class="row-from">"#);
        escape_into(&mut out, if hit.from.is_empty() { "(unknown sender)" } else { &hit.from });
        out.push_str(r#"</span><span class="row-date">"#);
        escape_into(&mut out, &folder(&hit.folder));
        out.push_str(" · ");
        escape_into(&mut out, &date(hit.date));
        out.push_str(r#"</span><span class="row-subject">"#);
        if hit.subject.text.is_empty() {
            out.push_str("(no subject)");
        } else {
            marked_into(&mut out, &hit.subject);
        }
        out.push_str(r#"</span><span class="row-snippet">"#);
        marked_into(&mut out, &hit.snippet);
        out.push_str("</span></button></li>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(subject: &str, marks: Vec<(u32, u32)>, snippet: &str) -> Hit {
        Hit {
            id: "id\"><script>".into(),
            score: 1.0,
            date: 0,
            folder: "inbox".into(),
            from: "Mallory <m@evil.test>".into(),
            subject: Highlighted { text: subject.into(), marks },
            snippet: Highlighted { text: snippet.into(), marks: Vec::new() },
        }
    }

    #[test]
    fn hostile_text_is_escaped_and_marks_become_mark() {
        let rows = result_rows(
            &[hit("<img src=x onerror=alert(1)> invoice", vec![(29, 36)], "a & b </span><script>alert(2)</script>")],
            &|_| "Inbox".into(),
            &|_| "today".into(),
        );
        assert!(!rows.contains("<img") && !rows.contains("<script"), "{rows}");
        assert!(rows.contains("&lt;img src=x onerror=alert(1)&gt; <mark>invoice</mark>"), "{rows}");
        assert!(rows.contains("a &amp; b &lt;/span&gt;&lt;script&gt;"), "{rows}");
        assert!(rows.contains(r#"data-id="id&quot;&gt;&lt;script&gt;""#), "{rows}");
        assert!(rows.contains("Mallory &lt;m@evil.test&gt;"));
        assert!(rows.contains("Inbox · today"));
    }

    #[test]
    fn bad_marks_are_skipped_not_trusted() {
        let rows = result_rows(&[hit("héllo", vec![(1, 2), (0, 99)], "")], &|_| String::new(), &|_| String::new());
        assert!(rows.contains("héllo") && !rows.contains("<mark>"), "{rows}");
    }
}
