//! The consent banner and chooser, the footer, and the privacy pages: the policy with its
//! retention table and the consent receipts, the terms, the transparency reports with the
//! warrant canary, and "What Plico holds about you".

use leptos::prelude::*;
use plico_api::privacy::{ConsentCategory, ConsentMethod, DataHeld, Transparency};
use plico_api::worker::PrivacyCommand;
use plico_api::worker::{CanaryStatus, CanaryView, WorkerOutcome};

use crate::consent::{use_consent, OPTIONAL};
use crate::i18n::{t, tf};
use crate::router::Link;
use crate::session::use_session;

/// `text` escaped for HTML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Policy text as HTML: paragraphs split by blank lines, `# ` starts a heading; every text
/// escaped. The pages that only show text are made as HTML strings, which costs the UI's
/// binary far less than a view per element.
fn policy_html(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|block| !block.is_empty())
        .map(|block| match block.strip_prefix("# ") {
            Some(heading) => format!("<h2>{}</h2>", escape(heading)),
            None => format!("<p>{}</p>", escape(block)),
        })
        .collect()
}

/// A table: a header row and rows of already-escaped cells.
fn table_html(class: &str, head: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut html = format!("<table class=\"{class}\"><thead><tr>");
    for cell in head {
        html.push_str(&format!("<th scope=\"col\">{cell}</th>"));
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&format!("<td>{cell}</td>"));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

/// The brand, back to the app, above the pages shown outside the mail shell.
#[component]
fn PageHeader() -> impl IntoView {
    view! { <header class="page-header"><Link href="/" class="brand-link"><crate::ui::Brand/></Link></header> }
}

/// The banner on arrival, and the per-category chooser.
#[component]
pub fn ConsentBanner() -> impl IntoView {
    let consent = use_consent();
    let session = use_session();
    let picked = RwSignal::new(Vec::<ConsentCategory>::new());
    Effect::new(move |_| {
        if consent.choosing.get() {
            picked.set(OPTIONAL.iter().map(|(c, ..)| *c).filter(|c| consent.granted(*c)).collect());
        }
    });
    let method =
        move || if consent.from_settings.get_untracked() { ConsentMethod::Settings } else { ConsentMethod::Banner };
    let integrations = move |category: ConsentCategory| {
        consent.policy.with(|policy| {
            policy
                .iter()
                .flat_map(|policy| &policy.integrations)
                .filter(|integration| integration.category == category)
                .map(|integration| integration.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    view! {
        {move || consent.gpc_notice.get().then(|| view! {
            <div class="consent" role="region" aria-label=t("Privacy signal") id="gpc-notice">
                <p><strong>{t("Global Privacy Control is on.")}</strong>" "{t("Your browser asks sites not to share or sell your data, so Plico has turned off every optional cookie and script. Only the sign-in cookie is used.")}</p>
                <div class="consent-actions">
                    <button type="button" class="button secondary" on:click=move |_| consent.dismiss_gpc_notice()>{t("OK")}</button>
                    <button type="button" class="button secondary" on:click=move |_| { consent.dismiss_gpc_notice(); consent.open_settings(); }>{t("Cookie settings")}</button>
                </div>
            </div>
        })}
        {move || consent.open.get().then(|| view! {
            <div class="consent" role="dialog" aria-labelledby="consent-title" id="consent-banner">
                <h2 id="consent-title">{move || if consent.policy_changed() { t("Our privacy policy changed") } else { t("Cookies and optional scripts") }}</h2>
                {move || consent.policy_changed().then(|| consent.policy.get().map(|policy| view! {
                    <p class="policy-change">{tf("Version {version} of {date}: {changes}", &[("version", &policy.version.to_string()), ("date", &policy.published), ("changes", &policy.changes)])}</p>
                }))}
                <p>{t("Plico needs one cookie to keep you signed in. Anything else is off until you choose.")}" "
                    <Link href="/privacy">{t("Privacy policy")}</Link></p>
                {move || consent.gpc.get().then(|| view! { <p class="muted">{t("Your browser sends Global Privacy Control: optional categories stay off unless you turn them on here.")}</p> })}
                {move || consent.choosing.get().then(|| view! {
                    <fieldset class="consent-choices">
                        <legend>{t("Choose per category")}</legend>
                        <label class="toggle"><input type="checkbox" checked disabled/>{t("Necessary — the sign-in cookie (always on)")}</label>
                        {OPTIONAL.iter().map(|&(category, name, about)| {
                            let names = integrations(category);
                            view! {
                                <label class="toggle">
                                    <input type="checkbox" name=name
                                        prop:checked=move || picked.with(|p| p.contains(&category))
                                        on:change=move |event| {
                                            let on = event_target_checked(&event);
                                            picked.update(|p| { p.retain(|c| *c != category); if on { p.push(category); } });
                                        }/>
                                    {format!("{} — {}", t(name), t(about))}
                                    {(!names.is_empty()).then(|| view! { <span class="muted">{format!(" ({names})")}</span> })}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                })}
                <div class="consent-actions">
                    <button type="button" class="button secondary" on:click=move |_| consent.decide(session, OPTIONAL.iter().map(|(c, ..)| *c).collect(), method())>{t("Accept all")}</button>
                    <button type="button" class="button secondary" on:click=move |_| consent.decide(session, Vec::new(), method())>{t("Reject all")}</button>
                    {move || if consent.choosing.get() {
                        view! { <button type="button" class="button secondary" on:click=move |_| consent.decide(session, picked.get_untracked(), method())>{t("Save choices")}</button> }.into_any()
                    } else {
                        view! { <button type="button" class="button secondary" on:click=move |_| consent.choosing.set(true)>{t("Choose")}</button> }.into_any()
                    }}
                </div>
            </div>
            // Room to scroll what the banner covers into view.
            <div class="consent-spacer" aria-hidden="true"></div>
        })}
    }
}

/// Links every page carries, with the cookie settings.
#[component]
pub fn Footer() -> impl IntoView {
    let consent = use_consent();
    view! {
        <footer class="site-footer">
            <Link href="/privacy">{t("Privacy")}</Link>
            <Link href="/terms">{t("Terms")}</Link>
            <Link href="/transparency">{t("Transparency")}</Link>
            <button type="button" class="link-button" on:click=move |_| consent.open_settings()>{t("Cookie settings")}</button>
            <LanguagePicker/>
        </footer>
    }
}

fn describe_method(method: ConsentMethod) -> String {
    match method {
        ConsentMethod::Banner => t("banner"),
        ConsentMethod::Settings => t("settings"),
        ConsentMethod::Gpc => t("Global Privacy Control"),
    }
}

fn describe_categories(categories: &[ConsentCategory]) -> String {
    categories
        .iter()
        .map(|c| {
            OPTIONAL.iter().find(|(optional, ..)| optional == c).map_or_else(|| t("Necessary"), |(_, name, _)| t(name))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Downloads `text` as a file.
pub fn download_text(name: &str, text: &str, mime: &str) {
    let _ = crate::ui::save_file(name, mime, text.as_bytes());
}

#[component]
pub fn PrivacyPage() -> impl IntoView {
    let consent = use_consent();
    let policy = move || {
        consent.policy.with(|policy| {
            policy.as_ref().map(|policy| {
                format!(
                    "<p class=\"muted\">{} {}</p>{}<h2 id=\"retention\">{}</h2>{}",
                    escape(&tf(
                        "Version {version}, in force since {date}.",
                        &[("version", &policy.version.to_string()), ("date", &policy.published)]
                    )),
                    escape(&policy.changes),
                    policy_html(&policy.privacy),
                    escape(&t("Data retention")),
                    table_html(
                        "retention",
                        &[&escape(&t("Data")), &escape(&t("Kept"))],
                        policy.retention.iter().map(|row| vec![escape(&row.data), escape(&row.kept)])
                    )
                )
            })
        })
    };
    let receipts = move || {
        let mut receipts = consent.receipts.get();
        receipts.reverse();
        table_html(
            "receipts",
            &[&escape(&t("When")), &escape(&t("Policy")), &escape(&t("Categories")), &escape(&t("How"))],
            receipts.into_iter().map(|r| {
                vec![
                    crate::ui::format::local_date(r.at),
                    r.policy_version.to_string(),
                    describe_categories(&r.categories),
                    describe_method(r.method),
                ]
            }),
        )
    };
    view! {
        <PageHeader/>
        <main class="page policy" aria-labelledby="privacy-title">
            <h1 id="privacy-title">{t("Privacy policy")}</h1>
            <div inner_html=policy></div>
            <h2>{t("Your consent")}</h2>
            <p>{move || match consent.current() {
                None => t("You have not chosen yet: only the sign-in cookie is used."),
                Some(receipt) => tf("In force: {categories} (chosen {date} by {method}).", &[("categories", &describe_categories(&receipt.categories)), ("date", &crate::ui::format::local_date(receipt.at)), ("method", &describe_method(receipt.method))]),
            }}</p>
            <div class="consent-actions">
                <button type="button" class="button secondary" on:click=move |_| consent.open_settings()>{t("Change cookie settings")}</button>
                <button type="button" class="button secondary" on:click=move |_| {
                    let text = crate::json::stringify(&crate::json::Receipts(consent.receipts.get_untracked())).unwrap_or_default();
                    download_text("plico-consent-receipts.json", &text, "application/json");
                }>{t("Export receipts")}</button>
            </div>
            <h3>{t("Consent receipts, newest first")}</h3>
            <div inner_html=receipts></div>
        </main>
    }
}

#[component]
pub fn TermsPage() -> impl IntoView {
    let consent = use_consent();
    let terms = move || {
        consent.policy.with(|policy| {
            policy.as_ref().map(|policy| {
                format!(
                    "<p class=\"muted\">{}</p>{}",
                    escape(&tf(
                        "Version {version}, in force since {date}.",
                        &[("version", &policy.version.to_string()), ("date", &policy.published)]
                    )),
                    policy_html(&policy.terms)
                )
            })
        })
    };
    view! {
        <PageHeader/>
        <main class="page policy" aria-labelledby="terms-title">
            <h1 id="terms-title">{t("Terms of use")}</h1>
            <div inner_html=terms></div>
        </main>
    }
}

/// The canary as the worker checked it; `None` while loading.
type CanaryCheck = ReadSignal<Option<(Transparency, CanaryView)>>;

/// Checks the canary once per visit, for the warning on every page and for the transparency
/// page.
pub fn provide_canary(session: crate::session::Session) {
    let (checked, set_checked) = signal(None);
    provide_context::<CanaryCheck>(checked);
    leptos::task::spawn_local(async move {
        let Ok(published) = crate::api_client::get_json::<Transparency>("/transparency").await else { return };
        let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
        let command = PrivacyCommand::VerifyCanary {
            statement: published.canary.statement.clone().unwrap_or_default(),
            service_key: published.canary.service_key.clone().unwrap_or_default(),
            max_age_days: published.canary.max_age_days,
            now: (js_sys::Date::now() / 1000.0) as i64,
        };
        if let Ok(WorkerOutcome::Canary(view)) = worker.call(command, |_| {}).await {
            set_checked.set(Some((published, view)));
        }
    });
}

fn canary_check() -> CanaryCheck {
    use_context::<CanaryCheck>().unwrap_or_else(|| panic!("the canary check is provided by App"))
}

fn canary_problem(view: &CanaryView, max_age_days: u32) -> Option<String> {
    match view.status {
        CanaryStatus::Fresh | CanaryStatus::Missing => None,
        CanaryStatus::Stale => Some(tf(
            "The warrant canary is out of date: it was signed {date}, and must be renewed every {days} days.",
            &[
                ("date", &view.signed_at.map(crate::ui::format::local_date).unwrap_or_default()),
                ("days", &max_age_days.to_string()),
            ],
        )),
        CanaryStatus::Unsigned => Some(t("The warrant canary is not signed: it cannot be trusted.")),
        CanaryStatus::BadSignature => {
            Some(t("The warrant canary's signature is not the service key's, or does not check out."))
        }
    }
}

/// A warning on every page when the canary is stale, unsigned or wrongly signed.
#[component]
pub fn CanaryWarning() -> impl IntoView {
    let checked = canary_check();
    move || {
        checked.get().and_then(|(published, view)| canary_problem(&view, published.canary.max_age_days)).map(
            |problem| {
                view! {
                    <div class="canary-warning" role="alert" id="canary-warning">
                        <strong>{t("Warning:")}" "</strong>{problem}" "<Link href="/transparency">{t("Transparency")}</Link>
                    </div>
                }
            },
        )
    }
}

#[component]
pub fn TransparencyPage() -> impl IntoView {
    let checked = canary_check();
    let html = move || {
        let Some((published, view)) = checked.get() else {
            return format!("<p class=\"muted\">{}</p>", escape(&t("Checking the canary…")));
        };
        let days = published.canary.max_age_days;
        let verdict = match view.status {
            CanaryStatus::Fresh => tf(
                "Signed by the service key on {date}, within the {days} days it must be renewed in.",
                &[
                    ("date", &view.signed_at.map(crate::ui::format::local_date).unwrap_or_default()),
                    ("days", &days.to_string()),
                ],
            ),
            CanaryStatus::Missing => t("This server publishes no warrant canary."),
            _ => canary_problem(&view, days).unwrap_or_default(),
        };
        let class = if view.status == CanaryStatus::Fresh { "canary fresh" } else { "canary problem" };
        let mut html = format!("<p class=\"{class}\" id=\"canary-status\">{}</p>", escape(&verdict));
        if let Some(fingerprint) = view.fingerprint {
            html.push_str(&format!(
                "<p class=\"muted\">{} <span class=\"mono\">{}</span></p>",
                escape(&t("Service key fingerprint:")),
                escape(&crate::ui::format::group_fingerprint(&fingerprint))
            ));
        }
        if !view.text.is_empty() {
            html.push_str(&format!("<pre class=\"canary-text\">{}</pre>", escape(&view.text)));
        }
        html.push_str(&format!("<h2>{}</h2>", escape(&t("Reports"))));
        if published.reports.is_empty() {
            html.push_str(&format!("<p class=\"muted\">{}</p>", escape(&t("No report has been published yet."))));
        }
        html.push_str("<ul class=\"reports\">");
        for report in published.reports {
            html.push_str(&format!(
                "<li><strong>{}</strong> — {}<p>{}</p>",
                escape(&report.title),
                escape(&report.date),
                escape(&report.summary)
            ));
            // Only web links: a report's link is the operator's, but never a script.
            if let Some(url) = report.url.filter(|url| url.starts_with("https://") || url.starts_with('/')) {
                html.push_str(&format!(
                    "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
                    escape(&url),
                    escape(&t("Read the report"))
                ));
            }
            html.push_str("</li>");
        }
        html.push_str("</ul>");
        html
    };
    view! {
        <PageHeader/>
        <main class="page policy" aria-labelledby="transparency-title">
            <h1 id="transparency-title">{t("Transparency")}</h1>
            <h2>{t("Warrant canary")}</h2>
            <div inner_html=html></div>
        </main>
    }
}

/// "What Plico holds about you".
#[component]
pub fn DataPage() -> impl IntoView {
    let (held, set_held) = signal(None::<Result<DataHeld, crate::api_client::ApiFailure>>);
    leptos::task::spawn_local(async move { set_held.set(Some(crate::api_client::get_json("/account/data").await)) });
    view! {
        <crate::mail::Shell>
            <section class="account" aria-labelledby="data-title">
                <h1 id="data-title">{t("What Plico holds about you")}</h1>
                <p class="muted">{t("Everything the server keeps for this account, in the clear or encrypted, and when it is deleted. Mail, subjects, folder names, keyring and receipts are encrypted in your browser: the server holds them but cannot read them.")}</p>
                {move || match held.get() {
                    None => view! { <p class="muted">{t("Loading…")}</p> }.into_any(),
                    Some(Err(failure)) => view! { <p class="error" role="alert">{failure.message}</p> }.into_any(),
                    Some(Ok(held)) => {
                        let rows = held.items.into_iter().map(|item| {
                            let amount = match (item.count, item.bytes) {
                                (Some(count), Some(bytes)) => format!("{count} ({})", crate::ui::human_size(bytes)),
                                (Some(count), None) => count.to_string(),
                                (None, Some(bytes)) => crate::ui::human_size(bytes),
                                (None, None) => String::new(),
                            };
                            let when = match item.deleted_at {
                                Some(at) => format!("{} — {}", crate::ui::format::local_date(at), item.rule),
                                None => item.rule,
                            };
                            let what = match item.since {
                                Some(at) => format!("{} ({})", item.description, crate::ui::format::local_date(at)),
                                None => item.description,
                            };
                            vec![format!("<span data-kind=\"{}\">{}</span>", escape(&item.kind), escape(&what)), amount, escape(&when)]
                        });
                        let table = table_html("held", &[&escape(&t("Data")), &escape(&t("How much")), &escape(&t("Deleted"))], rows);
                        view! { <div inner_html=table></div> }.into_any()
                    }
                }}
            </section>
        </crate::mail::Shell>
    }
}

/// The language menu, in the footer of every page.
#[component]
pub fn LanguagePicker() -> impl IntoView {
    let i18n = crate::i18n::use_i18n();
    let consent = crate::consent::use_consent();
    let (error, set_error) = signal(None::<String>);
    let on_change = move |event: leptos::ev::Event| {
        let Some(lang) = crate::i18n::Lang::parse(&event_target_value(&event)) else { return };
        leptos::task::spawn_local(async move {
            match crate::i18n::switch(i18n, lang).await {
                Ok(()) => {
                    consent.remember(crate::i18n::CHOICE_KEY, Some(lang.code()));
                }
                Err(message) => crate::ui::set_alive(set_error, Some(message)),
            }
        });
    };
    view! {
        <span class="language-picker">
            <label for="language">{t("Language")}</label>
            <select id="language" on:change=on_change>
                {crate::i18n::Lang::ALL.into_iter().map(|lang| view! {
                    <option value=lang.code() lang=lang.code() selected=move || i18n.lang.get() == lang>{lang.name()}</option>
                }).collect_view()}
            </select>
            <crate::ui::ErrorText message=error/>
        </span>
    }
}
