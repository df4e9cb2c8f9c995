//! Small file systems made in a test: a size-limited tmpfs (to fill a disk) or one remounted
//! read-only. Mounting needs root (CAP_SYS_ADMIN); without it [`Tmpfs::mount`] says why on stderr
//! and returns `None`, so the test skips visibly.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a fresh folder under the temp dir; unmounted and the folder removed on
/// drop.
#[derive(Debug)]
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=`, e.g. `4m`).
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let dir = std::env::temp_dir().join(crate::unique_name("fleet-tmpfs-"));
        std::fs::create_dir_all(&dir).unwrap();
        let output = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "tmpfs"]).arg(&dir).output();
        let reason = match output {
            Ok(o) if o.status.success() => return Some(Tmpfs { dir }),
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => e.to_string(),
        };
        let _ = std::fs::remove_dir(&dir);
        eprintln!("skipping: cannot mount a tmpfs (needs root): {reason}");
        None
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Remounts it read-only. The kernel refuses (EBUSY) while a file is open for writing: a
    /// closed SQLite pool's connections are closed by their worker threads a moment later, so
    /// this tries again for up to 5 s.
    pub fn read_only(&self) {
        for _ in 0..50 {
            let output = Command::new("mount").args(["-o", "remount,ro"]).arg(&self.dir).output().unwrap();
            if output.status.success() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("remount read-only failed for 5 s");
    }

    /// Writes zeros to `name` until the file system is full (what a runaway log does); remove
    /// the file to free the space again.
    pub fn fill(&self, name: &str) -> PathBuf {
        use std::io::Write;
        let path = self.dir.join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        // The last partial block: fill to the last byte.
        while file.write_all(&[0u8]).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}
