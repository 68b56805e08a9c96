//! The formats of "export everything" and of mail import, as pure functions over bytes, so that
//! the worker can stream an archive of any size in pieces: a ZIP writer (stored entries, ZIP64
//! when sizes or counts need it, entries of known size or streamed with a data descriptor), and
//! mbox in the mboxrd variant (written and read back; `From ` lines quoted with `>`).
//!
//! Nothing here holds more than one piece: each call returns the bytes to append, and the
//! writer keeps only the central directory's entries.

/// One entry, as the central directory needs it.
struct Entry {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
    streamed: bool,
}

/// A ZIP archive written front to back.
#[derive(Default)]
pub struct ZipWriter {
    entries: Vec<Entry>,
    offset: u64,
    /// The entry being streamed: its CRC so far and its size.
    open: Option<(Crc32, u64)>,
}

/// CRC-32 (IEEE 802.3, as ZIP uses it), a byte at a time from a 1 KB table made at compile
/// time. crc32fast's sixteen tables cost the crypto worker more download than their speed is
/// worth here, where decrypting each message is the slow part.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// A running CRC-32.
#[derive(Debug, Clone, Copy)]
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    pub fn new() -> Self {
        Self(!0)
    }

    pub fn update(&mut self, data: &[u8]) {
        let mut c = self.0;
        for &byte in data {
            c = CRC_TABLE[((c ^ u32::from(byte)) & 0xff) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }

    pub fn finalize(self) -> u32 {
        !self.0
    }
}

/// The CRC-32 of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(data);
    crc.finalize()
}

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const DESCRIPTOR: u32 = 0x0807_4b50;
const END: u32 = 0x0605_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
/// Version 4.5: ZIP64. Flags: bit 3 (sizes in a data descriptor), bit 11 (UTF-8 names).
const VERSION: u16 = 45;
const UTF8: u16 = 1 << 11;
const DATA_DESCRIPTOR: u16 = 1 << 3;
/// 1980-01-01 00:00 in DOS time: the archive's own dates are not kept (the messages carry theirs).
const DOS_DATE: u16 = (1 << 5) | 1;

fn u16le(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}
fn u32le(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}
fn u64le(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// A ZIP64 extra field with the given 8-byte values.
fn zip64_extra(values: &[u64]) -> Vec<u8> {
    let mut extra = Vec::with_capacity(4 + 8 * values.len());
    u16le(&mut extra, 0x0001);
    u16le(&mut extra, (8 * values.len()) as u16);
    for value in values {
        u64le(&mut extra, *value);
    }
    extra
}

/// A name safe to unpack anywhere: `/`-separated, no empty, `.` or `..` parts, no control
/// characters, no backslashes or drive letters.
pub fn safe_name(name: &str) -> String {
    name.split('/')
        .map(|part| {
            part.chars().map(|c| if c.is_control() || "\\:*?\"<>|".contains(c) { '_' } else { c }).collect::<String>()
        })
        .map(|part| part.trim().trim_matches('.').to_owned())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

impl ZipWriter {
    pub fn new() -> Self {
        Self::default()
    }

    fn local_header(&mut self, name: &str, crc: u32, size: u64, streamed: bool) -> Vec<u8> {
        let name = safe_name(name);
        let mut out = Vec::with_capacity(30 + name.len() + 20);
        u32le(&mut out, LOCAL);
        u16le(&mut out, VERSION);
        u16le(&mut out, UTF8 | if streamed { DATA_DESCRIPTOR } else { 0 });
        u16le(&mut out, 0); // stored
        u16le(&mut out, 0);
        u16le(&mut out, DOS_DATE);
        // Sizes always go in the ZIP64 extra field, so an entry's header never depends on
        // whether it grows past 4 GiB.
        u32le(&mut out, if streamed { 0 } else { crc });
        u32le(&mut out, u32::MAX);
        u32le(&mut out, u32::MAX);
        u16le(&mut out, name.len() as u16);
        let extra = zip64_extra(&[if streamed { 0 } else { size }, if streamed { 0 } else { size }]);
        u16le(&mut out, extra.len() as u16);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&extra);
        self.entries.push(Entry { name, crc, size, offset: self.offset, streamed });
        self.offset += out.len() as u64;
        out
    }

    /// An entry whose bytes are all known: its header, then `data` (the caller appends `data`
    /// itself after the header when it holds it elsewhere, as a browser Blob).
    pub fn entry_header(&mut self, name: &str, data_crc: u32, data_len: u64) -> Vec<u8> {
        let header = self.local_header(name, data_crc, data_len, false);
        self.offset += data_len;
        header
    }

    /// The header and bytes of a whole entry.
    pub fn entry(&mut self, name: &str, data: &[u8]) -> Vec<u8> {
        let mut out = self.entry_header(name, crc32(data), data.len() as u64);
        out.extend_from_slice(data);
        out
    }

    /// Starts an entry whose size is not known yet; [`ZipWriter::stream`] its bytes, then
    /// [`ZipWriter::end_streamed`].
    pub fn begin_streamed(&mut self, name: &str) -> Vec<u8> {
        assert!(self.open.is_none(), "one streamed entry at a time");
        let header = self.local_header(name, 0, 0, true);
        self.open = Some((Crc32::new(), 0));
        header
    }

    /// Counts a piece of the streamed entry (the caller appends `chunk` itself).
    pub fn stream(&mut self, chunk: &[u8]) {
        if let Some((hasher, size)) = &mut self.open {
            hasher.update(chunk);
            *size += chunk.len() as u64;
            self.offset += chunk.len() as u64;
        }
    }

    /// Ends the streamed entry: its data descriptor.
    pub fn end_streamed(&mut self) -> Vec<u8> {
        let Some((hasher, size)) = self.open.take() else { return Vec::new() };
        let crc = hasher.finalize();
        if let Some(entry) = self.entries.last_mut() {
            entry.crc = crc;
            entry.size = size;
        }
        let mut out = Vec::with_capacity(24);
        u32le(&mut out, DESCRIPTOR);
        u32le(&mut out, crc);
        u64le(&mut out, size);
        u64le(&mut out, size);
        self.offset += out.len() as u64;
        out
    }

    /// The central directory and the end records (ZIP64 always: counts and offsets of any size).
    pub fn finish(mut self) -> Vec<u8> {
        if self.open.is_some() {
            let tail = self.end_streamed();
            let mut out = tail;
            out.extend(self.finish());
            return out;
        }
        let start = self.offset;
        let mut out = Vec::new();
        for entry in &self.entries {
            u32le(&mut out, CENTRAL);
            u16le(&mut out, VERSION);
            u16le(&mut out, VERSION);
            u16le(&mut out, UTF8 | if entry.streamed { DATA_DESCRIPTOR } else { 0 });
            u16le(&mut out, 0);
            u16le(&mut out, 0);
            u16le(&mut out, DOS_DATE);
            u32le(&mut out, entry.crc);
            u32le(&mut out, u32::MAX);
            u32le(&mut out, u32::MAX);
            u16le(&mut out, entry.name.len() as u16);
            let extra = zip64_extra(&[entry.size, entry.size, entry.offset]);
            u16le(&mut out, extra.len() as u16);
            u16le(&mut out, 0); // comment
            u16le(&mut out, 0); // disk
            u16le(&mut out, 0); // internal attributes
            u32le(&mut out, 0); // external attributes
            u32le(&mut out, u32::MAX); // offset, in the extra field
            out.extend_from_slice(entry.name.as_bytes());
            out.extend_from_slice(&extra);
        }
        let directory = out.len() as u64;
        let zip64_end = start + directory;
        let count = self.entries.len() as u64;
        u32le(&mut out, ZIP64_END);
        u64le(&mut out, 44);
        u16le(&mut out, VERSION);
        u16le(&mut out, VERSION);
        u32le(&mut out, 0);
        u32le(&mut out, 0);
        u64le(&mut out, count);
        u64le(&mut out, count);
        u64le(&mut out, directory);
        u64le(&mut out, start);
        u32le(&mut out, ZIP64_LOCATOR);
        u32le(&mut out, 0);
        u64le(&mut out, zip64_end);
        u32le(&mut out, 1);
        u32le(&mut out, END);
        u16le(&mut out, 0);
        u16le(&mut out, 0);
        u16le(&mut out, count.min(0xffff) as u16);
        u16le(&mut out, count.min(0xffff) as u16);
        u32le(&mut out, directory.min(u64::from(u32::MAX)) as u32);
        u32le(&mut out, start.min(u64::from(u32::MAX)) as u32);
        u16le(&mut out, 0);
        self.offset += out.len() as u64;
        out
    }
}

/// One message as an mboxrd record: a `From ` separator line, the message with every line that
/// starts with `>*From ` quoted once more, and a blank line. Line ends become LF.
pub fn mbox_record(envelope_sender: &str, date: &str, message: &[u8]) -> Vec<u8> {
    let sender = if envelope_sender.is_empty() || envelope_sender.contains(char::is_whitespace) {
        "MAILER-DAEMON"
    } else {
        envelope_sender
    };
    let mut out = Vec::with_capacity(message.len() + 64);
    out.extend_from_slice(format!("From {sender} {date}\n").as_bytes());
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        if line[quotes..].starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    if !out.ends_with(b"\n\n") {
        out.push(b'\n');
    }
    out
}

/// One message read from an mbox: its bytes, or why it cannot be imported. `number` counts the
/// file's messages from 1 (0: text before the first message), and `line` is where it starts
/// (1-based), for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxRecord {
    pub number: usize,
    pub line: usize,
    pub message: Result<Vec<u8>, String>,
}

/// The message being read.
struct Current {
    number: usize,
    line: usize,
    bytes: Vec<u8>,
    /// Blank lines held back: a message's trailing blank lines belong to the separator.
    blanks: usize,
    too_large: bool,
}

/// Reads an mbox in pieces of any size (mboxrd quoting undone, CRLF line ends): push each piece
/// as it is read and take the messages it completed, then [`MboxReader::finish`]. It holds one
/// message and one unfinished line at a time. A message longer than `max_message` bytes is
/// reported and skipped, as is text before the first `From ` line (the file is not an mbox).
pub struct MboxReader {
    max_message: usize,
    /// The unfinished last line of what was pushed.
    partial: Vec<u8>,
    lines: usize,
    messages: usize,
    preamble_reported: bool,
    current: Option<Current>,
}

impl MboxReader {
    pub fn new(max_message: usize) -> Self {
        Self { max_message, partial: Vec::new(), lines: 0, messages: 0, preamble_reported: false, current: None }
    }

    /// Reads `chunk`; returns the messages that ended inside it.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<MboxRecord> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                self.line(&rest[..end], &mut out);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..end]);
                self.line(&line, &mut out);
            }
            rest = &rest[end + 1..];
        }
        // A line longer than a message may be is not kept whole either.
        if self.partial.len() <= self.max_message {
            self.partial.extend_from_slice(rest);
        }
        out
    }

    /// The last message, once everything was pushed.
    pub fn finish(mut self) -> Vec<MboxRecord> {
        let mut out = Vec::new();
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut out);
        }
        self.end_message(&mut out);
        out
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<MboxRecord>) {
        self.lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"From ") {
            self.end_message(out);
            self.messages += 1;
            self.current = Some(Current {
                number: self.messages,
                line: self.lines,
                bytes: Vec::new(),
                blanks: 0,
                too_large: false,
            });
            return;
        }
        let max = self.max_message;
        let Some(Current { bytes: message, blanks, too_large, .. }) = &mut self.current else {
            if !line.is_empty() && !self.preamble_reported {
                self.preamble_reported = true;
                out.push(MboxRecord {
                    number: 0,
                    line: self.lines,
                    message: Err("The file does not start with a \"From \" line: it is not an mbox file.".into()),
                });
            }
            return;
        };
        if *too_large {
            return;
        }
        if line.is_empty() {
            *blanks += 1;
            return;
        }
        for _ in 0..std::mem::take(blanks) {
            message.extend_from_slice(b"\r\n");
        }
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        let unquoted = if quotes > 0 && line[quotes..].starts_with(b"From ") { &line[1..] } else { line };
        message.extend_from_slice(unquoted);
        message.extend_from_slice(b"\r\n");
        if message.len() > max {
            *too_large = true;
            *message = Vec::new();
        }
    }

    fn end_message(&mut self, out: &mut Vec<MboxRecord>) {
        let Some(Current { number, line, bytes: message, too_large, .. }) = self.current.take() else { return };
        let has_header = plico_mime::starts_with_header_field(&message);
        let message = if too_large {
            Err(format!("The message starting at line {line} is larger than {} MB.", self.max_message / 1_000_000))
        } else if has_header {
            Ok(message)
        } else {
            Err(format!("The message starting at line {line} has no header section."))
        };
        out.push(MboxRecord { number, line, message });
    }
}

/// Splits a whole mbox into its messages ([`MboxReader`] in one piece).
pub fn split_mbox(bytes: &[u8]) -> Vec<Result<Vec<u8>, String>> {
    let mut reader = MboxReader::new(usize::MAX / 2);
    let mut records = reader.push(bytes);
    records.extend(reader.finish());
    records.into_iter().map(|record| record.message).collect()
}

/// `time` (Unix seconds, UTC) as the date of an mbox `From ` line: `Thu Dec  3 12:00:00 2026`.
pub fn asctime(time: i64) -> String {
    let (year, month, day) = civil_date(time);
    let seconds = time.rem_euclid(86_400);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{} {} {day:>2} {:02}:{:02}:{:02} {year}",
        DAYS[time.div_euclid(86_400).rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The UTC calendar date (year, month 1-12, day 1-31) of `time`, Unix seconds (Howard
/// Hinnant's civil-from-days).
pub fn civil_date(time: i64) -> (i64, i64, i64) {
    let z = time.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_climb_out_of_the_archive() {
        assert_eq!(safe_name("../../etc/passwd"), "etc/passwd");
        assert_eq!(safe_name("mail/Inbox/a\\b:c.eml"), "mail/Inbox/a_b_c.eml");
        assert_eq!(safe_name("/abs//x/./y"), "abs/x/y");
    }

    #[test]
    fn mboxrd_quotes_from_lines_and_reads_back_the_same() {
        let message = b"From: a@example.org\r\nSubject: hi\r\n\r\nFrom here on\r\n>From quoted\r\nend\r\n";
        let record = mbox_record("a@example.org", "Thu Dec  3 12:00:00 2026", message);
        let text = String::from_utf8_lossy(&record);
        assert!(text.contains("\n>From here on\n>>From quoted\n"), "{text}");
        let mut mbox = record.clone();
        mbox.extend(mbox_record("", "Thu Dec  3 12:00:00 2026", b"Subject: two\r\n\r\nbody\r\n"));
        let back = split_mbox(&mbox);
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].as_deref(), Ok(&message[..]));
        assert_eq!(back[1].as_deref(), Ok(&b"Subject: two\r\n\r\nbody\r\n"[..]));
    }

    #[test]
    fn malformed_mbox_input_gives_a_report_not_a_crash() {
        let reports = split_mbox(b"garbage first\nFrom x Thu\nno header here\n\nFrom y Thu\nSubject: ok\n\nfine\n");
        assert!(reports[0].as_ref().is_err_and(|why| why.contains("not an mbox file")));
        assert!(reports[1].as_ref().is_err_and(|why| why.contains("line 2")));
        assert!(reports[2].is_ok());
        assert!(split_mbox(b"").is_empty());
        for bytes in [&b"\xff\xfe\x00From "[..], b"From ", b"From \n\n\n", b">From x\n"] {
            let _ = split_mbox(bytes);
        }
    }

    #[test]
    fn the_reader_gives_the_same_messages_whatever_the_pieces() {
        let mut mbox = Vec::new();
        for n in 0..20 {
            let body = format!("Subject: {n}\r\n\r\nFrom the start\r\nline {n}\r\n\r\n\r\nafter blanks\r\n");
            mbox.extend(mbox_record("a@example.org", "Thu Dec  3 12:00:00 2026", body.as_bytes()));
        }
        let whole = split_mbox(&mbox);
        assert_eq!(whole.len(), 20);
        assert!(whole.iter().all(Result::is_ok));
        assert!(
            String::from_utf8_lossy(whole[3].as_ref().expect("a message")).contains("line 3\r\n\r\n\r\nafter blanks")
        );
        for piece in [1, 2, 7, 64, 1000] {
            let mut reader = MboxReader::new(1 << 20);
            let mut records = Vec::new();
            for chunk in mbox.chunks(piece) {
                records.extend(reader.push(chunk));
            }
            records.extend(reader.finish());
            let messages: Vec<_> = records.into_iter().map(|record| record.message).collect();
            assert_eq!(messages, whole, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn a_message_over_the_limit_is_reported_and_the_next_one_still_read() {
        let mut mbox = mbox_record(
            "a@b",
            "Thu Dec  3 12:00:00 2026",
            &[b"Subject: big\r\n\r\n".as_slice(), &[b'x'; 5000]].concat(),
        );
        mbox.extend(mbox_record("a@b", "Thu Dec  3 12:00:00 2026", b"Subject: small\r\n\r\nok\r\n"));
        let mut reader = MboxReader::new(1000);
        let mut records = reader.push(&mbox);
        records.extend(reader.finish());
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].number, records[0].line), (1, 1));
        assert_eq!((records[1].number, records[1].line), (2, 6));
        assert!(records[0].message.as_ref().is_err_and(|why| why.contains("larger than")), "{records:?}");
        assert_eq!(records[1].message.as_deref(), Ok(&b"Subject: small\r\n\r\nok\r\n"[..]));
    }

    #[test]
    fn crc32_is_zips() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        let mut running = Crc32::new();
        running.update(b"1234");
        running.update(b"56789");
        assert_eq!(running.finalize(), 0xCBF4_3926);
    }

    #[test]
    fn asctime_dates() {
        assert_eq!(asctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(asctime(1_796_299_200), "Thu Dec  3 12:00:00 2026");
        assert_eq!(asctime(951_782_400), "Tue Feb 29 00:00:00 2000");
    }
}
