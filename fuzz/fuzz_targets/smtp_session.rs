//! Arbitrary bytes as an SMTP client's side of a session: split into lines (and, for lines over
//! 200 bytes, into pieces, as the listener hands them over), with the caller's answers taken
//! from the input too. The session must never panic, and must never say 250 to the end of DATA
//! unless the caller stored the message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plico_smtp::{Event, Limits, Recipient, Reply, Session};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_message_bytes: 4096, max_recipients: 4, max_errors: 20, max_command_line: 512 };
    let mut session = Session::new("mx.plico.test", limits, data.first().is_some_and(|b| b & 1 == 1));
    let mut answers = data.iter().rev().copied().cycle();
    for line in data.split_inclusive(|&b| b == b'\n') {
        for piece in line.chunks(200) {
            let event = session.line(piece);
            match event {
                Event::CheckRecipient(address) => {
                    assert!(!address.is_empty());
                    let verdict = match answers.next().unwrap_or(0) % 4 {
                        0 => Recipient::Accept,
                        1 => Recipient::UnknownUser,
                        2 => Recipient::NotLocal,
                        _ => Recipient::TryLater,
                    };
                    let reply = session.recipient_checked(verdict);
                    assert_eq!(reply.is_positive(), verdict == Recipient::Accept);
                }
                Event::Deliver(envelope, message) => {
                    assert!(!envelope.recipients.is_empty());
                    assert!(message.len() <= 4096);
                    let stored = answers.next().unwrap_or(0) % 2 == 0;
                    let outcome = if stored { Ok("id".to_owned()) } else { Err(Reply::new(451, "4.3.0 no")) };
                    assert_eq!(session.delivered(outcome).code == 250, stored);
                }
                Event::Reply(reply) => assert!((200..600).contains(&reply.code)),
                Event::StartTls(reply) => {
                    assert_eq!(reply.code, 220);
                    session.tls_started();
                }
                Event::Close(_) => return,
                Event::Continue => {}
            }
        }
    }
});
