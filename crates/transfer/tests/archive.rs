//! The export formats read by another implementation: Python's zipfile checks every entry's
//! CRC and size (ZIP64, streamed entries with data descriptors), and Python's mailbox module
//! reads the mbox back message by message.
#![cfg(not(target_arch = "wasm32"))]

use plico_transfer::archive::{mbox_record, ZipWriter};

const PYTHON: &str = "/usr/bin/python3";

fn messages() -> Vec<Vec<u8>> {
    (0..50)
        .map(|i| {
            format!(
                "From: Sender {i} <s{i}@example.org>\r\nTo: bob@plico.test\r\nSubject: Message {i} élan\r\n\
                 Message-ID: <m{i}@example.org>\r\n\r\nLine one of {i}.\r\nFrom the start of a line.\r\n>From quoted.\r\n\
                 {}\r\n",
                "x".repeat(i * 997 % 5000)
            )
            .into_bytes()
        })
        .collect()
}

#[test]
fn the_archive_and_its_mbox_open_in_python_with_every_message_intact() {
    let dir = tempfile::tempdir().expect("dir");
    let messages = messages();
    let mut zip = ZipWriter::new();
    let mut archive = Vec::new();
    // The mbox streamed as one entry, record by record; then each message as an .eml.
    archive.extend(zip.begin_streamed("mail/Inbox.mbox"));
    for message in &messages {
        let record = mbox_record("s@example.org", "Thu Dec  3 12:00:00 2026", message);
        zip.stream(&record);
        archive.extend(record);
    }
    archive.extend(zip.end_streamed());
    for (i, message) in messages.iter().enumerate() {
        archive.extend(zip.entry(&format!("mail/Inbox/{i:05}.eml"), message));
    }
    archive.extend(zip.entry("keys/public.asc", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n"));
    archive.extend(zip.finish());
    let path = dir.path().join("export.zip");
    std::fs::write(&path, &archive).expect("writes");
    for (i, message) in messages.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i:05}.expected")), message).expect("writes");
    }

    let script = r#"
import mailbox, sys, zipfile, os
d = sys.argv[1]
z = zipfile.ZipFile(os.path.join(d, 'export.zip'))
assert z.testzip() is None, 'a CRC is wrong'
names = z.namelist()
assert len(names) == 52, names[:5]
open(os.path.join(d, 'Inbox.mbox'), 'wb').write(z.read('mail/Inbox.mbox'))
box = mailbox.mbox(os.path.join(d, 'Inbox.mbox'))
msgs = list(box)
assert len(msgs) == 50, len(msgs)
for i, m in enumerate(msgs):
    expected = open(os.path.join(d, '%05d.expected' % i), 'rb').read()
    assert z.read('mail/Inbox/%05d.eml' % i) == expected, i
    body = m.get_payload(decode=True)
    assert b'From the start of a line.' in body and b'>From quoted.' in body, body
    assert m['Message-ID'] == '<m%d@example.org>' % i
print('ok', len(msgs))
"#;
    let output = std::process::Command::new(PYTHON)
        .args(["-c", script, dir.path().to_str().expect("path")])
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "ok 50");
}
