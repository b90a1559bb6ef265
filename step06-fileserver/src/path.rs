//! From a request target to a file under `--root`, and nothing outside it.
//!
//! Order matters, and each step has its reason:
//! 1. percent-decode once (RFC 3986 2.1): `%2e%2e` becomes `..` *before* the checks, so
//!    an encoded `..` is caught like a plain one; `%252e` becomes `%2e`, a harmless
//!    literal name, because decoding twice would let it through. `%00` (a NUL cannot be
//!    in a file name) and a malformed escape are 400.
//! 2. split on `/`, drop empty and `.` segments, refuse `..` outright (404): a server
//!    that tried to resolve `a/../b` itself invites mistakes, and no link needs it.
//! 3. hide dot files and dot directories (`.git/`, `.env`): 404 unless `--show-hidden`.
//! 4. on the file system: open it with `openat2(RESOLVE_BENEATH)`, so the kernel
//!    refuses any symlink that leads out of the root, unless `--follow-symlinks` (for a
//!    root assembled from links). It refuses absolute symlinks too, even those whose
//!    target is inside the root: those are followed and kept if they landed inside.
//!
//! Steps 1–3 are pure ([`decode`], [`segments`]) and tested as a table; step 4 is
//! [`Resolver::locate`].

use std::borrow::Cow;
use std::ffi::{CStr, CString, OsStr};
use std::fs::{File, Metadata, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// How files are opened: read-only, closed on exec; `O_NONBLOCK` so a FIFO in the root
/// cannot block the child at open, `O_NOCTTY` so a terminal never becomes ours.
const READ: i32 = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY;

/// Why a path is refused before the file system is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A malformed escape or `%00`: 400.
    Malformed,
    /// `..`, a hidden name, or not starting with `/`: 404, as if it did not exist.
    NotFound,
}

/// Percent-decode `raw` once. `%00` and a `%` not followed by two hex digits are refused.
/// A path without `%` is itself, borrowed: most requests' paths are not copied (an
/// allocation a request).
pub fn decode(raw: &[u8]) -> Result<Cow<'_, [u8]>, Refused> {
    if !raw.contains(&b'%') {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'%' {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
        match (hex(raw.get(i + 1)), hex(raw.get(i + 2))) {
            (Some(hi), Some(lo)) => {
                let byte = (hi * 16 + lo) as u8;
                if byte == 0 {
                    return Err(Refused::Malformed);
                }
                out.push(byte);
                i += 3;
            }
            _ => return Err(Refused::Malformed),
        }
    }
    Ok(Cow::Owned(out))
}

/// The path's segments under the root, or why it is refused (pure: steps 2 and 3).
pub fn segments(decoded: &[u8], show_hidden: bool) -> Result<Vec<&[u8]>, Refused> {
    if !decoded.starts_with(b"/") {
        return Err(Refused::NotFound);
    }
    let mut out = Vec::new();
    for segment in decoded.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => continue,
            b".." => return Err(Refused::NotFound),
            s if s.starts_with(b".") && !show_hidden => return Err(Refused::NotFound),
            s => out.push(s),
        }
    }
    Ok(out)
}

/// What a path names on disk.
#[derive(Debug)]
pub enum Found {
    /// A regular file, opened, with its metadata (from the open descriptor, so the two
    /// cannot disagree).
    File(File, Metadata),
    /// A directory: its path, for the listing.
    Directory(PathBuf),
    /// Nothing we will serve: 404.
    Missing,
    /// There, but not readable by the server: 403.
    Denied,
}

/// The document root and the rules about links.
#[derive(Debug)]
pub struct Resolver {
    root: PathBuf,
    root_fd: OwnedFd,
    follow_symlinks: bool,
    show_hidden: bool,
}

impl Resolver {
    /// `root` must exist; it is made absolute once, here, and opened: every lookup is
    /// relative to this descriptor.
    pub fn new(root: &Path, follow_symlinks: bool, show_hidden: bool) -> std::io::Result<Resolver> {
        let root = std::fs::canonicalize(root)?;
        let root_fd = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&root)?
            .into();
        Ok(Resolver {
            root,
            root_fd,
            follow_symlinks,
            show_hidden,
        })
    }

    /// The root, absolute.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether dot files are shown.
    pub fn show_hidden(&self) -> bool {
        self.show_hidden
    }

    /// Step 4: open the segments under the root with `openat2(2)`.
    ///
    /// `RESOLVE_BENEATH` makes the kernel itself refuse any resolution that would leave
    /// the root (a `..`, an absolute symlink, a symlink whose target lies outside), with
    /// `EXDEV`. The check and the open are one system call: a symlink swapped in between
    /// a check and an open (a classic race) cannot happen. `--follow-symlinks` drops the
    /// restriction (the segments never hold `..`). `O_NONBLOCK` keeps a FIFO in the
    /// root from blocking the child at open; only regular files and directories pass.
    pub fn locate(&self, segments: &[&[u8]]) -> Found {
        // "a/b/c", with exactly the room CString needs for its NUL: any less or more and
        // it reallocates (a realloc a request; each segment counts its '/' or the NUL).
        let room = segments.iter().map(|s| s.len() + 1).sum::<usize>().max(2);
        let mut relative = Vec::with_capacity(room);
        if segments.is_empty() {
            relative.push(b'.');
        }
        for segment in segments {
            if !relative.is_empty() {
                relative.push(b'/');
            }
            relative.extend_from_slice(segment);
        }
        let Ok(c_path) = CString::new(relative) else {
            return Found::Missing;
        };
        let fd = match self.open_beneath(&c_path) {
            Ok(fd) => fd,
            Err(errno) if errno == libc::EXDEV && !self.follow_symlinks => {
                // RESOLVE_BENEATH refuses every absolute symlink, even one whose target
                // lies inside the root: follow it, then keep it only if it landed inside.
                match self.open_followed_inside(&c_path) {
                    Some(fd) => fd,
                    None => return Found::Missing,
                }
            }
            Err(errno) if errno == libc::EACCES => return Found::Denied,
            Err(_) => return Found::Missing,
        };
        let file = File::from(fd);
        let Ok(meta) = file.metadata() else {
            return Found::Missing;
        };
        if meta.is_dir() {
            Found::Directory(self.root.join(OsStr::from_bytes(c_path.as_bytes())))
        } else if meta.is_file() {
            Found::File(file, meta)
        } else {
            // Devices, sockets, FIFOs: nothing to serve.
            Found::Missing
        }
    }

    /// Open the root itself the way `locate` opens files: `openat2` needs Linux 5.6.
    /// Without it every request would quietly be a 404, so the server asks once, at
    /// start, and stops with `openat2: Function not implemented` instead.
    ///
    /// # Errors
    ///
    /// `openat2`: `ENOSYS` (an older kernel, or a sandbox that filters the call).
    pub fn probe(&self) -> Result<(), common::CallError> {
        self.open_beneath(c".")
            .map(drop)
            .map_err(|errno| common::CallError::from_errno("openat2", errno))
    }

    /// A path that left the root on the way (an absolute symlink, or a link through
    /// `..`): where do its links lead? It is located with `O_PATH` (which opens
    /// nothing: no device is touched), its real path read from `/proc/self/fd/N`, and
    /// if that lies inside the root, the real path is opened under the root with
    /// `RESOLVE_BENEATH` again, so a link swapped in meanwhile is still refused.
    /// Without `/proc` such links are refused.
    fn open_followed_inside(&self, path: &CStr) -> Option<OwnedFd> {
        if self.root == Path::new("/") {
            // chroot: "/" is the root, and every absolute link resolves inside it.
            return self.open_at(path, READ, libc::RESOLVE_NO_MAGICLINKS).ok();
        }
        let located = self
            .open_at(
                path,
                libc::O_PATH | libc::O_CLOEXEC,
                libc::RESOLVE_NO_MAGICLINKS,
            )
            .ok()?;
        let target = std::fs::read_link(format!("/proc/self/fd/{}", located.as_raw_fd())).ok()?;
        let inside = target.strip_prefix(&self.root).ok()?;
        let inside = if inside.as_os_str().is_empty() {
            c".".to_owned()
        } else {
            CString::new(inside.as_os_str().as_bytes()).ok()?
        };
        self.open_beneath(&inside).ok()
    }

    /// `openat2(root_fd, path, {O_RDONLY…, RESOLVE_BENEATH…})`; the errno on failure.
    fn open_beneath(&self, path: &CStr) -> Result<OwnedFd, i32> {
        let resolve = if self.follow_symlinks {
            0
        } else {
            libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS
        };
        self.open_at(path, READ, resolve)
    }

    /// `openat2(root_fd, path, {flags, resolve})`; the errno on failure.
    fn open_at(&self, path: &CStr, flags: i32, resolve: u64) -> Result<OwnedFd, i32> {
        // SAFETY: open_how is plain old data; all-zero means "no flags", then set below.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = flags as u64;
        how.resolve = resolve;
        let call = common::explain::begin();
        // SAFETY: root_fd is an open directory, path a NUL-terminated string, `how` a
        // valid open_how of the size passed; a returned fd >= 0 is ours alone.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.root_fd.as_raw_fd(),
                path.as_ptr(),
                &how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        let result = if fd < 0 {
            Err(common::CallError::last_os_error("openat2"))
        } else {
            Ok(fd as RawFd)
        };
        call.outcome(
            || {
                format!(
                    "openat2({}, {}, {{flags={}, resolve={}}}, {})",
                    self.root_fd.as_raw_fd(),
                    common::explain::quote(path.to_bytes()),
                    open_flags(flags),
                    resolve_flags(resolve),
                    std::mem::size_of::<libc::open_how>()
                )
            },
            &result,
            |fd| fd.to_string(),
            "open under the root: the kernel refuses a path that leaves it",
        );
        match result {
            // SAFETY: fd was just returned by openat2 and nothing else owns it.
            Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
            Err(err) => Err(err.errno().map_or(libc::EIO, |e| e as i32)),
        }
    }
}

/// `open(2)` flags as strace writes them (only those this module passes).
fn open_flags(flags: i32) -> String {
    let mut names = vec![if flags & libc::O_PATH != 0 {
        "O_RDONLY|O_PATH"
    } else {
        "O_RDONLY"
    }];
    for (bit, name) in [
        (libc::O_NOCTTY, "O_NOCTTY"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
    ] {
        if flags & bit != 0 {
            names.push(name);
        }
    }
    names.join("|")
}

/// `openat2(2)`'s `resolve` flags as strace writes them.
fn resolve_flags(resolve: u64) -> String {
    let names: Vec<&str> = [
        (libc::RESOLVE_NO_MAGICLINKS, "RESOLVE_NO_MAGICLINKS"),
        (libc::RESOLVE_BENEATH, "RESOLVE_BENEATH"),
    ]
    .iter()
    .filter(|(bit, _)| resolve & bit != 0)
    .map(|&(_, name)| name)
    .collect();
    if names.is_empty() {
        "0".into()
    } else {
        names.join("|")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules, one raw target path a line: the segments served, or why not.
    #[test]
    fn the_rules_for_a_path() {
        let ok = |s: &[&str]| Ok::<Vec<String>, Refused>(s.iter().map(|x| x.to_string()).collect());
        let table: &[(&str, Result<Vec<String>, Refused>)] = &[
            ("/", ok(&[])),
            ("/index.html", ok(&["index.html"])),
            ("/a/b/c.txt", ok(&["a", "b", "c.txt"])),
            ("//a///b/", ok(&["a", "b"])),
            ("/./a/./b", ok(&["a", "b"])),
            ("/a%20b", ok(&["a b"])),
            ("/caf%C3%A9", ok(&["café"])),
            ("/%252e%252e/etc", ok(&["%2e%2e", "etc"])),
            ("/a%2fb", ok(&["a", "b"])),
            // A backslash is an ordinary byte in a Unix file name, not a separator.
            ("/a%5c..%5cb", ok(&["a\\..\\b"])),
            ("/..%5c..%5cetc", Err(Refused::NotFound)),
            ("/..", Err(Refused::NotFound)),
            ("/../etc/passwd", Err(Refused::NotFound)),
            ("/a/../../etc/passwd", Err(Refused::NotFound)),
            ("/%2e%2e/etc/passwd", Err(Refused::NotFound)),
            ("/%2E%2E%2Fetc%2Fpasswd", Err(Refused::NotFound)),
            ("/..%2fetc", Err(Refused::NotFound)),
            ("/a/%2e%2e", Err(Refused::NotFound)),
            ("/.git/config", Err(Refused::NotFound)),
            ("/.env", Err(Refused::NotFound)),
            ("/a/.hidden", Err(Refused::NotFound)),
            ("/%2egit/config", Err(Refused::NotFound)),
            ("relative", Err(Refused::NotFound)),
            // Decoded "/etc" is ROOT/etc, never the system's /etc.
            ("%2fetc", ok(&["etc"])),
            ("/a%00.txt", Err(Refused::Malformed)),
            ("/a%0", Err(Refused::Malformed)),
            ("/a%zz", Err(Refused::Malformed)),
            ("/a%", Err(Refused::Malformed)),
        ];
        for (raw, expected) in table {
            let got = decode(raw.as_bytes()).and_then(|d| {
                segments(&d, false).map(|s| {
                    s.iter()
                        .map(|x| String::from_utf8_lossy(x).into_owned())
                        .collect()
                })
            });
            assert_eq!(&got, expected, "{raw:?}");
        }
    }

    #[test]
    fn show_hidden_lets_dot_names_through_but_never_dot_dot() {
        assert_eq!(
            segments(b"/.well-known/x", true).unwrap(),
            [&b".well-known"[..], b"x"]
        );
        assert_eq!(segments(b"/a/../b", true), Err(Refused::NotFound));
    }

    #[test]
    fn locate_refuses_a_symlink_out_of_the_root() {
        let base = std::env::temp_dir().join(format!("resolver-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("root/sub")).unwrap();
        std::fs::write(base.join("root/sub/in.txt"), "in").unwrap();
        std::fs::write(base.join("secret.txt"), "out").unwrap();
        std::os::unix::fs::symlink(base.join("secret.txt"), base.join("root/out.txt")).unwrap();
        std::os::unix::fs::symlink("sub/in.txt", base.join("root/in-link.txt")).unwrap();
        std::os::unix::fs::symlink("/etc", base.join("root/etc")).unwrap();
        let strict = Resolver::new(&base.join("root"), false, false).unwrap();
        assert!(matches!(strict.locate(&[b"out.txt"]), Found::Missing));
        assert!(matches!(
            strict.locate(&[b"etc", b"passwd"]),
            Found::Missing
        ));
        assert!(matches!(strict.locate(&[b"in-link.txt"]), Found::File(..)));
        assert!(matches!(strict.locate(&[b"sub"]), Found::Directory(_)));
        assert!(matches!(strict.locate(&[]), Found::Directory(_)));
        assert!(matches!(strict.locate(&[b"nope"]), Found::Missing));
        // An absolute link whose target is inside the root is followed; one to a
        // file outside it is not, however it is spelled.
        std::os::unix::fs::symlink(base.join("root/sub/in.txt"), base.join("root/abs-in")).unwrap();
        std::os::unix::fs::symlink(base.join("root/../secret.txt"), base.join("root/abs-out"))
            .unwrap();
        std::os::unix::fs::symlink(base.join("root/sub"), base.join("root/abs-dir")).unwrap();
        assert!(matches!(strict.locate(&[b"abs-in"]), Found::File(..)));
        assert!(matches!(
            strict.locate(&[b"abs-dir", b"in.txt"]),
            Found::File(..)
        ));
        assert!(matches!(strict.locate(&[b"abs-dir"]), Found::Directory(_)));
        assert!(matches!(strict.locate(&[b"abs-out"]), Found::Missing));
        let trusting = Resolver::new(&base.join("root"), true, false).unwrap();
        assert!(matches!(trusting.locate(&[b"out.txt"]), Found::File(..)));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
