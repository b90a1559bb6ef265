//! The folder a step 06 program serves during a check (`-r ROOT`), made fresh for
//! each check, and a secret file beside it, outside the root, that no answer may
//! ever carry.
//!
//! ```text
//! SCRATCH/secret.txt          outside the root: "..", however spelt, must not reach it
//! SCRATCH/root/index.html     GET /
//! SCRATCH/root/notes.txt      text, larger than one read() or send()
//! SCRATCH/root/style.css
//! SCRATCH/root/logo.png       a real PNG: a NUL byte at offset 8
//! SCRATCH/root/sub/index.html GET /sub/
//! SCRATCH/root/files/         no index.html: a listing (beyond the slides)
//! SCRATCH/root/with space.txt GET /with%20space.txt (beyond the slides)
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use crate::lab::check::Failure;
use crate::lab::scratch::Scratch;

/// A 1×1 PNG: signature, IHDR, IDAT, IEND. Its ninth byte is 0, so a server that
/// treats the file as a C string (strlen, printf "%s") sends 8 bytes of it.
pub const LOGO_PNG: [u8; 68] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00,
    0x00, 0x05, 0x00, 0x01, 0x7a, 0x5e, 0xab, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

/// The root's index page.
pub const INDEX_HTML: &str = "<!DOCTYPE html>\n<html><head><title>step 06</title>\
<link rel=\"stylesheet\" href=\"style.css\"></head>\n<body><h1>It works</h1>\
<img src=\"logo.png\" alt=\"logo\"><p><a href=\"sub/\">sub/</a></p></body></html>\n";

/// The subfolder's index page: not the root's, so a server that always sends the
/// root's index is told apart.
pub const SUB_INDEX_HTML: &str =
    "<!DOCTYPE html>\n<html><head><title>sub</title></head><body><p>the sub folder</p></body></html>\n";

/// The style sheet.
pub const STYLE_CSS: &str = "body { font-family: sans-serif; }\nh1 { color: #333; }\n";

/// The secret's first line: no answer may contain it.
pub const SECRET_MARK: &str = "SECRET outside the root";

/// A fresh root, removed with its scratch folder when dropped.
pub struct Root {
    scratch: Scratch,
    dir: PathBuf,
}

impl Root {
    /// Make the folder and its files.
    pub fn new() -> Result<Root, Failure> {
        let scratch = Scratch::new("root").map_err(broken)?;
        let dir = scratch.path().join("root");
        fill(scratch.path(), &dir).map_err(broken)?;
        Ok(Root { scratch, dir })
    }

    /// The folder given with `-r`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `-r` and the folder, as the C original takes them.
    pub fn args(&self) -> [String; 2] {
        ["-r".to_string(), self.dir().to_string_lossy().into_owned()]
    }

    /// The secret file's path (outside the root).
    pub fn secret(&self) -> PathBuf {
        self.scratch.path().join("secret.txt")
    }
}

/// The text file: numbered lines, 150 000 bytes or so, so that reading it takes
/// several `read()` calls of 64 KiB and sending it several `send()`s.
pub fn notes_txt() -> Vec<u8> {
    let mut text = String::new();
    for n in 1..=3000 {
        text.push_str(&format!(
            "line {n:04}: the file is sent as it is, byte for byte.\n"
        ));
    }
    text.into_bytes()
}

fn fill(scratch: &Path, dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir.join("sub"))?;
    fs::create_dir_all(dir.join("files"))?;
    fs::write(
        scratch.join("secret.txt"),
        format!("{SECRET_MARK}: a file the server must never send\n"),
    )?;
    fs::write(dir.join("index.html"), INDEX_HTML)?;
    fs::write(dir.join("notes.txt"), notes_txt())?;
    fs::write(dir.join("style.css"), STYLE_CSS)?;
    fs::write(dir.join("logo.png"), LOGO_PNG)?;
    fs::write(dir.join("sub/index.html"), SUB_INDEX_HTML)?;
    fs::write(dir.join("files/a.txt"), "a\n")?;
    fs::write(dir.join("files/b.txt"), "b\n")?;
    fs::write(dir.join("with space.txt"), "a name with a space\n")?;
    Ok(())
}

/// A root that cannot be made is this machine's trouble, not the program's.
fn broken(e: std::io::Error) -> Failure {
    Failure::new(
        "nothing yet",
        "a folder for the server to serve",
        format!("it could not be made: {e}"),
        "the temporary folder is not writable or full; free some space and try again",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_has_a_nul_byte_where_strlen_stops() {
        assert_eq!(&LOGO_PNG[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(LOGO_PNG.iter().position(|&b| b == 0), Some(8));
        assert!(notes_txt().len() > 2 * 65536);
    }

    #[test]
    fn the_secret_is_outside_the_root() {
        let root = Root::new().unwrap();
        assert!(!root.secret().starts_with(root.dir()));
        assert_eq!(
            root.dir().join("../secret.txt").canonicalize().unwrap(),
            root.secret().canonicalize().unwrap()
        );
        assert_eq!(fs::read(root.dir().join("logo.png")).unwrap(), LOGO_PNG);
    }
}
