//! The grader's own namespaces for a check process: a network namespace of its own and a mount
//! namespace with a read-only, hiding view of the file system (see [`super::Isolation`]).

use super::Isolation;
use std::path::Path;

/// `struct mount_attr` of `mount_setattr(2)` (Linux 5.12).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const AT_RECURSIVE: libc::c_int = 0x8000;

/// Sets or clears read-only on the mount at `path` (and every mount below it with `recursive`).
/// Async-signal-safe: a bare syscall.
fn set_read_only(path: &std::ffi::CStr, read_only: bool, recursive: bool) -> std::io::Result<()> {
    let attr = MountAttr {
        attr_set: if read_only { MOUNT_ATTR_RDONLY } else { 0 },
        attr_clr: if read_only { 0 } else { MOUNT_ATTR_RDONLY },
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: valid NUL-terminated path and a properly sized, initialized struct.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc != 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

/// The namespace set-up of [`Isolation`], prepared before `fork` (no allocation after it).
pub(super) struct MountPlan {
    root: std::ffi::CString,
    dev_null: std::ffi::CString,
    read_only_root: bool,
    kernel_mounts: [std::ffi::CString; 3],
    tmpfs: std::ffi::CString,
    empty_options: std::ffi::CString,
    hidden_files: Vec<std::ffi::CString>,
    hidden_dirs: Vec<std::ffi::CString>,
    writable: Vec<std::ffi::CString>,
}

impl MountPlan {
    pub(super) fn new(isolation: &Isolation) -> std::io::Result<Self> {
        let c = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_encoded_bytes())
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
        };
        let existing = |p: &&std::path::PathBuf| p.exists();
        // A path inside another hidden folder is hidden with it (and could not be mounted over).
        let outermost = |p: &&std::path::PathBuf| !isolation.hide.iter().any(|h| h != *p && p.starts_with(h));
        let (dirs, files): (Vec<_>, Vec<_>) =
            isolation.hide.iter().filter(existing).filter(outermost).partition(|p| p.is_dir());
        Ok(MountPlan {
            root: c(Path::new("/"))?,
            dev_null: c(Path::new("/dev/null"))?,
            read_only_root: isolation.read_only,
            kernel_mounts: [c(Path::new("/dev"))?, c(Path::new("/proc"))?, c(Path::new("/sys"))?],
            tmpfs: c(Path::new("tmpfs"))?,
            empty_options: c(Path::new("size=4k,mode=0555"))?,
            hidden_files: files.into_iter().map(|p| c(p)).collect::<std::io::Result<_>>()?,
            hidden_dirs: dirs.into_iter().map(|p| c(p)).collect::<std::io::Result<_>>()?,
            writable: isolation.writable.iter().filter(existing).map(|p| c(p)).collect::<std::io::Result<_>>()?,
        })
    }

    /// Runs in the child between `fork` and `exec`: only async-signal-safe calls.
    pub(super) fn apply(&self) -> std::io::Result<()> {
        let check = |rc: libc::c_int| if rc != 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) };
        let null = std::ptr::null::<libc::c_char>();
        // SAFETY: plain syscalls with valid NUL-terminated strings.
        unsafe {
            check(libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWNS))?;
            // Keep our mounts to ourselves.
            check(libc::mount(null, self.root.as_ptr(), null, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()))?;
            // Each writable folder becomes a mount of its own, so that it can stay writable.
            for path in &self.writable {
                check(libc::mount(path.as_ptr(), path.as_ptr(), null, libc::MS_BIND | libc::MS_REC, std::ptr::null()))?;
            }
            if self.read_only_root {
                set_read_only(&self.root, true, true)?;
                // Device nodes and the kernel's file systems stay as they were (CUDA needs them).
                for path in &self.kernel_mounts {
                    let _ = set_read_only(path, false, true);
                }
                for path in &self.writable {
                    set_read_only(path, false, false)?;
                }
            }
            for path in &self.hidden_files {
                check(libc::mount(self.dev_null.as_ptr(), path.as_ptr(), null, libc::MS_BIND, std::ptr::null()))?;
            }
            for path in &self.hidden_dirs {
                let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
                check(libc::mount(
                    self.tmpfs.as_ptr(),
                    path.as_ptr(),
                    self.tmpfs.as_ptr(),
                    flags,
                    self.empty_options.as_ptr().cast(),
                ))?;
            }
        }
        Ok(())
    }
}

/// Every entry below `root` that is not one of `keep` and holds none of them: what to hide to show
/// only `keep` of a tree (an allow-list). `keep` holds canonical paths; links are left alone.
pub fn all_but(root: &Path, keep: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
    let Ok(root) = root.canonicalize() else { return Vec::new() };
    let mut hide = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_symlink()) || keep.contains(&path) {
                continue;
            }
            if keep.iter().any(|k| k.starts_with(&path)) {
                stack.push(path);
            } else {
                hide.push(path);
            }
        }
    }
    hide.sort();
    hide
}
