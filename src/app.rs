//! The root component: the session and each feature's state provided at the top, the routes
//! below. No feature imports this module.

use leptos::prelude::*;
use plico_api::{Account, ServerInfo};

use crate::account::AccountPage;
use crate::auth::{LoginPage, SignupPage};
use crate::mail::MailPage;
use crate::router::{provide_navigator, Page, Redirect};
use crate::session::Session;

#[component]
pub fn App() -> impl IntoView {
    let session = Session::provide();
    let mail = crate::mail::Mail::provide();
    let navigator = provide_navigator();
    let i18n = crate::i18n::I18n { lang: RwSignal::new(crate::i18n::lang()) };
    provide_context(i18n);
    crate::shortcuts::provide_shortcuts(session, navigator);

    crate::mail::state::keep_in_sync(session, mail);
    crate::consent::provide_consent(session);
    crate::privacy::views::provide_canary(session);

    leptos::task::spawn_local(async move {
        if let Ok(info) = crate::api_client::get_json::<ServerInfo>("/info").await {
            session.domain.set(info.domain);
            session.max_attachment_bytes.set(info.max_attachment_bytes);
        }
        match crate::api_client::get_json::<Account>("/session").await {
            Ok(account) => session.remembered_address.set(Some(account.address)),
            // Ended from another device while this page was closed: delete what it kept.
            Err(failure) if failure.code == "session_revoked" => {
                if let Ok(worker) = session.worker.with_value(|worker| worker.clone()) {
                    let _ = worker.call(plico_api::worker::SessionCommand::ForgetDevice, |_| {}).await;
                }
                crate::session::ended();
            }
            Err(_) => {}
        }
    });

    // Reading the language here renders every page again in the new one when it changes; the
    // session's state lives above, so nothing the user had is lost.
    let page = move || match (i18n.lang.track(), navigator.page()).1 {
        Page::Home if session.identity.get().is_some() => view! { <Redirect path="/mail/inbox"/> }.into_any(),
        Page::Home => view! { <Redirect path="/login"/> }.into_any(),
        Page::Signup => view! { <SignupPage/> }.into_any(),
        Page::Login => view! { <LoginPage/> }.into_any(),
        Page::Mail { folder } if folder == "outbox" => view! { <crate::mail::OutboxPage/> }.into_any(),
        Page::Mail { folder } => view! { <MailPage folder=folder/> }.into_any(),
        Page::Account => view! { <AccountPage/> }.into_any(),
        Page::Compose => view! { <crate::mail::ComposePage/> }.into_any(),
        Page::Search => view! { <crate::mail::SearchPage/> }.into_any(),
        Page::Privacy => view! { <crate::privacy::PrivacyPage/> }.into_any(),
        Page::Terms => view! { <crate::privacy::TermsPage/> }.into_any(),
        Page::Transparency => view! { <crate::privacy::TransparencyPage/> }.into_any(),
        Page::Data => view! { <crate::privacy::DataPage/> }.into_any(),
        Page::Contacts => view! { <crate::contacts::ContactsPage/> }.into_any(),
        Page::Settings => view! { <crate::settings::SettingsPage/> }.into_any(),
        Page::Calendar => view! { <crate::calendar::CalendarPage/> }.into_any(),
        Page::NotFound => view! { <crate::ui::NotFound/> }.into_any(),
    };
    view! {
        {move || {
            i18n.lang.track();
            view! {
                <crate::ui::OfflineIndicator/>
                <crate::privacy::CanaryWarning/>
                {page}
                <crate::privacy::Footer/>
                <crate::privacy::ConsentBanner/>
                <crate::shortcuts::ShortcutHelp/>
            }
        }}
    }
}
