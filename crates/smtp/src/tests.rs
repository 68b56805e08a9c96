use super::*;

fn session() -> Session {
    Session::new("mx.plico.test", Limits { max_message_bytes: 1000, max_recipients: 3, ..Limits::default() }, false)
}

/// Feeds `line` (CRLF added) and answers recipient checks: addresses at plico.test exist when
/// their local part starts with "a" or "b"; other domains are not local.
fn say(session: &mut Session, line: &str) -> Event {
    match session.line(format!("{line}\r\n").as_bytes()) {
        Event::CheckRecipient(address) => {
            let verdict = match address.rsplit_once('@') {
                Some((local, "plico.test")) if local.starts_with('a') || local.starts_with('b') => Recipient::Accept,
                Some((_, "plico.test")) => Recipient::UnknownUser,
                _ => Recipient::NotLocal,
            };
            Event::Reply(session.recipient_checked(verdict))
        }
        other => other,
    }
}

fn code(event: Event) -> u16 {
    match event {
        Event::Reply(reply) | Event::Close(reply) | Event::StartTls(reply) => reply.code,
        Event::Continue => 0,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn greeted() -> Session {
    let mut s = session();
    assert_eq!(code(say(&mut s, "EHLO client.example")), 250);
    s
}

#[test]
fn a_whole_transaction_delivers_what_was_sent_with_dots_unstuffed() {
    let mut s = greeted();
    assert_eq!(code(say(&mut s, "MAIL FROM:<sender@example.org> SIZE=100 BODY=8BITMIME")), 250);
    assert_eq!(code(say(&mut s, "RCPT TO:<alice@plico.test>")), 250);
    assert_eq!(code(say(&mut s, "RCPT TO:<ALICE@plico.test>")), 250, "a repeated recipient is taken once");
    assert_eq!(code(say(&mut s, "RCPT TO:<bob@plico.test>")), 250);
    assert_eq!(code(say(&mut s, "DATA")), 354);
    assert!(s.reading_data());
    for line in ["Subject: hi", "", "..leading dot", "CRLF next", "end"] {
        assert_eq!(say(&mut s, line), Event::Continue);
    }
    let Event::Deliver(envelope, message) = say(&mut s, ".") else { panic!("no delivery") };
    assert_eq!(envelope.from, "sender@example.org");
    assert_eq!(envelope.recipients, ["alice@plico.test", "bob@plico.test"]);
    assert_eq!(envelope.declared_size, Some(100));
    assert!(envelope.body_8bit);
    assert_eq!(message, b"Subject: hi\r\n\r\n.leading dot\r\nCRLF next\r\nend\r\n");
    let stored = s.delivered(Ok("m1".into()));
    assert_eq!(stored.code, 250);
    assert!(stored.to_string().contains("m1"));
    // The session is ready for the next message without a new greeting.
    assert_eq!(code(say(&mut s, "MAIL FROM:<>")), 250, "the null sender is allowed (bounces)");
}

#[test]
fn the_ehlo_reply_lists_the_extensions() {
    let mut s = session();
    let Event::Reply(reply) = say(&mut s, "EHLO client.example") else { panic!() };
    let text = reply.to_string();
    assert!(text.starts_with("250-mx.plico.test Hello client.example\r\n"), "{text}");
    for extension in ["250-SIZE 1000\r\n", "250-8BITMIME\r\n", "250-PIPELINING\r\n", "250 ENHANCEDSTATUSCODES\r\n"] {
        assert!(text.contains(extension), "{extension} missing from {text}");
    }
    assert!(!text.contains("STARTTLS"), "no STARTTLS without a certificate");
    let mut tls = Session::new("mx", Limits::default(), true);
    let Event::Reply(reply) = say(&mut tls, "EHLO c") else { panic!() };
    assert!(reply.to_string().contains("250 STARTTLS\r\n"));
    assert!(matches!(say(&mut tls, "STARTTLS"), Event::StartTls(Reply { code: 220, .. })));
    tls.tls_started();
    assert_eq!(code(say(&mut tls, "MAIL FROM:<a@b.c>")), 503, "greet again after STARTTLS");
    let Event::Reply(reply) = say(&mut tls, "EHLO c") else { panic!() };
    assert!(!reply.to_string().contains("STARTTLS"));
}

#[test]
fn commands_out_of_order_are_refused_with_503() {
    let mut s = session();
    assert_eq!(code(say(&mut s, "MAIL FROM:<a@b.c>")), 503);
    let mut s = greeted();
    assert_eq!(code(say(&mut s, "RCPT TO:<alice@plico.test>")), 503);
    assert_eq!(code(say(&mut s, "DATA")), 503);
    assert_eq!(code(say(&mut s, "MAIL FROM:<a@b.c>")), 250);
    assert_eq!(code(say(&mut s, "MAIL FROM:<a@b.c>")), 503, "nested MAIL");
    assert_eq!(code(say(&mut s, "DATA")), 554, "no valid recipients");
    assert_eq!(code(say(&mut s, "RSET")), 250);
    assert_eq!(code(say(&mut s, "RCPT TO:<alice@plico.test>")), 503, "RSET ended the transaction");
}

#[test]
fn unknown_users_get_550_and_there_is_no_relaying() {
    let mut s = greeted();
    assert_eq!(code(say(&mut s, "MAIL FROM:<a@b.c>")), 250);
    let Event::Reply(unknown) = say(&mut s, "RCPT TO:<zed@plico.test>") else { panic!() };
    assert_eq!(unknown.code, 550);
    assert!(unknown.to_string().contains("5.1.1"), "{unknown}");
    let Event::Reply(relay) = say(&mut s, "RCPT TO:<someone@elsewhere.example>") else { panic!() };
    assert_eq!(relay.code, 550);
    assert!(relay.to_string().contains("does not relay"), "{relay}");
    assert_eq!(code(say(&mut s, "DATA")), 554);
}

#[test]
fn size_limits_give_552_declared_or_not() {
    let mut s = greeted();
    assert_eq!(code(say(&mut s, "MAIL FROM:<a@b.c> SIZE=5000")), 552);
    assert_eq!(code(say(&mut s, "MAIL FROM:<a@b.c>")), 250);
    assert_eq!(code(say(&mut s, "RCPT TO:<alice@plico.test>")), 250);
    assert_eq!(code(say(&mut s, "DATA")), 354);
    let long = "x".repeat(300);
    for _ in 0..5 {
        assert_eq!(say(&mut s, &long), Event::Continue);
    }
    assert_eq!(code(say(&mut s, ".")), 552);
    assert_eq!(code(say(&mut s, "MAIL FROM:<a@b.c>")), 250, "the session goes on after a refusal");
}

#[test]
fn recipient_limit_gives_452() {
    let mut s = greeted();
    assert_eq!(code(say(&mut s, "MAIL FROM:<a@b.c>")), 250);
    for name in ["a1", "a2", "a3"] {
        assert_eq!(code(say(&mut s, &format!("RCPT TO:<{name}@plico.test>"))), 250);
    }
    assert_eq!(code(say(&mut s, "RCPT TO:<a4@plico.test>")), 452);
}

#[test]
fn bad_syntax_gets_501_or_555_and_names_the_problem() {
    let mut s = greeted();
    for (line, expected) in [
        ("MAIL FROM:a@b.c", 501),
        ("MAIL FROM:<not an address>", 501),
        ("MAIL FROM:<a@b.c> SIZE=lots", 501),
        ("MAIL FROM:<a@b.c> BODY=BINARYMIME", 501),
        ("MAIL FROM:<a@b.c> XYZ=1", 555),
        ("MAIL TO:<a@b.c>", 501),
        ("EHLO", 501),
    ] {
        let Event::Reply(reply) = say(&mut s, line) else { panic!("{line}") };
        assert_eq!(reply.code, expected, "{line}: {reply}");
        assert!(reply.lines[0].len() > 10, "{line}: the reply says what is wrong: {reply}");
    }
}

#[test]
fn long_lines_unknown_commands_and_too_many_errors_close_the_session() {
    let mut s = Session::new("mx", Limits { max_errors: 3, ..Limits::default() }, false);
    assert_eq!(s.line(&[b'A'; 100]), Event::Continue, "a piece of an over-long line waits for its end");
    assert_eq!(code(s.line(b"AAAA\r\n")), 500);
    assert_eq!(code(say(&mut s, "FROB")), 500);
    assert!(matches!(say(&mut s, "XYZZY"), Event::Close(Reply { code: 421, .. })));
}

#[test]
fn quit_noop_vrfy_and_help() {
    let mut s = session();
    assert_eq!(code(say(&mut s, "NOOP")), 250);
    assert_eq!(code(say(&mut s, "VRFY alice")), 252, "no address probing");
    assert_eq!(code(say(&mut s, "HELP")), 214);
    assert_eq!(code(say(&mut s, "AUTH PLAIN")), 502);
    assert!(matches!(say(&mut s, "quit"), Event::Close(Reply { code: 221, .. })));
}

#[test]
fn a_refused_delivery_passes_the_callers_reply_through() {
    let mut s = greeted();
    say(&mut s, "MAIL FROM:<a@b.c>");
    say(&mut s, "RCPT TO:<alice@plico.test>");
    say(&mut s, "DATA");
    say(&mut s, "hello");
    assert!(matches!(say(&mut s, "."), Event::Deliver(..)));
    let reply = s.delivered(Err(Reply::new(451, "4.3.0 Storage is unavailable, try again")));
    assert_eq!(reply.code, 451);
    assert_eq!(reply.to_string(), "451 4.3.0 Storage is unavailable, try again\r\n");
}

#[test]
fn replies_never_carry_line_breaks_from_their_text() {
    let reply = Reply::new(550, "5.1.1 <evil\r\n250 ok@x>");
    assert_eq!(reply.to_string(), "550 5.1.1 <evil  250 ok@x>\r\n");
}

/// Any bytes, in any order, never panic and never make the session reply 250 to DATA's end
/// without the caller's word.
#[test]
fn arbitrary_input_never_panics() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces: [&[u8]; 12] = [
        b"EHLO x\r\n",
        b"MAIL FROM:<a@b.c>\r\n",
        b"RCPT TO:<a@plico.test>\r\n",
        b"DATA\r\n",
        b".\r\n",
        b"..\r\n",
        b"RSET\r\n",
        b"\xff\xfe\r\n",
        b"MAIL FROM:<\r\n",
        b"RCPT TO:<@a,@b:x@y>\r\n",
        b"STARTTLS\r\n",
        b"xxxxxxxx",
    ];
    for _ in 0..2000 {
        let mut s = session();
        for _ in 0..40 {
            let piece = pieces[(next() % pieces.len() as u64) as usize];
            match s.line(piece) {
                Event::CheckRecipient(_) => {
                    s.recipient_checked(Recipient::Accept);
                }
                Event::Deliver(_, _) => {
                    s.delivered(Ok("x".into()));
                }
                Event::Reply(reply) => assert_ne!(reply.code, 0),
                _ => {}
            }
        }
    }
}

/// Issue 20, item 11 (SMTP smuggling): only CRLF.CRLF ends DATA, and a message with a bare LF or
/// a bare CR is refused whole, as Postfix does since its fix; what a smuggler put after a bare
/// "<LF>.<CR><LF>" is never read as commands.
#[test]
fn only_crlf_dot_crlf_ends_data_and_bare_line_ends_are_refused() {
    for (smuggled, what) in [
        (&b"Subject: one\r\n\r\nbody\n.\r\n"[..], "bare LF before the dot"),
        (b"Subject: one\r\n\r\nbody\r\n.\n", "bare LF after the dot"),
        (b"Subject: one\r\n\r\nbody\r.\r\n", "bare CR before the dot"),
    ] {
        let mut s = greeted();
        assert_eq!(code(say(&mut s, "MAIL FROM:<smuggler@example.org>")), 250);
        assert_eq!(code(say(&mut s, "RCPT TO:<alice@plico.test>")), 250);
        assert_eq!(code(say(&mut s, "DATA")), 354);
        let mut events = Vec::new();
        for line in smuggled.split_inclusive(|&b| b == b'\n') {
            events.push(s.line(line));
        }
        // The smuggled second message: still data, not commands.
        for line in ["MAIL FROM:<ceo@bank.example>", "RCPT TO:<bob@plico.test>", "DATA", "Subject: forged"] {
            events.push(say(&mut s, line));
        }
        assert!(events.iter().all(|event| *event == Event::Continue), "{what}: {events:?}");
        assert!(s.reading_data(), "{what}: DATA did not end");
        let end = say(&mut s, ".");
        assert_eq!(code(end.clone()), 554, "{what}: {end:?}");
        let Event::Reply(reply) = end else { panic!("{what}") };
        assert!(reply.to_string().contains("bare"), "{reply}");
        assert!(!s.reading_data());
        assert_eq!(code(say(&mut s, "MAIL FROM:<next@example.org>")), 250, "the session goes on");
    }
    // A CRLF split across two pieces of an over-long line is no bare CR.
    let mut s = greeted();
    assert_eq!(code(say(&mut s, "MAIL FROM:<a@example.org>")), 250);
    assert_eq!(code(say(&mut s, "RCPT TO:<alice@plico.test>")), 250);
    assert_eq!(code(say(&mut s, "DATA")), 354);
    assert_eq!(s.line(b"Subject: split\r"), Event::Continue);
    assert_eq!(s.line(b"\n"), Event::Continue);
    let Event::Deliver(_, message) = say(&mut s, ".") else { panic!("no delivery") };
    assert_eq!(message, b"Subject: split\r\n");
}
