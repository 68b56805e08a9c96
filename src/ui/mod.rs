//! Dumb, reusable widgets, and how values are written (`format`).

pub mod format;

use leptos::prelude::*;
use plico_api::worker::WorkerStage;
use wasm_bindgen::JsCast;

use crate::i18n::{t, Lang};

/// The Plico mark and name.
#[component]
pub fn Brand() -> impl IntoView {
    view! {
        <span class="brand">
            <svg class="brand-mark" viewBox="0 0 32 32" aria-hidden="true">
                <rect x="3" y="7" width="26" height="19" rx="4" class="brand-envelope"/>
                <path d="M4 9l12 9 12-9" class="brand-flap"/>
                <circle cx="24" cy="8" r="6" class="brand-lock"/>
                <path d="M21.5 8.5h5v3h-5z M22.5 8.5v-1.5a1.5 1.5 0 0 1 3 0v1.5" class="brand-shackle"/>
            </svg>
            <span class="brand-name">{t("Plico")}</span>
        </span>
    }
}

/// An error line that screen readers announce.
#[component]
pub fn ErrorText(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    // A worker's or the server's fixed messages are in the catalogs too.
    move || message.get().map(|message| view! { <p class="error" role="alert">{t(&message)}</p> })
}

/// The progress of a long worker operation.
#[component]
pub fn StageProgress(#[prop(into)] stage: Signal<Option<WorkerStage>>) -> impl IntoView {
    move || {
        stage.get().map(|stage| {
            view! {
                <div class="progress" role="status" aria-live="polite">
                    <progress max="100" value=stage.percent().to_string() aria-label=t("Progress")></progress>
                    <span>{match stage {
                        WorkerStage::UploadingMessage(done) => format!("{} {done}%", t(stage.describe())),
                        _ => t(stage.describe()),
                    }}</span>
                </div>
            }
        })
    }
}

/// Whether the browser says it has a network.
pub fn online() -> bool {
    web_sys::window().is_none_or(|window| window.navigator().on_line())
}

/// "Offline" while the browser has no network: what shows is what this device saved, and
/// nothing the user does reaches the server until the connection is back.
#[component]
pub fn OfflineIndicator() -> impl IntoView {
    let online = RwSignal::new(online());
    if let Some(window) = web_sys::window() {
        for (event, value) in [("online", true), ("offline", false)] {
            let listener = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || online.set(value));
            let _ = window.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
            listener.forget();
        }
    }
    move || {
        (!online.get()).then(|| {
            view! {
                <div class="offline-indicator" role="status" id="offline-indicator">
                    <strong>{t("Offline.")}</strong>" "{t("You see what this device has saved; nothing reaches the server until the connection is back.")}
                </div>
            }
        })
    }
}

/// Sizes in binary units, as mail clients show them: "999 B", "12 KB", "1.5 MB", "25 MB".
/// Integer arithmetic: float formatting would cost the UI binary kilobytes.
pub fn human_size(bytes: u64) -> String {
    human_size_in(crate::i18n::lang(), bytes)
}

/// [`human_size`] in `lang`: French writes octets ("1,5 Mo"), the others bytes.
pub fn human_size_in(lang: Lang, bytes: u64) -> String {
    let (b, kb, mb, gb) = if lang == Lang::Fr { ("o", "Ko", "Mo", "Go") } else { ("B", "KB", "MB", "GB") };
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    const GB: u64 = 1024 * MB;
    let tenths = |unit: u64, name: &str| {
        let tenths = (bytes.saturating_mul(10) + unit / 2) / unit;
        if tenths % 10 == 0 {
            format!("{} {name}", tenths / 10)
        } else {
            format!("{}{}{} {name}", tenths / 10, lang.decimal_separator(), tenths % 10)
        }
    };
    match bytes {
        0..KB => format!("{bytes} {b}"),
        KB..MB => format!("{} {kb}", bytes.div_ceil(KB)),
        MB..GB => tenths(MB, mb),
        _ => tenths(GB, gb),
    }
}

/// Sets `signal` unless its owner is gone: a page can change while an async step runs, and
/// touching a disposed signal panics (and a panic aborts the app).
pub fn set_alive<S: Set>(signal: S, value: S::Value) {
    let _ = signal.try_set(value);
}

/// Waits `millis` milliseconds.
pub async fn sleep(millis: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, millis);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// A paperclip, for attachments (emoji fonts are not everywhere).
#[component]
pub fn PaperclipIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" width="16" height="16">
            <path d="M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.5 3.5 0 0 1 5 5l-8.6 8.6a2 2 0 0 1-2.8-2.8l7.9-7.9"
                fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>
        </svg>
    }
}

/// Shown for paths the app does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="auth-page">
            <section class="card">
                <h1>{t("Page not found")}</h1>
                <p>{t("There is nothing at this address.")}</p>
                <crate::router::Link href="/" class="button primary">{t("Go to Plico")}</crate::router::Link>
            </section>
        </main>
    }
}

/// Hands the browser a file to save.
pub fn save_file(file_name: &str, content_type: &str, data: &[u8]) -> Result<(), String> {
    let array = js_sys::Uint8Array::from(data);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(content_type);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|_| t("The browser could not hold the file."))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| t("The browser refused the file."))?;
    let document = web_sys::window().and_then(|window| window.document()).ok_or("no document")?;
    let anchor: web_sys::HtmlAnchorElement = document.create_element("a").map_err(|_| "no anchor")?.unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    // The download has started from the URL; release it a little later.
    let release = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(release.unchecked_ref(), 60_000);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{human_size, human_size_in};
    use crate::i18n::Lang;

    #[test]
    fn sizes_read_like_a_mail_client() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1 KB");
        assert_eq!(human_size(1025), "2 KB");
        assert_eq!(human_size(1024 * 1024), "1 MB");
        assert_eq!(human_size(1024 * 1024 + 100 * 1024), "1.1 MB");
        assert_eq!(human_size(25 * 1024 * 1024), "25 MB");
        assert_eq!(human_size_in(Lang::Fr, 1024 * 1024 + 100 * 1024), "1,1 Mo");
        assert_eq!(human_size_in(Lang::De, 1024 * 1024 + 100 * 1024), "1,1 MB");
        assert_eq!(human_size_in(Lang::Sv, 512), "512 B");
        assert_eq!(human_size(5_000_000_000), "4.7 GB");
        assert_eq!(human_size_in(Lang::Fr, 3 * 1024 * 1024 * 1024), "3 Go");
    }
}
