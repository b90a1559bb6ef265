//! The HTML page for a directory without `index.html`.
//!
//! A `..` entry (except at the root), then directories, then files, each sorted by
//! name byte-wise. Names are HTML-escaped and shown as valid UTF-8 even when the file
//! name is not (invalid bytes become U+FFFD); links carry the real bytes,
//! percent-encoded, so every entry is reachable. Size in bytes, modification time as
//! `YYYY-MM-DD HH:MM` UTC.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::SystemTime;

use percent_encoding::percent_encode;

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name, as the file system has it.
    pub name: OsString,
    /// A directory (gets a trailing slash)?
    pub is_dir: bool,
    /// Size in bytes.
    pub size: u64,
    /// Last modification.
    pub modified: SystemTime,
}

/// Read `dir`'s entries (hidden ones only with `show_hidden`).
pub fn read_entries(dir: &Path, show_hidden: bool) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.as_bytes().starts_with(b".") && !show_hidden {
            continue;
        }
        // metadata() follows symlinks: a link to a directory lists as a directory.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        entries.push(Entry {
            name,
            is_dir: meta.is_dir(),
            size: meta.len(),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        });
    }
    Ok(entries)
}

/// The page for the directory at URL path `url_path` (decoded, ending in `/`).
pub fn render(url_path: &[u8], mut entries: Vec<Entry>) -> String {
    entries.sort_by(|a, b| {
        b.is_dir
            .cmp(&a.is_dir)
            .then_with(|| a.name.as_bytes().cmp(b.name.as_bytes()))
    });
    let title = escape(&String::from_utf8_lossy(url_path));
    let mut page = format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Index of {title}</title>\n\
         </head>\n<body>\n<h1>Index of {title}</h1>\n<table>\n\
         <tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>\n"
    );
    if url_path != b"/" {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in &entries {
        let slash = if entry.is_dir { "/" } else { "" };
        let link = percent_encode(entry.name.as_bytes(), crate::listing_link_set()).to_string();
        let shown = escape(&String::from_utf8_lossy(entry.name.as_bytes()));
        let size = if entry.is_dir {
            String::new()
        } else {
            entry.size.to_string()
        };
        let t = step04_respond::protocol::utc(entry.modified);
        page.push_str(&format!(
            "<tr><td><a href=\"{link}{slash}\">{shown}{slash}</a></td><td>{size}</td>\
             <td>{:04}-{:02}-{:02} {:02}:{:02}</td></tr>\n",
            t.year, t.month, t.day, t.hour, t.minute
        ));
    }
    page.push_str("</table>\n</body>\n</html>\n");
    page
}

/// HTML-escape text for element content and quoted attributes.
pub fn escape(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;
    use std::time::{Duration, UNIX_EPOCH};

    fn entry(name: &[u8], is_dir: bool) -> Entry {
        Entry {
            name: OsString::from_vec(name.to_vec()),
            is_dir,
            size: 1234,
            modified: UNIX_EPOCH + Duration::from_secs(1_795_471_500),
        }
    }

    #[test]
    fn order_escaping_links_and_dates() {
        let page = render(
            b"/docs/",
            vec![
                entry(b"b.txt", false),
                entry(b"Z-dir", true),
                entry(b"a.txt", false),
                entry(b"<script>.html", false),
                entry(b"caf\xc3\xa9 menu.txt", false),
                entry(b"bad\xff.bin", false),
                entry(b"a-dir", true),
            ],
        );
        let rows: Vec<&str> = page.lines().filter(|l| l.starts_with("<tr><td>")).collect();
        let names: Vec<&str> = rows
            .iter()
            .map(|r| r.split("\">").nth(1).unwrap().split("</a>").next().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "../",
                "Z-dir/",
                "a-dir/",
                "&lt;script&gt;.html",
                "a.txt",
                "b.txt",
                "bad\u{fffd}.bin",
                "café menu.txt"
            ]
        );
        assert!(page.contains("href=\"%3Cscript%3E.html\""));
        assert!(page.contains("href=\"caf%C3%A9%20menu.txt\""));
        assert!(page.contains("href=\"bad%FF.bin\""));
        assert!(page.contains("<td>1234</td><td>2026-11-23 22:05</td>"));
        assert!(!page.contains("<script>"));
    }

    #[test]
    fn no_parent_entry_at_the_root() {
        assert!(!render(b"/", vec![]).contains("../"));
    }
}
