//! The command line as the draft shapes it: `--name=value` or `--name value` options, flags, then
//! positional arguments (`--` ends the options), and indirect data: a file name, `@ENV:NAME`
//! (an environment variable) or `@FD:N` (an inherited file descriptor).

use std::io::Write;

use crate::{fail, Error, Failure, Result};

/// Options that take a value; every other `--name` is a flag.
const VALUED: &[&str] = &[
    "as",
    "sign-with",
    "with-password",
    "with-key-password",
    "with-session-key",
    "session-key-out",
    "verifications-out",
    "verify-out",
    "verify-with",
    "verify-not-before",
    "verify-not-after",
    "not-before",
    "not-after",
    "profile",
    "micalg-out",
    "label",
    "signatures-out",
];

#[derive(Debug, Default)]
pub struct Args {
    options: Vec<(String, Option<String>)>,
    pub positionals: Vec<String>,
}

impl Args {
    pub fn parse(argv: Vec<String>) -> Result<Args> {
        let mut args = Args::default();
        let mut argv = argv.into_iter();
        while let Some(arg) = argv.next() {
            if arg == "--" {
                args.positionals.extend(argv);
                break;
            }
            let Some(option) = arg.strip_prefix("--") else {
                args.positionals.push(arg);
                continue;
            };
            let (name, value) = match option.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None if VALUED.contains(&option) => match argv.next() {
                    Some(value) => (option.to_owned(), Some(value)),
                    None => return fail(Failure::MissingArg, format!("--{option} needs a value")),
                },
                None => (option.to_owned(), None),
            };
            args.options.push((name, value));
        }
        Ok(args)
    }

    /// Fails with UNSUPPORTED_OPTION on any option outside `flags` and `valued`.
    pub fn only(&self, flags: &[&str], valued: &[&str]) -> Result {
        for (name, value) in &self.options {
            let known = match value {
                None => flags.contains(&name.as_str()),
                Some(_) => valued.contains(&name.as_str()),
            };
            if !known {
                return fail(Failure::UnsupportedOption, format!("--{name} is not an option here"));
            }
        }
        Ok(())
    }

    pub fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|(n, value)| n == name && value.is_none())
    }

    /// The last value given for `name`.
    pub fn value(&self, name: &str) -> Option<String> {
        self.options.iter().rev().find(|(n, _)| n == name).and_then(|(_, value)| value.clone())
    }

    /// Every value given for `name`, in order.
    pub fn values(&self, name: &str) -> Vec<String> {
        self.options.iter().filter(|(n, _)| n == name).filter_map(|(_, value)| value.clone()).collect()
    }
}

/// Reads indirect data: a file, `@ENV:NAME` or `@FD:N`.
pub fn read_indirect(name: &str) -> Result<Vec<u8>> {
    if let Some(variable) = name.strip_prefix("@ENV:") {
        return std::env::var_os(variable)
            .map(|value| value.into_encoded_bytes())
            .ok_or_else(|| Error { failure: Failure::MissingInput, message: format!("{name}: not set") });
    }
    if let Some(fd) = name.strip_prefix("@FD:") {
        if fd.is_empty() || !fd.bytes().all(|b| b.is_ascii_digit()) {
            return fail(Failure::UnsupportedSpecialPrefix, format!("{name}: not a file descriptor"));
        }
        return std::fs::read(format!("/dev/fd/{fd}"))
            .map_err(|e| Error { failure: Failure::MissingInput, message: format!("{name}: {e}") });
    }
    if name.starts_with('@') && !std::path::Path::new(name).exists() {
        return fail(Failure::UnsupportedSpecialPrefix, format!("{name}: unknown special prefix"));
    }
    std::fs::read(name).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            Error { failure: Failure::MissingInput, message: format!("{name}: no such file") }
        }
        _ => Error { failure: Failure::Unspecified, message: format!("{name}: {e}") },
    })
}

/// Fails with OUTPUT_EXISTS when `name` is a file already; `@FD:N` is always writable.
pub fn check_new(name: &str) -> Result {
    if name.starts_with("@FD:") {
        return Ok(());
    }
    if name.starts_with("@ENV:") || (name.starts_with('@') && !std::path::Path::new(name).exists()) {
        return fail(Failure::UnsupportedSpecialPrefix, format!("{name}: outputs cannot go there"));
    }
    if std::path::Path::new(name).exists() {
        return fail(Failure::OutputExists, format!("{name} exists already"));
    }
    Ok(())
}

/// Writes an output that must not exist yet (`--verifications-out`, `--session-key-out`).
pub fn write_new(name: &str, bytes: &[u8]) -> Result {
    check_new(name)?;
    let path = match name.strip_prefix("@FD:") {
        Some(fd) => format!("/dev/fd/{fd}"),
        None => name.to_owned(),
    };
    let mut file = if name.starts_with("@FD:") {
        std::fs::OpenOptions::new().write(true).open(&path)?
    } else {
        std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?
    };
    file.write_all(bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::parse(args.iter().map(|a| a.to_string()).collect()).expect("parses")
    }

    #[test]
    fn options_take_values_either_way_and_dashes_end_them() {
        let args = parse(&["--as=text", "--no-armor", "--sign-with", "k1", "--sign-with=k2", "c1", "--", "--c2"]);
        assert_eq!(args.value("as").as_deref(), Some("text"));
        assert!(args.flag("no-armor"));
        assert_eq!(args.values("sign-with"), ["k1", "k2"]);
        assert_eq!(args.positionals, ["c1", "--c2"]);
        assert!(args.only(&["no-armor"], &["as", "sign-with"]).is_ok());
        let refused = args.only(&[], &["as", "sign-with"]).expect_err("no-armor is not allowed");
        assert_eq!(refused.failure, Failure::UnsupportedOption);
    }

    #[test]
    fn a_valued_option_at_the_end_is_a_missing_argument() {
        let error = Args::parse(vec!["--sign-with".into()]).expect_err("no value");
        assert_eq!(error.failure, Failure::MissingArg);
    }

    #[test]
    fn indirect_data_reads_files_and_the_environment_and_names_what_is_missing() {
        let dir = std::env::temp_dir().join(format!("plico-sop-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("data");
        std::fs::write(&file, b"bytes").expect("writes");
        assert_eq!(read_indirect(file.to_str().expect("utf-8")).expect("reads"), b"bytes");
        assert_eq!(read_indirect("@ENV:PLICO_SOP_SURELY_UNSET").expect_err("unset").failure, Failure::MissingInput);
        assert_eq!(read_indirect("/no/such/file").expect_err("missing").failure, Failure::MissingInput);
        assert_eq!(read_indirect("@HTTP:x").expect_err("prefix").failure, Failure::UnsupportedSpecialPrefix);
        assert_eq!(check_new(file.to_str().expect("utf-8")).expect_err("exists").failure, Failure::OutputExists);
        let fresh = dir.join("fresh");
        write_new(fresh.to_str().expect("utf-8"), b"x").expect("writes");
        assert_eq!(std::fs::read(&fresh).expect("reads"), b"x");
        std::fs::remove_dir_all(&dir).expect("cleans up");
    }
}
