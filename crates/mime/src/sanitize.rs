//! HTML mail through ammonia: the second layer behind the reader's sandboxed frame.
//!
//! The frame (`sandbox` with no allowances, `srcdoc`, its own CSP) is the real boundary: ammonia
//! does not parse HTML exactly as the browser does. What this layer adds: no scripts, no event
//! handlers, no forms, no frames, no `<style>` blocks; links only to http, https and mailto, each
//! with `rel="noopener noreferrer"`; images from `data:` (and `cid:` parts turned into `data:`),
//! or from http(s) for the reader's "load remote content" button to allow. No `style` attributes:
//! the app's policy, which the frame inherits, applies no inline styles, so presentational
//! attributes (`bgcolor`, `align`, `<font>`) are what formatting survives.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

#[cfg(test)]
use crate::has_remote_content;
use crate::{Attachment, Link};

/// Sanitised HTML and the links it kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clean {
    pub html: String,
    pub links: Vec<Link>,
}

fn scheme(url: &str) -> Option<String> {
    let (scheme, _) = url.trim_start().split_once(':')?;
    Some(scheme.to_ascii_lowercase())
}

/// The `data:` URI of every image part with a Content-ID, by that id.
fn cid_images(attachments: &[Attachment]) -> HashMap<String, String> {
    attachments
        .iter()
        .filter(|part| part.content_type.to_ascii_lowercase().starts_with("image/"))
        .filter_map(|part| {
            let id = part.content_id.clone()?;
            Some((id, format!("data:{};base64,{}", part.content_type, BASE64.encode(&part.data))))
        })
        .collect()
}

/// Cleans `html`; `cid:` images are looked up among `attachments`.
pub fn clean(html: &str, attachments: &[Attachment]) -> Clean {
    let links = Arc::new(Mutex::new(Vec::new()));
    let found = Arc::clone(&links);
    let images = cid_images(attachments);
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer"))
        .url_schemes(HashSet::from(["http", "https", "mailto", "data", "cid"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .add_generic_attributes(["align", "bgcolor", "width", "height", "color", "face", "size", "valign"])
        .add_tags(["font", "center"])
        .add_tag_attributes("a", ["target"])
        .attribute_filter(move |element, attribute, value| {
            let url_scheme = scheme(value);
            match (element, attribute) {
                ("img", "src") => match url_scheme.as_deref() {
                    Some("cid") => {
                        let id = value.trim_start()[4..].trim_matches(['<', '>']);
                        images.get(id).cloned().map(Cow::Owned)
                    }
                    Some("data") if value.trim_start()[5..].to_ascii_lowercase().starts_with("image/") => {
                        Some(Cow::Borrowed(value))
                    }
                    Some("http" | "https") => Some(Cow::Borrowed(value)),
                    _ => None,
                },
                (_, "href" | "src" | "cite" | "action" | "background" | "longdesc" | "poster") => {
                    match url_scheme.as_deref() {
                        Some("http" | "https" | "mailto") => {
                            if (element, attribute) == ("a", "href") {
                                if let Ok(mut links) = found.lock() {
                                    links.push(value.to_owned());
                                }
                            }
                            Some(Cow::Borrowed(value))
                        }
                        _ => None,
                    }
                }
                (_, "target") => Some(Cow::Borrowed("_blank")),

                _ => Some(Cow::Borrowed(value)),
            }
        });
    let html = builder.clean(html).to_string();
    drop(builder);
    let hrefs = links.lock().map(|mut links| std::mem::take(&mut *links)).unwrap_or_default();
    let mut seen = HashSet::new();
    let links = hrefs
        .into_iter()
        .filter(|href| seen.insert(href.clone()))
        .map(|href| Link { text: href.clone(), href })
        .collect();
    Clean { html, links }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean_html(html: &str) -> String {
        clean(html, &[]).html
    }

    #[test]
    fn scripts_handlers_and_forms_go() {
        let out = clean_html(
            r#"<p onclick="alert(1)">hi</p><script>alert(2)</script><form action="https://evil.example/"><input name=x></form><iframe src="https://evil.example/"></iframe><svg onload="alert(3)"><circle/></svg><meta http-equiv="refresh" content="0;url=https://evil.example/"><style>body{background:url(https://evil.example/)}</style><div style="width:expression(alert(4))">e</div><p style="color:red">red</p>"#,
        );
        assert!(out.contains("<p>red</p>"), "{out}");
        for bad in [
            "onclick",
            "<script",
            "alert",
            "<form",
            "action",
            "<iframe",
            "<svg",
            "onload",
            "<meta",
            "<style",
            "expression",
            "style=",
        ] {
            assert!(!out.contains(bad), "{bad} survived: {out}");
        }
        assert!(out.contains("<p>hi</p>"), "{out}");
    }

    #[test]
    fn links_keep_only_safe_schemes_and_get_rel() {
        let cleaned = clean(
            r#"<a href="javascript:alert(1)">a</a><a href="https://ok.example/x">b</a><a href="mailto:x@y.example">c</a><a href="data:text/html,<script>alert(1)</script>">d</a><a href="/relative">e</a><link href="https://not-a-link.example/">"#,
            &[],
        );
        assert!(!cleaned.html.contains("javascript"), "{}", cleaned.html);
        assert!(!cleaned.html.contains("data:text"), "{}", cleaned.html);
        assert!(!cleaned.html.contains("/relative"), "{}", cleaned.html);
        assert!(cleaned.html.contains(r#"href="https://ok.example/x""#), "{}", cleaned.html);
        assert!(cleaned.html.contains(r#"rel="noopener noreferrer""#), "{}", cleaned.html);
        let hrefs: Vec<&str> = cleaned.links.iter().map(|link| link.href.as_str()).collect();
        assert_eq!(hrefs, ["https://ok.example/x", "mailto:x@y.example"]);
    }

    #[test]
    fn cid_images_become_data_uris_and_remote_images_stay_for_the_frame_to_block() {
        let logo = Attachment {
            file_name: "logo.png".into(),
            content_type: "image/png".into(),
            content_id: Some("logo@x".into()),
            data: vec![0x89, b'P', b'N', b'G'],
        };
        let out = clean(
            r#"<img src="cid:logo@x"><img src="cid:missing"><img src="https://tracker.example/p.gif"><img src="data:image/gif;base64,R0lGOD"><img src="data:text/html;base64,PHNjcmlwdD4=">"#,
            &[logo],
        )
        .html;
        assert!(out.contains(r#"src="data:image/png;base64,iVBORw==""#), "{out}");
        assert!(!out.contains("cid:"), "{out}");
        assert!(out.contains("https://tracker.example/p.gif"), "{out}");
        assert!(out.contains("data:image/gif"), "{out}");
        assert!(!out.contains("data:text/html"), "{out}");
        assert!(has_remote_content(&out));
        assert!(!has_remote_content("<img src=\"data:image/gif;base64,R0\">"));
    }
}
