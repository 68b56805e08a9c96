//! Dumb, reusable widgets.

use leptos::prelude::*;
use plico_api::worker::WorkerStage;

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
                    <span>{stage.describe()}</span>
                </div>
            }
        })
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
