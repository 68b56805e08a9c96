//! The account page's export and import: everything out as one ZIP archive made by the crypto
//! worker, and mail in from mbox and .eml files, read here one piece at a time and handed to
//! the worker, which encrypts and uploads each message.

use leptos::prelude::*;
use plico_api::contacts::{MailContactsCommand, MailContactsOutcome};
use plico_api::worker::TransferCommand;
use plico_api::worker::{ExportView, ImportFailure, WorkerOutcome, WorkerStage};
use wasm_bindgen::JsCast;

use crate::i18n::{n, t, tf, tp};
use crate::mail::state::folder_label;
use crate::session::{use_session, Session};
use crate::ui::{human_size, ErrorText, StageProgress};

/// The piece of a file read and sent to the worker at once: pausing takes effect after it.
const PIECE_BYTES: f64 = (2 << 20) as f64;

/// Opens the download of the worker's archive.
fn download(url: &str, file_name: &str) {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else { return };
    let Ok(anchor) = document.create_element("a") else { return };
    let anchor: web_sys::HtmlAnchorElement = anchor.unchecked_into();
    anchor.set_href(url);
    anchor.set_download(file_name);
    anchor.click();
}

#[component]
pub fn ExportPanel() -> impl IntoView {
    let session = use_session();
    let consent = crate::consent::use_consent();
    let passphrase = RwSignal::new(String::new());
    let repeated = RwSignal::new(String::new());
    let (stage, set_stage) = signal(None::<WorkerStage>);
    let (error, set_error) = signal(None::<String>);
    let (done, set_done) = signal(None::<ExportView>);
    let busy = move || stage.get().is_some();
    let export = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        set_error.set(None);
        if passphrase.get_untracked() != repeated.get_untracked() {
            set_error.set(Some(t("The two passphrases differ.")));
            return;
        }
        let (passphrase_now, receipts) = (passphrase.get_untracked(), consent.receipts.get_untracked());
        set_stage.set(Some(WorkerStage::Exporting { done: 0, total: 0 }));
        leptos::task::spawn_local(async move {
            let result = match session.worker.with_value(|worker| worker.clone()) {
                Ok(worker) => {
                    // The contacts first, from the contacts worker: an archive without them
                    // would leave them out silently.
                    match worker.contacts(&MailContactsCommand::Export { ids: Vec::new() }).await {
                        Ok(MailContactsOutcome::Exported { vcf, .. }) => {
                            let command =
                                TransferCommand::Export { passphrase: passphrase_now, receipts, contacts_vcf: vcf };
                            worker
                                .call(command, move |stage| set_stage.set(Some(stage)))
                                .await
                                .map_err(|failure| failure.message)
                        }
                        Ok(_) => Err(t("The worker answered something unexpected.")),
                        Err(message) => {
                            Err(tf("Your contacts could not be exported: {reason}", &[("reason", &message)]))
                        }
                    }
                    .map_err(|message| crate::worker_client::WorkerFailure { code: "worker".into(), message })
                }
                Err(message) => Err(crate::worker_client::WorkerFailure { code: "worker".into(), message }),
            };
            set_stage.set(None);
            match result {
                Ok(WorkerOutcome::Exported(view)) => {
                    passphrase.set(String::new());
                    repeated.set(String::new());
                    download(&view.url, &view.file_name);
                    set_done.set(Some(view));
                }
                Ok(_) => set_error.set(Some(t("The worker answered something unexpected."))),
                Err(failure) => set_error.set(Some(failure.message)),
            }
        });
    };
    view! {
        <div class="panel" id="export-panel">
            <h2>{t("Export everything")}</h2>
            <p class="muted">{t("One ZIP archive, made in this browser: your mail decrypted (an mbox file and .eml files per folder), your contacts (one vCard file), your keys, your consent receipts and your login history. The secret key in it is protected by a passphrase you choose now; GnuPG and other OpenPGP programs ask for it.")}</p>
            <form class="stacked-form" on:submit=export>
                <label for="export-passphrase">{t("Passphrase for the secret key")}</label>
                <input id="export-passphrase" type="password" autocomplete="new-password" minlength="10" required
                    prop:value=move || passphrase.get() on:input=move |ev| passphrase.set(event_target_value(&ev))/>
                <label for="export-passphrase-again">{t("Repeat the passphrase")}</label>
                <input id="export-passphrase-again" type="password" autocomplete="new-password" required
                    prop:value=move || repeated.get() on:input=move |ev| repeated.set(event_target_value(&ev))/>
                <button type="submit" class="button primary" disabled=busy>{t("Export")}</button>
            </form>
            {move || match stage.get() {
                Some(WorkerStage::Exporting { done, total }) if total > 0 => Some(view! {
                    <p class="muted" id="export-count">{tf("{done} of {total} messages", &[("done", &crate::i18n::number(done.into())), ("total", &crate::i18n::number(total.into()))])}</p>
                }),
                _ => None,
            }}
            <StageProgress stage=stage/>
            <ErrorText message=error/>
            {move || done.get().map(|view| view! {
                <div role="status" id="export-done" data-bytes=view.bytes.to_string() data-memory-grown=view.memory_grown.to_string()>
                    <p>
                        {tp(view.messages.into(), n("Exported 1 message, {size}."), n("Exported {count} messages, {size}.")).replace("{size}", &human_size(view.bytes))}" "
                        <a href=view.url.clone() download=view.file_name.clone()>{tf("Download {file} again", &[("file", &view.file_name)])}</a>
                    </p>
                    {(!view.failures.is_empty()).then(|| view! {
                        <p class="error">{tf("{count} messages could not be exported (listed in README.txt):", &[("count", &view.failures.len().to_string())])}</p>
                        <ul class="report">{view.failures.iter().map(|failure| view! { <li>{failure.clone()}</li> }).collect_view()}</ul>
                    })}
                </div>
            })}
        </div>
    }
}

/// How an import is going.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Progress {
    read: u64,
    total: u64,
    imported: u32,
    failures: Vec<ImportFailure>,
    running: bool,
    paused: bool,
    finished: bool,
}

async fn read_piece(file: &web_sys::File, start: f64, end: f64) -> Result<Vec<u8>, String> {
    let piece = file
        .slice_with_f64_and_f64(start, end)
        .map_err(|_| tf("{file} could not be read.", &[("file", &file.name())]))?;
    let buffer = wasm_bindgen_futures::JsFuture::from(piece.array_buffer())
        .await
        .map_err(|_| tf("{file} could not be read.", &[("file", &file.name())]))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

async fn call(session: Session, command: TransferCommand) -> Result<WorkerOutcome, String> {
    let worker = session.worker.with_value(|worker| worker.clone())?;
    worker.call(command, |_| {}).await.map_err(|failure| failure.message)
}

/// Waits while the import is paused.
async fn while_paused(progress: RwSignal<Progress>) {
    while progress.with_untracked(|progress| progress.paused) {
        crate::ui::sleep(200).await;
    }
}

/// Imports each file into `folder_id`, piece by piece.
async fn import_files(
    session: Session,
    mail: crate::mail::Mail,
    folder_id: String,
    files: Vec<web_sys::File>,
    progress: RwSignal<Progress>,
) {
    for file in files {
        let name = file.name();
        let eml = name.to_ascii_lowercase().ends_with(".eml");
        if let Err(reason) =
            call(session, TransferCommand::ImportBegin { folder_id: folder_id.clone(), file_name: name.clone(), eml })
                .await
        {
            progress.update(|progress| progress.failures.push(ImportFailure { item: name.clone(), reason }));
            continue;
        }
        let size = file.size();
        let mut start = 0.0;
        loop {
            while_paused(progress).await;
            let end = (start + PIECE_BYTES).min(size);
            let last = end >= size;
            let answer = match read_piece(&file, start, end).await {
                Ok(bytes) => call(session, TransferCommand::ImportChunk { bytes, last }).await,
                Err(reason) => Err(reason),
            };
            match answer {
                Ok(WorkerOutcome::Imported(view)) => progress.update(|progress| {
                    progress.read += (end - start) as u64;
                    progress.imported += view.imported;
                    progress.failures.extend(view.failures);
                }),
                Ok(_) => {}
                Err(reason) => {
                    // The rest of this file is not read; the report says so, and the next file goes on.
                    progress.update(|progress| {
                        progress.read += (size - start) as u64;
                        progress.failures.push(ImportFailure {
                            item: name.clone(),
                            reason: tf("{reason} The rest of the file was not imported.", &[("reason", &reason)]),
                        });
                    });
                    break;
                }
            }
            if last {
                break;
            }
            start = end;
        }
    }
    progress.update(|progress| {
        progress.running = false;
        progress.paused = false;
        progress.finished = true;
    });
    let _ = crate::mail::state::sync_now(session, mail).await;
}

#[component]
pub fn ImportPanel() -> impl IntoView {
    let session = use_session();
    let mail = crate::mail::use_mail();
    let folder = RwSignal::new(String::new());
    let progress = RwSignal::new(Progress::default());
    let (error, set_error) = signal(None::<String>);
    let input = NodeRef::<leptos::html::Input>::new();
    // Opened straight from a link or a reload, the mailbox may not have synced yet.
    if mail.mailbox.with_untracked(|state| state.folders.is_empty()) {
        crate::mail::state::sync(session, mail, set_error);
    }
    let folders = move || mail.mailbox.with(|state| state.folders.clone());
    let start = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        set_error.set(None);
        let chosen = folder.get_untracked();
        let chosen = if chosen.is_empty() {
            mail.mailbox.with_untracked(|state| {
                state.folder(plico_api::mail::FolderRole::Inbox).map(|folder| folder.id.clone()).unwrap_or_default()
            })
        } else {
            chosen
        };
        let files: Vec<web_sys::File> = input
            .get_untracked()
            .and_then(|input| input.files())
            .map(|list| (0..list.length()).filter_map(|index| list.get(index)).collect())
            .unwrap_or_default();
        if files.is_empty() {
            set_error.set(Some(t("Choose one or more .mbox or .eml files first.")));
            return;
        }
        if chosen.is_empty() {
            set_error.set(Some(t("Your folders are still loading; try again in a moment.")));
            return;
        }
        let total = files.iter().map(|file| file.size() as u64).sum();
        progress.set(Progress { total, running: true, ..Progress::default() });
        leptos::task::spawn_local(import_files(session, mail, chosen, files, progress));
    };
    let percent = move || progress.with(|p| (p.read * 100).checked_div(p.total).unwrap_or(0));
    view! {
        <div class="panel" id="import-panel">
            <h2>{t("Import mail")}</h2>
            <p class="muted">{t("From mbox files (Thunderbird, Apple Mail, Gmail's Takeout, a Plico export) or .eml files. Each message is encrypted in this browser before it is uploaded; the list below names every message that could not be imported, and why.")}</p>
            <form class="stacked-form" on:submit=start>
                <label for="import-folder">{t("Into folder")}</label>
                <select id="import-folder" on:change=move |ev| folder.set(event_target_value(&ev))>
                    {move || folders().into_iter().filter(|f| f.role != Some(plico_api::mail::FolderRole::Drafts)).map(|f| {
                        let selected = f.role == Some(plico_api::mail::FolderRole::Inbox);
                        view! { <option value=f.id.clone() selected=selected>{folder_label(&f)}</option> }
                    }).collect_view()}
                </select>
                <label for="import-files">{t("Files")}</label>
                <input id="import-files" type="file" multiple accept=".mbox,.mbx,.eml,application/mbox,message/rfc822" node_ref=input/>
                <div class="button-row">
                    <button type="submit" class="button primary" disabled=move || progress.with(|p| p.running)>{t("Import")}</button>
                    {move || progress.with(|p| p.running).then(|| {
                        let paused = progress.with(|p| p.paused);
                        view! {
                            <button type="button" class="button secondary" id="import-pause"
                                on:click=move |_| progress.update(|p| p.paused = !p.paused)>
                                {if paused { t("Resume") } else { t("Pause") }}
                            </button>
                        }
                    })}
                </div>
            </form>
            <ErrorText message=error/>
            {move || {
                let p = progress.get();
                (p.running || p.finished).then(|| view! {
                    <div class="progress" role="status" aria-live="polite" id="import-status">
                        <progress max="100" value=percent().to_string() aria-label=t("Import progress")></progress>
                        <span>{tf(
                            if p.finished {
                                n("Done: {imported} imported, {failed} could not be imported")
                            } else if p.paused {
                                n("Paused: {imported} imported, {failed} could not be imported")
                            } else {
                                n("{imported} imported, {failed} could not be imported")
                            },
                            &[("imported", &crate::i18n::number(p.imported.into())), ("failed", &p.failures.len().to_string())],
                        )}</span>
                    </div>
                    {(!p.failures.is_empty()).then(|| view! {
                        <ul class="report" id="import-report">
                            {p.failures.into_iter().map(|failure| view! { <li><strong>{failure.item}</strong>": "{failure.reason}</li> }).collect_view()}
                        </ul>
                    })}
                })
            }}
        </div>
    }
}
