//! The UI binary: mounts the app. Everything else is in the library, so native tests reach it.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(plico_app::app::App);
}
