//! The built-in spam score for incoming mail: a few header rules and a Bayes-style sum of
//! log-odds over a fixed list of tokens, run on the plaintext in memory before it is encrypted,
//! and only for accounts that leave mail analysis on.
//!
//! The token weights are fixed, not trained per user: training on each user's mail would mean
//! keeping something derived from their plaintext on the server, which Plico does not do.
//! rspamd, when an operator configures it, is the place for learning filters.

use plico_mime::ParsedMessage;

/// A score at or above this files the message in Spam.
pub const SPAM_THRESHOLD: f32 = 5.0;

/// How much of a body the phrase rules read.
const TEXT_LOOKED_AT: usize = 256 * 1024;

/// What the score found.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub score: f32,
    /// Short names of the rules that fired, for the header the reader can show.
    pub reasons: Vec<&'static str>,
    /// rspamd's advice, when it is configured and answered.
    pub rspamd: Option<crate::inbound::rspamd::Check>,
}

impl Verdict {
    /// Spam by the built-in score, or by rspamd's action.
    pub fn is_spam(&self) -> bool {
        self.score >= SPAM_THRESHOLD || self.rspamd.as_ref().is_some_and(crate::inbound::rspamd::Check::is_spam)
    }

    /// The header put inside the encrypted message: `X-Plico-Spam: yes; score=6.5; rules=…`.
    pub fn header(&self) -> String {
        let rspamd = match &self.rspamd {
            Some(check) => format!("; rspamd={:.1} {}", check.score, check.action),
            None => String::new(),
        };
        format!(
            "X-Plico-Spam: {}; score={:.1}; rules={}{rspamd}\r\n",
            if self.is_spam() { "yes" } else { "no" },
            self.score,
            if self.reasons.is_empty() { "none".to_owned() } else { self.reasons.join(",") }
        )
    }
}

/// Tokens and their weights (log-odds that a message holding them is spam), lowercase.
const TOKENS: &[(&str, f32, &str)] = &[
    ("viagra", 3.0, "pharma"),
    ("cialis", 3.0, "pharma"),
    ("claim your prize", 3.0, "prize"),
    ("you have won", 2.5, "prize"),
    ("lottery", 2.0, "prize"),
    ("free money", 2.5, "money"),
    ("wire transfer", 1.5, "money"),
    ("western union", 2.0, "money"),
    ("bitcoin", 1.0, "money"),
    ("100% free", 2.0, "free"),
    ("act now", 1.5, "urgency"),
    ("limited time offer", 1.5, "urgency"),
    ("urgent response", 1.5, "urgency"),
    ("verify your account", 2.0, "phishing"),
    ("your account has been suspended", 2.5, "phishing"),
    ("confirm your password", 2.5, "phishing"),
    ("click here", 1.0, "click-here"),
    ("congratulations", 1.0, "prize"),
    ("inheritance", 1.5, "money"),
    ("beneficiary", 1.0, "money"),
    ("risk-free", 1.5, "free"),
    ("no credit check", 2.0, "money"),
];

/// Scores a parsed message.
pub fn score(message: &ParsedMessage) -> Verdict {
    let mut verdict = Verdict { score: 0.0, reasons: Vec::new(), rspamd: None };
    let mut add = |weight: f32, reason: &'static str| {
        verdict.score += weight;
        if !verdict.reasons.contains(&reason) {
            verdict.reasons.push(reason);
        }
    };
    if message.date.is_none() {
        add(1.0, "no-date");
    }
    if message.message_id.is_none() {
        add(1.0, "no-message-id");
    }
    if message.from.is_none() {
        add(1.5, "no-from");
    }
    let letters: Vec<char> = message.subject.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() >= 8 && letters.iter().all(|c| c.is_uppercase()) {
        add(1.5, "subject-shouts");
    }
    if message.subject.matches('!').count() >= 3 {
        add(1.0, "subject-exclaims");
    }
    // A display name that is itself an address other than the sender's ("support@bank.example
    // <x@elsewhere.example>") is the oldest phishing trick.
    if let Some(from) = &message.from {
        if let Some(name) = &from.name {
            let named = name.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
            if named.contains('@') && named != from.address.to_ascii_lowercase() {
                add(2.5, "name-is-another-address");
            }
        }
    }
    if let Some(html) = &message.html {
        if message.text.trim().is_empty() {
            add(0.5, "html-only");
        }
        if plico_mime::has_remote_content(html) {
            add(0.5, "remote-images");
        }
    }
    // Bayes-style: the weights of the tokens present, each counted once.
    // The rules' phrases are ASCII, so ASCII lowercasing finds them; the body is looked at up
    // to TEXT_LOOKED_AT bytes (spam says what it is early, and a 40 MB body costs no more).
    let mut end = message.text.len().min(TEXT_LOOKED_AT);
    while !message.text.is_char_boundary(end) {
        end -= 1;
    }
    let haystack = format!("{}\n{}", message.subject, &message.text[..end]).to_ascii_lowercase();
    for (token, weight, reason) in TOKENS {
        if haystack.contains(token) {
            add(*weight, reason);
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use plico_mime::Mailbox;

    fn message(subject: &str, text: &str) -> ParsedMessage {
        ParsedMessage {
            subject: subject.into(),
            from: Some(Mailbox::new(Some("Dana"), "dana@example.org")),
            date: Some(1_790_000_000),
            message_id: Some("m@example.org".into()),
            text: text.into(),
            ..ParsedMessage::default()
        }
    }

    #[test]
    fn ordinary_mail_scores_low() {
        let verdict = score(&message("Lunch on Friday?", "Shall we meet at noon? Congratulations on the new job."));
        assert!(!verdict.is_spam(), "{verdict:?}");
        assert_eq!(verdict.reasons, ["prize"]);
        assert!(verdict.header().starts_with("X-Plico-Spam: no; score=1.0; rules=prize"));
    }

    #[test]
    fn prize_and_phishing_mail_is_spam() {
        let verdict = score(&message(
            "YOU HAVE WON THE LOTTERY!!!",
            "Congratulations! Claim your prize now: verify your account and send a wire transfer fee.",
        ));
        assert!(verdict.is_spam(), "{verdict:?}");
        for reason in ["subject-shouts", "subject-exclaims", "prize", "phishing", "money"] {
            assert!(verdict.reasons.contains(&reason), "{reason} missing from {verdict:?}");
        }
        assert!(verdict.header().starts_with("X-Plico-Spam: yes; score="));
    }

    #[test]
    fn a_display_name_naming_another_address_counts() {
        let mut spoof = message("Your statement", "See attached.");
        spoof.from = Some(Mailbox::new(Some("service@bank.example"), "x@elsewhere.example"));
        assert!(score(&spoof).reasons.contains(&"name-is-another-address"));
        let mut honest = message("Your statement", "See attached.");
        honest.from = Some(Mailbox::new(Some("dana@example.org"), "dana@example.org"));
        assert!(score(&honest).reasons.is_empty());
    }

    #[test]
    fn missing_headers_and_html_only_with_remote_images_count() {
        let mut bare = message("Offer", "");
        bare.date = None;
        bare.message_id = None;
        bare.html = Some("<img src=\"https://tracker.example/p.gif\">".into());
        let verdict = score(&bare);
        assert_eq!(verdict.reasons, ["no-date", "no-message-id", "html-only", "remote-images"]);
        assert!((verdict.score - 3.0).abs() < 1e-6);
    }
}
