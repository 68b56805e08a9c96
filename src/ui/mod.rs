//! Dumb, reusable widgets.

use leptos::prelude::*;
use plico_api::worker::WorkerStage;
use wasm_bindgen::JsCast;

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
            <span class="brand-name">"Plico"</span>
        </span>
    }
}

/// An error line that screen readers announce.
#[component]
pub fn ErrorText(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || message.get().map(|message| view! { <p class="error" role="alert">{message}</p> })
}

/// The progress of a long worker operation.
#[component]
pub fn StageProgress(#[prop(into)] stage: Signal<Option<WorkerStage>>) -> impl IntoView {
    move || {
        stage.get().map(|stage| {
            view! {
                <div class="progress" role="status" aria-live="polite">
                    <progress max="100" value=stage.percent().to_string() aria-label="Progress"></progress>
                    <span>{match stage {
                        WorkerStage::UploadingMessage(done) => format!("{} {done}%", stage.describe()),
                        _ => stage.describe().to_owned(),
                    }}</span>
                </div>
            }
        })
    }
}

/// Sizes in binary units, as mail clients show them: "999 B", "12 KB", "1.5 MB", "25 MB".
/// Integer arithmetic: float formatting would cost the UI binary kilobytes.
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    match bytes {
        0..KB => format!("{bytes} B"),
        KB..MB => format!("{} KB", bytes.div_ceil(KB)),
        _ => {
            let tenths = (bytes * 10 + MB / 2) / MB;
            if tenths % 10 == 0 {
                format!("{} MB", tenths / 10)
            } else {
                format!("{}.{} MB", tenths / 10, tenths % 10)
            }
        }
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
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address."</p>
                <crate::router::Link href="/" class="button primary">"Go to Plico"</crate::router::Link>
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
        .map_err(|_| "The browser could not hold the file.".to_owned())?;
    let url =
        web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| "The browser refused the file.".to_owned())?;
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
    use super::human_size;

    #[test]
    fn sizes_read_like_a_mail_client() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1 KB");
        assert_eq!(human_size(1025), "2 KB");
        assert_eq!(human_size(1024 * 1024), "1 MB");
        assert_eq!(human_size(1024 * 1024 + 100 * 1024), "1.1 MB");
        assert_eq!(human_size(25 * 1024 * 1024), "25 MB");
    }
}
