//! A disk a test can fill up, give space back to, and make read-only: a small tmpfs in a mount namespace of the
//! test's own (no root needed where unprivileged user namespaces are allowed).

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
};

/// A tmpfs of a given size on `path`, seen only in a mount namespace of its own: a disk a test can fill, grow and make
/// read-only. The namespace lives as long as this value (a `cat` reading a pipe only this value holds), so servers
/// started in it one after another see the same files.
pub(crate) struct SmallDisk {
    holder: Child,
    pub(crate) path: PathBuf,
}

impl SmallDisk {
    pub(crate) fn mount(path: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(path).unwrap();
        // A user namespace too, so that this works without root where unprivileged user namespaces are allowed.
        let script = format!("mount -t tmpfs -o size={size} tmpfs '{}' && echo mounted && exec cat", path.display());
        let mut holder = Command::new("unshare")
            .args(["--map-root-user", "--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux) runs");
        let mut line = String::new();
        BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line).unwrap();
        if line.trim() != "mounted" {
            let mut why = String::new();
            holder.stderr.take().unwrap().read_to_string(&mut why).unwrap();
            panic!(
                "this test needs a private mount namespace (unshare --map-root-user --mount) and could not make one: {why}"
            );
        }
        SmallDisk { holder, path: path.to_owned() }
    }

    /// A command prefix that runs its arguments inside the disk's namespace.
    pub(crate) fn launcher(&self) -> Vec<String> {
        ["nsenter", "--target", &self.holder.id().to_string(), "--user", "--mount", "--preserve-credentials"]
            .map(str::to_owned)
            .to_vec()
    }

    /// Runs `program args` inside the namespace; its exit status, stdout and stderr.
    pub(crate) fn run(&self, program: &str, args: &[&str]) -> (ExitStatus, String, String) {
        let launcher = self.launcher();
        let output = Command::new(&launcher[0]).args(&launcher[1..]).arg(program).args(args).output().unwrap();
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        (output.status, text(output.stdout), text(output.stderr))
    }

    /// `mount -o remount,<options>`: `size=64m` gives space back, `ro` / `rw` switch writing off and on (a
    /// read-only remount needs every file on it closed for writing).
    pub(crate) fn remount(&self, options: &str) {
        let (status, _, stderr) =
            self.run("mount", &["-o", &format!("remount,{options}"), self.path.to_str().unwrap()]);
        assert!(status.success(), "remount,{options}: {stderr}");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
