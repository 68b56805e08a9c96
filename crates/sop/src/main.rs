//! `plico-sop`: the Stateless OpenPGP command line (draft-dkg-openpgp-stateless-cli) over
//! plico-pgp, the OpenPGP code the browser and the server run. With it, sqop, GnuPG and the
//! OpenPGP interoperability test suite can test Plico's OpenPGP as one implementation among
//! others.
//!
//! What it does: version, list-profiles, generate-key, extract-cert, sign, verify, encrypt,
//! decrypt (with session keys in and out), armor, dearmor, inline-sign (packets or cleartext)
//! and inline-verify. Passwords are not supported (Plico keys are sealed by the account, not
//! by a passphrase): those options end with UNSUPPORTED_OPTION (37), as the draft asks.

mod args;
mod dates;

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::SystemTime;

use plico_pgp::{ArmorKind, Certificate, InlineForm, PgpError, SignatureMode, Verification};
use sequoia_openpgp as openpgp;

use openpgp::cert::CertParser;
use openpgp::parse::Parse;
use openpgp::serialize::SerializeInto;

use args::Args;

/// The failures the draft names, with its exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Unspecified = 1,
    NoSignature = 3,
    CertCannotEncrypt = 17,
    MissingArg = 19,
    IncompleteVerification = 23,
    CannotDecrypt = 29,
    UnsupportedOption = 37,
    BadData = 41,
    ExpectedText = 53,
    OutputExists = 59,
    MissingInput = 61,
    KeyIsProtected = 67,
    UnsupportedSubcommand = 69,
    UnsupportedSpecialPrefix = 71,
    KeyCannotSign = 79,
    UnsupportedProfile = 89,
}

/// A failure and the sentence that explains it on standard error.
#[derive(Debug)]
struct Error {
    failure: Failure,
    message: String,
}

fn fail<T>(failure: Failure, message: impl Into<String>) -> Result<T, Error> {
    Err(Error { failure, message: message.into() })
}

impl From<PgpError> for Error {
    fn from(error: PgpError) -> Self {
        let failure = match &error {
            PgpError::MalformedCert(_) | PgpError::SecretKeyMaterial | PgpError::MissingUserId(_) => Failure::BadData,
            PgpError::InvalidCert(_) | PgpError::NoEncryptionKey(_) => Failure::CertCannotEncrypt,
            PgpError::NoSigningKey => Failure::KeyCannotSign,
            PgpError::DecryptionFailed | PgpError::TooLarge(_) | PgpError::NestedCompression => Failure::CannotDecrypt,
            PgpError::Other(_) => Failure::Unspecified,
        };
        Error { failure, message: error.to_string() }
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error { failure: Failure::Unspecified, message: format!("input/output: {error}") }
    }
}

type Result<T = (), E = Error> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let Some(subcommand) = argv.next() else {
        eprintln!("usage: plico-sop <subcommand> [options] [arguments]  (see `plico-sop help`)");
        return ExitCode::from(Failure::MissingArg as u8);
    };
    let outcome = Args::parse(argv.collect()).and_then(|args| run(&subcommand, args));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("plico-sop {subcommand}: {}", error.message);
            ExitCode::from(error.failure as u8)
        }
    }
}

const HELP: &str = "plico-sop: the Stateless OpenPGP command line over Plico's OpenPGP code.
subcommands: version, list-profiles, generate-key, extract-cert, sign, verify, encrypt, decrypt,
armor, dearmor, inline-sign, inline-verify";

fn run(subcommand: &str, args: Args) -> Result {
    match subcommand {
        "version" => version(args),
        "list-profiles" => list_profiles(args),
        "generate-key" => generate_key(args),
        "extract-cert" => extract_cert(args),
        "sign" => sign(args),
        "verify" => verify(args),
        "encrypt" => encrypt(args),
        "decrypt" => decrypt(args),
        "armor" => armor(args),
        "dearmor" => dearmor(args),
        "inline-sign" => inline_sign(args),
        "inline-verify" => inline_verify(args),
        "help" | "--help" | "-h" => {
            println!("{HELP}");
            Ok(())
        }
        other => fail(Failure::UnsupportedSubcommand, format!("{other:?} is not a subcommand this SOP implements")),
    }
}

fn stdin() -> Result<Vec<u8>> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    Ok(input)
}

fn stdout(bytes: &[u8]) -> Result {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

/// Armors `binary` as `kind` unless `--no-armor` was given.
fn output(args: &Args, kind: ArmorKind, binary: &[u8]) -> Result {
    if args.flag("no-armor") {
        stdout(binary)
    } else {
        stdout(&plico_pgp::armor(kind, binary, true))
    }
}

/// Reads certificates or keys (a keyring is fine), armored or binary.
fn certs_in(bytes: &[u8], what: &str) -> Result<Vec<Certificate>> {
    let certs: Vec<Certificate> = CertParser::from_bytes(bytes)
        .map_err(|e| Error { failure: Failure::BadData, message: format!("{what}: not OpenPGP data ({e})") })?
        .collect::<openpgp::Result<_>>()
        .map_err(|e| Error { failure: Failure::BadData, message: format!("{what}: not a certificate ({e})") })?;
    if certs.is_empty() {
        return fail(Failure::BadData, format!("{what}: holds no certificate"));
    }
    Ok(certs)
}

/// Reads secret keys: each must carry unencrypted secret key material.
fn keys_in(bytes: &[u8], what: &str) -> Result<Vec<Certificate>> {
    let keys = certs_in(bytes, what)?;
    for key in &keys {
        if !key.is_tsk() {
            return fail(Failure::BadData, format!("{what}: a certificate where a secret key was expected"));
        }
        let locked = key.keys().secret().any(|k| k.key().secret().is_encrypted());
        if locked {
            return fail(Failure::KeyIsProtected, format!("{what}: the secret key is protected by a password"));
        }
    }
    Ok(keys)
}

fn certs_from_files(names: &[String], what: &str) -> Result<Vec<Certificate>> {
    let mut certs = Vec::new();
    for name in names {
        certs.extend(certs_in(&args::read_indirect(name)?, &format!("{what} {name}"))?);
    }
    Ok(certs)
}

fn keys_from_files(names: &[String]) -> Result<Vec<Certificate>> {
    let mut keys = Vec::new();
    for name in names {
        keys.extend(keys_in(&args::read_indirect(name)?, &format!("key {name}"))?);
    }
    Ok(keys)
}

/// `--as=binary|text` for signatures.
fn signature_mode(args: &Args) -> Result<SignatureMode> {
    match args.value("as").as_deref() {
        None | Some("binary") => Ok(SignatureMode::Binary),
        Some("text") => Ok(SignatureMode::Text),
        Some(other) => fail(Failure::UnsupportedOption, format!("--as={other}: binary or text")),
    }
}

fn needs_text(mode: SignatureMode, data: &[u8]) -> Result {
    if mode == SignatureMode::Text && std::str::from_utf8(data).is_err() {
        return fail(Failure::ExpectedText, "--as=text needs UTF-8 input");
    }
    Ok(())
}

/// Refuses options Plico does not support, such as passwords.
fn refuse_passwords(args: &Args) -> Result {
    for option in ["with-password", "with-key-password"] {
        if args.value(option).is_some() {
            return fail(
                Failure::UnsupportedOption,
                format!("--{option}: Plico keys and messages are not protected by passwords"),
            );
        }
    }
    Ok(())
}

fn check_profile(args: &Args) -> Result {
    match args.value("profile").as_deref() {
        None | Some("default") => Ok(()),
        Some(other) => fail(Failure::UnsupportedProfile, format!("--profile={other}: only \"default\" exists")),
    }
}

fn version(args: Args) -> Result {
    args.only(&["backend", "extended", "sop-spec"], &[])?;
    let line = if args.flag("backend") {
        "plico-pgp 0.1.0 over sequoia-openpgp 2 (pure-Rust crypto)".to_owned()
    } else if args.flag("sop-spec") {
        "~draft-dkg-openpgp-stateless-cli-10\nno passwords, no inline-detach".to_owned()
    } else if args.flag("extended") {
        format!("plico-sop {}\nplico-pgp 0.1.0 over sequoia-openpgp 2 (pure-Rust crypto)", env!("CARGO_PKG_VERSION"))
    } else {
        format!("plico-sop {}", env!("CARGO_PKG_VERSION"))
    };
    println!("{line}");
    Ok(())
}

fn list_profiles(args: Args) -> Result {
    args.only(&[], &[])?;
    match args.positionals.first().map(String::as_str) {
        Some("generate-key") => {
            println!("default: an Ed25519 primary key and a Cv25519 encryption subkey, as Plico makes")
        }
        Some("encrypt") => println!("default: SEIPDv2 (AES-OCB) when every recipient supports it, else SEIPDv1"),
        Some(other) => return fail(Failure::UnsupportedProfile, format!("{other} has no profiles")),
        None => return fail(Failure::MissingArg, "name a subcommand"),
    }
    Ok(())
}

fn generate_key(args: Args) -> Result {
    args.only(&["no-armor", "signing-only"], &["profile", "with-key-password"])?;
    refuse_passwords(&args)?;
    check_profile(&args)?;
    if args.flag("signing-only") {
        return fail(Failure::UnsupportedOption, "--signing-only: Plico keys always have an encryption subkey");
    }
    let user_ids: Vec<&str> = args.positionals.iter().map(String::as_str).collect();
    let generated = plico_pgp::generate_key(&user_ids)?;
    output(&args, ArmorKind::SecretKey, &generated.secret_key)
}

fn extract_cert(args: Args) -> Result {
    args.only(&["no-armor"], &[])?;
    let keys = keys_in(&stdin()?, "standard input")?;
    let mut binary = Vec::new();
    for key in keys {
        binary.extend(key.strip_secret_key_material().to_vec().map_err(|e| Error {
            failure: Failure::Unspecified,
            message: format!("the certificate could not be written: {e}"),
        })?);
    }
    output(&args, ArmorKind::PublicKey, &binary)
}

fn sign(args: Args) -> Result {
    args.only(&["no-armor"], &["as", "micalg-out", "with-key-password"])?;
    refuse_passwords(&args)?;
    if args.positionals.is_empty() {
        return fail(Failure::MissingArg, "name at least one KEYS file");
    }
    let mode = signature_mode(&args)?;
    let keys = keys_from_files(&args.positionals)?;
    let data = stdin()?;
    needs_text(mode, &data)?;
    if let Some(micalg) = args.value("micalg-out") {
        args::write_new(&micalg, b"pgp-sha512")?;
    }
    let signatures = plico_pgp::sign_detached_by(&data, &keys, mode)?;
    output(&args, ArmorKind::Signature, &signatures)
}

/// The window in which a signature counts (`--not-before`, `--not-after`).
struct Window {
    not_before: Option<SystemTime>,
    not_after: Option<SystemTime>,
}

impl Window {
    fn from(args: &Args, before: &str, after: &str) -> Result<Window> {
        let not_before = match args.value(before) {
            None => None,
            Some(date) => dates::parse(&date, false).ok_or_else(|| Error {
                failure: Failure::BadData,
                message: format!("--{before}={date}: not a date"),
            })?,
        };
        let not_after = match args.value(after) {
            None => Some(SystemTime::now()),
            Some(date) => dates::parse(&date, true)
                .ok_or_else(|| Error { failure: Failure::BadData, message: format!("--{after}={date}: not a date") })?,
        };
        Ok(Window { not_before, not_after })
    }

    fn keep(&self, verifications: Vec<Verification>) -> Vec<Verification> {
        verifications
            .into_iter()
            .filter(|v| self.not_before.is_none_or(|t| v.created >= t) && self.not_after.is_none_or(|t| v.created <= t))
            .collect()
    }
}

fn verification_lines(verifications: &[Verification]) -> String {
    verifications
        .iter()
        .map(|v| {
            let mode = match v.mode {
                SignatureMode::Binary => "binary",
                SignatureMode::Text => "text",
            };
            format!("{} {} {} mode:{mode}\n", dates::format(v.created), v.signing_key, v.signer)
        })
        .collect()
}

fn verify(args: Args) -> Result {
    args.only(&[], &["not-before", "not-after"])?;
    let window = Window::from(&args, "not-before", "not-after")?;
    let Some((signatures, certs)) = args.positionals.split_first() else {
        return fail(Failure::MissingArg, "name a SIGNATURES file and at least one CERTS file");
    };
    if certs.is_empty() {
        return fail(Failure::MissingArg, "name at least one CERTS file");
    }
    let signatures = args::read_indirect(signatures)?;
    let certs = certs_from_files(certs, "certificate")?;
    let data = stdin()?;
    let good = window.keep(
        plico_pgp::verify_detached_by(&data, &signatures, &certs)
            .map_err(|e| Error { failure: Failure::BadData, message: e.to_string() })?,
    );
    if good.is_empty() {
        return fail(Failure::NoSignature, "no acceptable signature by these certificates");
    }
    stdout(verification_lines(&good).as_bytes())
}

fn encrypt(args: Args) -> Result {
    args.only(&["no-armor"], &["as", "sign-with", "with-password", "with-key-password", "profile", "session-key-out"])?;
    refuse_passwords(&args)?;
    check_profile(&args)?;
    if args.value("session-key-out").is_some() {
        return fail(Failure::UnsupportedOption, "--session-key-out is not supported for encrypt");
    }
    let mode = signature_mode(&args)?;
    if args.positionals.is_empty() {
        return fail(Failure::MissingArg, "name at least one CERTS file");
    }
    let recipients = certs_from_files(&args.positionals, "certificate")?;
    let signers = keys_from_files(&args.values("sign-with"))?;
    let data = stdin()?;
    needs_text(mode, &data)?;
    let message = plico_pgp::encrypt_message(&data, &recipients, &signers, mode)?;
    if args.flag("no-armor") {
        stdout(&message)
    } else {
        stdout(&plico_pgp::armor(ArmorKind::Message, &message, !plico_pgp::all_support_aead(&recipients)))
    }
}

/// A session key as SOP writes it: the algorithm's number, a colon, the key in hex.
fn parse_session_key(text: &str) -> Option<(Option<u8>, Vec<u8>)> {
    let (algo, hex) = text.trim().split_once(':')?;
    let algo = if algo.is_empty() { None } else { Some(algo.parse().ok()?) };
    if hex.len() % 2 != 0 || hex.is_empty() {
        return None;
    }
    let key =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect::<Option<_>>()?;
    Some((algo, key))
}

fn format_session_key((algo, key): &(Option<u8>, Vec<u8>)) -> String {
    let hex: String = key.iter().map(|byte| format!("{byte:02X}")).collect();
    format!("{}:{hex}\n", algo.map(|a| a.to_string()).unwrap_or_default())
}

fn decrypt(args: Args) -> Result {
    args.only(
        &[],
        &[
            "session-key-out",
            "with-session-key",
            "with-password",
            "with-key-password",
            "verifications-out",
            "verify-out",
            "verify-with",
            "verify-not-before",
            "verify-not-after",
        ],
    )?;
    refuse_passwords(&args)?;
    let window = Window::from(&args, "verify-not-before", "verify-not-after")?;
    let verifications_out = args.value("verifications-out").or_else(|| args.value("verify-out"));
    let verify_with = args.values("verify-with");
    if verifications_out.is_some() == verify_with.is_empty() {
        return fail(Failure::IncompleteVerification, "--verifications-out and --verify-with go together");
    }
    let mut session_keys = Vec::new();
    for name in args.values("with-session-key") {
        let text = args::read_indirect(&name)?;
        let parsed = std::str::from_utf8(&text).ok().and_then(parse_session_key);
        match parsed {
            Some(key) => session_keys.push(key),
            None => return fail(Failure::BadData, format!("{name}: not a session key (ALGO:HEX)")),
        }
    }
    if args.positionals.is_empty() && session_keys.is_empty() {
        return fail(Failure::MissingArg, "name at least one KEYS file or --with-session-key");
    }
    let secrets = keys_from_files(&args.positionals)?;
    let verifiers = certs_from_files(&verify_with, "certificate")?;
    // Refuse before decrypting, so that no plaintext is written when an output would fail.
    for out in [&verifications_out, &args.value("session-key-out")].into_iter().flatten() {
        args::check_new(out)?;
    }
    let ciphertext = stdin()?;
    let decryption = plico_pgp::Decryption {
        secrets: &secrets,
        session_keys: &session_keys,
        verifiers: &verifiers,
        max_plaintext: plico_pgp::MAX_PLAINTEXT_BYTES,
    };
    let (decrypted, session_key) = plico_pgp::decrypt(&ciphertext, &decryption)?;
    if let Some(out) = args.value("session-key-out") {
        args::write_new(&out, format_session_key(&session_key).as_bytes())?;
    }
    if let Some(out) = verifications_out {
        args::write_new(&out, verification_lines(&window.keep(decrypted.verifications)).as_bytes())?;
    }
    stdout(&decrypted.plaintext)
}

/// What an OpenPGP packet stream begins with, for its armor label.
fn armor_kind_of(binary: &[u8]) -> ArmorKind {
    let tag = match binary.first() {
        Some(&byte) if byte & 0x40 != 0 => byte & 0x3F,
        Some(&byte) => (byte >> 2) & 0x0F,
        None => 0,
    };
    match tag {
        5 => ArmorKind::SecretKey,
        6 => ArmorKind::PublicKey,
        2 => ArmorKind::Signature,
        _ => ArmorKind::Message,
    }
}

fn is_binary_openpgp(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|byte| byte & 0x80 != 0)
}

fn armor(args: Args) -> Result {
    args.only(&[], &["label"])?;
    if args.value("label").is_some_and(|label| label != "auto") {
        return fail(Failure::UnsupportedOption, "--label: only auto");
    }
    let input = stdin()?;
    if !is_binary_openpgp(&input) {
        // Already armored (or not OpenPGP at all): armoring is idempotent.
        return match dearmored(&input) {
            Some(_) => stdout(&input),
            None => fail(Failure::BadData, "the input is neither binary OpenPGP nor armored"),
        };
    }
    stdout(&plico_pgp::armor(armor_kind_of(&input), &input, true))
}

fn dearmored(input: &[u8]) -> Option<Vec<u8>> {
    use openpgp::armor::{Reader, ReaderMode};
    let mut reader = Reader::from_bytes(input, ReaderMode::Tolerant(None));
    let mut binary = Vec::new();
    reader.read_to_end(&mut binary).ok()?;
    (!binary.is_empty()).then_some(binary)
}

fn dearmor(args: Args) -> Result {
    args.only(&[], &[])?;
    let input = stdin()?;
    if is_binary_openpgp(&input) {
        return stdout(&input);
    }
    match dearmored(&input) {
        Some(binary) => stdout(&binary),
        None => fail(Failure::BadData, "the input is not ASCII-armored OpenPGP"),
    }
}

fn inline_sign(args: Args) -> Result {
    args.only(&["no-armor"], &["as", "with-key-password"])?;
    refuse_passwords(&args)?;
    if args.positionals.is_empty() {
        return fail(Failure::MissingArg, "name at least one KEYS file");
    }
    let form = match args.value("as").as_deref() {
        None | Some("binary") => InlineForm::Packets(SignatureMode::Binary),
        Some("text") => InlineForm::Packets(SignatureMode::Text),
        Some("clearsigned") => InlineForm::Cleartext,
        Some(other) => return fail(Failure::UnsupportedOption, format!("--as={other}: binary, text or clearsigned")),
    };
    if form == InlineForm::Cleartext && args.flag("no-armor") {
        return fail(Failure::UnsupportedOption, "--no-armor does not go with --as=clearsigned");
    }
    let keys = keys_from_files(&args.positionals)?;
    let data = stdin()?;
    needs_text(
        if form == InlineForm::Packets(SignatureMode::Binary) { SignatureMode::Binary } else { SignatureMode::Text },
        &data,
    )?;
    let signed = plico_pgp::sign_inline(&data, &keys, form)?;
    match form {
        InlineForm::Cleartext => stdout(&signed),
        InlineForm::Packets(_) => output(&args, ArmorKind::Message, &signed),
    }
}

fn inline_verify(args: Args) -> Result {
    args.only(&[], &["not-before", "not-after", "verifications-out"])?;
    let window = Window::from(&args, "not-before", "not-after")?;
    if args.positionals.is_empty() {
        return fail(Failure::MissingArg, "name at least one CERTS file");
    }
    let certs = certs_from_files(&args.positionals, "certificate")?;
    if let Some(out) = args.value("verifications-out") {
        args::check_new(&out)?;
    }
    let message = stdin()?;
    let (data, verifications) = plico_pgp::verify_inline(&message, &certs)
        .map_err(|e| Error { failure: Failure::BadData, message: e.to_string() })?;
    let good = window.keep(verifications);
    if good.is_empty() {
        return fail(Failure::NoSignature, "no acceptable signature by these certificates");
    }
    if let Some(out) = args.value("verifications-out") {
        args::write_new(&out, verification_lines(&good).as_bytes())?;
    }
    stdout(&data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_read_and_write_as_sop_writes_them() {
        let key =
            parse_session_key("9:FCA4BEAF687F48059CACC14FB019125CD57392BAB7037C707835925CBF9F7BCD\n").expect("parses");
        assert_eq!(key.0, Some(9));
        assert_eq!(key.1.len(), 32);
        assert_eq!(format_session_key(&key), "9:FCA4BEAF687F48059CACC14FB019125CD57392BAB7037C707835925CBF9F7BCD\n");
        assert_eq!(parse_session_key(":00FF"), Some((None, vec![0, 255])));
        for bad in ["", "9", "9:", "9:ABC", "x:00", "9:ZZ"] {
            assert_eq!(parse_session_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn armor_labels_follow_the_first_packet() {
        // Old-format tags: 0x95 is a secret key (5), 0x99 a public key (6), 0x89 a signature (2).
        assert!(matches!(armor_kind_of(&[0x95]), ArmorKind::SecretKey));
        assert!(matches!(armor_kind_of(&[0x99]), ArmorKind::PublicKey));
        assert!(matches!(armor_kind_of(&[0x89]), ArmorKind::Signature));
        // New format: 0xC5 secret key, 0xC1 a PKESK (a message).
        assert!(matches!(armor_kind_of(&[0xC5]), ArmorKind::SecretKey));
        assert!(matches!(armor_kind_of(&[0xC1]), ArmorKind::Message));
    }

    #[test]
    fn errors_of_the_pgp_crate_map_to_the_drafts_exit_codes() {
        assert_eq!(Error::from(PgpError::DecryptionFailed).failure as u8, 29);
        assert_eq!(Error::from(PgpError::NoSigningKey).failure as u8, 79);
        assert_eq!(Error::from(PgpError::NoEncryptionKey("x".into())).failure as u8, 17);
        assert_eq!(Error::from(PgpError::MalformedCert("x".into())).failure as u8, 41);
    }
}
