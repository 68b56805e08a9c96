//! A small client-side router over the History API: the app has a handful of pages, and
//! leptos_router cost the UI binary more than the 150 KB brotli budget allows.

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Every page the app can show, parsed from the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// `/`: goes to the inbox or to sign-in.
    Home,
    Signup,
    Login,
    /// `/mail/<folder>`.
    Mail {
        folder: String,
    },
    Account,
    /// `/compose`: a new message.
    Compose,
    /// `/search`: results of the query in the top bar.
    Search,
    Privacy,
    Terms,
    Transparency,
    /// `/account/data`: what Plico holds about you.
    Data,
    /// `/contacts`: the Contacts app, loaded into the shell.
    Contacts,
    /// `/calendar`: the Calendar app, loaded into the shell.
    Calendar,
    /// `/settings`: the Settings app (security: second factors, sessions), loaded into the shell.
    Settings,
    NotFound,
}

impl Page {
    /// The page for a path; a trailing slash does not matter.
    pub fn from_path(path: &str) -> Page {
        let trimmed = path.trim_end_matches('/');
        let mut segments = trimmed.split('/').skip(1);
        match (segments.next(), segments.next(), segments.next()) {
            (None, _, _) => Page::Home,
            (Some("signup"), None, _) => Page::Signup,
            (Some("login"), None, _) => Page::Login,
            (Some("account"), None, _) => Page::Account,
            (Some("compose"), None, _) => Page::Compose,
            (Some("search"), None, _) => Page::Search,
            (Some("privacy"), None, _) => Page::Privacy,
            (Some("terms"), None, _) => Page::Terms,
            (Some("transparency"), None, _) => Page::Transparency,
            (Some("account"), Some("data"), None) => Page::Data,
            // `/contacts/<id>` opens a contact (a search result).
            (Some("contacts"), _, None) => Page::Contacts,
            (Some("settings"), _, None) => Page::Settings,
            (Some("calendar"), _, None) => Page::Calendar,
            (Some("mail"), Some(folder), None) if !folder.is_empty() => Page::Mail { folder: folder.to_owned() },
            _ => Page::NotFound,
        }
    }
}

/// The current page and the means to change it.
#[derive(Clone, Copy)]
pub struct Navigator {
    page: RwSignal<Page>,
}

fn current_path() -> String {
    web_sys::window().and_then(|window| window.location().pathname().ok()).unwrap_or_else(|| "/".into())
}

impl Navigator {
    /// The page shown now (tracked).
    pub fn page(&self) -> Page {
        self.page.get()
    }

    /// True when `path` is the page shown now (tracked), for `aria-current`.
    pub fn is_current(&self, path: &str) -> bool {
        self.page.with(|page| *page == Page::from_path(path))
    }

    /// Goes to `path`, adding a history entry.
    /// A new page starts at its top, as a loaded one does.
    pub fn go(&self, path: &str) {
        if let Some(window) = web_sys::window() {
            if let Ok(history) = window.history() {
                let _ = history.push_state_with_url(&JsValue::NULL, "", Some(path));
            }
            window.scroll_to_with_x_and_y(0.0, 0.0);
        }
        self.page.set(Page::from_path(path));
    }

    /// Goes to `path` in place of the current history entry (for redirects).
    pub fn replace(&self, path: &str) {
        if let Some(history) = web_sys::window().and_then(|window| window.history().ok()) {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(path));
        }
        self.page.set(Page::from_path(path));
    }
}

/// Starts routing: reads the location and follows the back and forward buttons.
pub fn provide_navigator() -> Navigator {
    let navigator = Navigator { page: RwSignal::new(Page::from_path(&current_path())) };
    let on_pop_state = Closure::<dyn Fn()>::new(move || navigator.page.set(Page::from_path(&current_path())));
    if let Some(window) = web_sys::window() {
        let _ = window.add_event_listener_with_callback("popstate", on_pop_state.as_ref().unchecked_ref());
    }
    on_pop_state.forget();
    provide_context(navigator);
    navigator
}

/// The navigator that [`provide_navigator`] set up at the root.
pub fn use_navigator() -> Navigator {
    use_context::<Navigator>().unwrap_or_else(|| panic!("the navigator is provided by App"))
}

/// A link that navigates without reloading the page, and marks itself `aria-current="page"`.
#[component]
pub fn Link(#[prop(into)] href: String, #[prop(optional, into)] class: String, children: Children) -> impl IntoView {
    let navigator = use_navigator();
    let target = href.clone();
    let on_click = move |event: MouseEvent| {
        let plain_click =
            event.button() == 0 && !event.ctrl_key() && !event.meta_key() && !event.shift_key() && !event.alt_key();
        if plain_click {
            event.prevent_default();
            navigator.go(&target);
        }
    };
    let current = href.clone();
    view! {
        <a href=href class=class on:click=on_click aria-current=move || navigator.is_current(&current).then_some("page")>
            {children()}
        </a>
    }
}

/// Replaces the current page with `path` once rendered.
#[component]
pub fn Redirect(path: &'static str) -> impl IntoView {
    let navigator = use_navigator();
    Effect::new(move |_| navigator.replace(path));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_pages() {
        assert_eq!(Page::from_path("/"), Page::Home);
        assert_eq!(Page::from_path(""), Page::Home);
        assert_eq!(Page::from_path("/signup"), Page::Signup);
        assert_eq!(Page::from_path("/login/"), Page::Login);
        assert_eq!(Page::from_path("/account"), Page::Account);
        assert_eq!(Page::from_path("/compose"), Page::Compose);
        assert_eq!(Page::from_path("/mail/inbox"), Page::Mail { folder: "inbox".into() });
        assert_eq!(Page::from_path("/mail"), Page::NotFound);
        assert_eq!(Page::from_path("/mail/inbox/extra"), Page::NotFound);
        assert_eq!(Page::from_path("/nowhere"), Page::NotFound);
        assert_eq!(Page::from_path("/account/data"), Page::Data);
        assert_eq!(Page::from_path("/contacts/"), Page::Contacts);
        assert_eq!(Page::from_path("/settings"), Page::Settings);
        assert_eq!(Page::from_path("/calendar"), Page::Calendar);
        assert_eq!(Page::from_path("/contacts/c0ffee"), Page::Contacts, "a contact, from a search result");
        assert_eq!(Page::from_path("/privacy"), Page::Privacy);
    }
}
