//! The UI binary: mounts the app. Everything else is in the library, so native tests reach it.

fn main() {
    console_error_panic_hook::set_once();
    // The catalog first, so the first screen is in the user's language.
    wasm_bindgen_futures::spawn_local(async {
        plico_app::i18n::start().await;
        leptos::mount::mount_to_body(plico_app::app::App);
    });
}
