//! powermetrics captures: the `-f plist` stream (split by `PlistStream`, read by
//! `parse_document`) and the default text output (`import_text`). Damage must be reported at
//! a byte offset (plist) or line (text) inside the input.

use bench::power::powermetrics::{import_plist, import_text, PlistStream};
use bench::power::{Imported, Position, PowerError};

use crate::corpus;
use crate::engine::{pieces, Target, Verdict};

/// Plist syntax: the elements powermetrics writes and those it could (dates, data, nesting).
const PLIST_TOKENS: &[&str] = &[
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n",
    "<plist version=\"1.0\">", "</plist>", "</plist>\n\0", "<dict>", "</dict>", "<array>",
    "</array>", "<key>elapsed_ns</key>", "<key>processor</key>", "<key>clusters</key>",
    "<key>gpu</key>", "<key>freq_hz</key>", "<key>cpu_power</key>", "<key>gpu_energy</key>",
    "<key>timestamp</key>", "<integer>", "</integer>", "<real>", "</real>", "<string>",
    "</string>", "<date>", "</date>", "<date>2023-04-01T13:18:36Z</date>", "<data>AAAA</data>",
    "<true/>", "<false/>", "<integer>-9223372036854775808</integer>",
    "<integer>18446744073709551615</integer>", "<real>1e308</real>", "<real>nan</real>",
    "&amp;", "&lt;", "&#0;", "&#x10FFFF;", "&bogus;", "<![CDATA[x]]>", "<!-- c -->",
    "<dict><key>a</key>",
];

/// Text-log lines of every generation powermetrics has had.
const TEXT_TOKENS: &[&str] = &[
    "*** Sampled system activity (Sat Nov  8 15:54:21 2025 +0900) (5021.96ms elapsed) ***\n",
    "*** Sampled system activity (Wed Jan  1 00:00:00 2020 -0000) (nanms elapsed) ***\n",
    "*** Sampled system activity (",
    "ms elapsed) ***",
    "(-1ms elapsed)",
    "(1e400ms elapsed)",
    "CPU Power: ",
    "GPU Power: ",
    "ANE Power: ",
    "Combined Power (CPU + GPU + ANE): ",
    "Package Power: ",
    "DRAM Power: ",
    "E-Cluster Power: ",
    "P0-Cluster HW active frequency: ",
    "GPU HW active frequency: ",
    "Current pressure level: ",
    "Battery: percent_charge: ",
    "Intel energy model derived package power (CPUs+GT+SA): ",
    " mW\n",
    " W\n",
    " MHz\n",
    "mW",
];

/// The error of an import must be malformed input at a position inside the input.
fn located(imported: &Imported, len: usize, lines: usize) -> Verdict {
    match &imported.error {
        None => Ok(()),
        Some(PowerError::Malformed { position, .. }) => match *position {
            Position::Byte(b) if b <= len as u64 => Ok(()),
            Position::Line(l) if (1..=lines).contains(&l) => Ok(()),
            other => Err(format!(
                "position {other} outside the input ({len} bytes, {lines} lines)"
            )),
        },
        Some(other) => Err(format!("not a malformed-input error: {other}")),
    }
}

/// Every sample a reader returns must have a window and a time that are numbers.
fn sane(imported: &Imported) -> Verdict {
    for s in &imported.samples {
        if !(s.window_s.is_finite() && s.window_s > 0.0 && s.t_s.is_finite()) {
            return Err(format!("sample with window {} at {}", s.window_s, s.t_s));
        }
    }
    Ok(())
}

fn check_plist(input: &[u8]) -> Verdict {
    let imported = import_plist(input);
    located(&imported, input.len(), 0)?;
    sane(&imported)?;
    // Fed as a pipe delivers it, the stream must cut the same documents at the same offsets.
    let whole = documents(&[input]);
    let split = documents(&pieces(input));
    if whole != split {
        return Err(format!(
            "documents differ when fed in pieces: {:?} whole, {:?} in pieces",
            whole.0.iter().map(|d| d.0).collect::<Vec<_>>(),
            split.0.iter().map(|d| d.0).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

/// The documents a stream cuts from `pieces`, and where `finish` says the rest starts.
type Documents = (Vec<(u64, Vec<u8>)>, Option<String>);

fn documents(pieces: &[&[u8]]) -> Documents {
    let mut stream = PlistStream::new();
    let mut docs = Vec::new();
    for piece in pieces {
        stream.feed(piece);
        while let Some(doc) = stream.next_document() {
            docs.push(doc);
        }
    }
    (docs, stream.finish().err().map(|e| e.to_string()))
}

fn check_text(input: &[u8]) -> Verdict {
    let text = String::from_utf8_lossy(input);
    let imported = import_text(&text);
    located(&imported, 0, text.lines().count())?;
    sane(&imported)
}

#[test]
fn powermetrics_plist() {
    let mut seeds = corpus::apple("plist_", ".xml");
    seeds.extend(corpus::written("powermetrics-plist"));
    Target {
        name: "powermetrics-plist",
        seeds,
        tokens: PLIST_TOKENS,
        cases: 10_000,
        check: check_plist,
    }
    .run();
}

#[test]
fn powermetrics_text() {
    let mut seeds = corpus::apple("text_", ".log");
    seeds.extend(corpus::written("powermetrics-text"));
    Target {
        name: "powermetrics-text",
        seeds,
        tokens: TEXT_TOKENS,
        cases: 30_000,
        check: check_text,
    }
    .run();
}
