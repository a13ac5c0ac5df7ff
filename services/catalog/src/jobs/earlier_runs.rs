//! What an earlier run of a job left when its process died: ffmpeg, which a
//! killed server does not take down with it (it goes on encoding into its
//! staging folder for as long as the movie takes), and that folder. Each run
//! stages under `.staging/job-{id}-{run}`, so a restart never writes where an
//! orphan still writes; before it starts, the orphans of this job on this
//! machine are killed (found by that folder in their command line) and the
//! folders of its earlier runs removed. Those of a run on another machine
//! sharing the media folder are left to `sweep_stale`.

use std::path::Path;

use crate::ingest::STAGING_DIR;

/// The staging folder name of one run of job `id`.
pub fn staging_name(id: &str, run: &str) -> String {
    format!("{}{run}", run_prefix(id))
}

fn run_prefix(id: &str) -> String {
    format!("job-{id}-")
}

/// Kills this machine's `ffmpeg` processes (of this user) still writing an
/// earlier run of job `id`, then removes that run's folders; how many
/// processes were killed.
pub fn clear_earlier_runs(media_dir: &Path, ffmpeg: &Path, id: &str) -> usize {
    let staging = media_dir.join(STAGING_DIR);
    let marker = staging.join(run_prefix(id)).to_string_lossy().into_owned();
    let program = ffmpeg.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let killed = kill_orphans(&program, &marker);
    if killed > 0 {
        tracing::warn!(job = id, killed, "killed ffmpeg runs left by an earlier run of an ingest job");
    }
    let prefix = run_prefix(id);
    for entry in std::fs::read_dir(&staging).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix)
            && let Err(e) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!(path = %entry.path().display(), error = %e, "could not remove an earlier run's staging folder");
        }
    }
    killed
}

/// Kills the processes of this user running `program` with `marker` in an
/// argument, and waits (a little) until they are gone.
fn kill_orphans(program: &str, marker: &str) -> usize {
    let uid = rustix::process::getuid().as_raw().to_string();
    let mut killed = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let mut args = cmdline.split(|b| *b == 0).map(String::from_utf8_lossy);
        let runs_program =
            args.next().is_some_and(|arg0| Path::new(arg0.as_ref()).file_name() == Some(program.as_ref()));
        let ours = std::fs::read_to_string(entry.path().join("status")).is_ok_and(|status| {
            status
                .lines()
                .any(|l| l.strip_prefix("Uid:").and_then(|u| u.split_whitespace().next()) == Some(uid.as_str()))
        });
        if runs_program
            && ours
            && args.any(|arg| arg.contains(marker))
            && let Some(pid) = rustix::process::Pid::from_raw(pid)
            && rustix::process::kill_process(pid, rustix::process::Signal::KILL).is_ok()
        {
            killed.push(entry.path());
        }
    }
    // Gone (or reaped) before their folders are removed: a dying writer
    // could otherwise leave files behind.
    for _ in 0..100 {
        if killed.iter().all(|proc| !proc.join("cmdline").exists() || is_zombie(proc)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    killed.len()
}

fn is_zombie(proc: &Path) -> bool {
    std::fs::read_to_string(proc.join("status"))
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("State:") && l.contains('Z')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_orphan_writing_an_earlier_run_is_killed_and_its_folder_removed() {
        let media = tempfile::tempdir().unwrap();
        let earlier = media.path().join(STAGING_DIR).join(staging_name("abc", "run1"));
        let other_job = media.path().join(STAGING_DIR).join(staging_name("abd", "run1"));
        std::fs::create_dir_all(&earlier).unwrap();
        std::fs::create_dir_all(&other_job).unwrap();
        // A stand-in for ffmpeg: a program of that name (a copy of the shell)
        // with the folder in its arguments.
        let bin = tempfile::tempdir().unwrap();
        let fake = bin.path().join("ffmpeg");
        std::fs::copy("/bin/sh", &fake).unwrap();
        let mut orphan = std::process::Command::new(&fake)
            .args(["-c", "sleep 30; true"])
            .arg(earlier.join("%v/seg_%05d.ts"))
            .spawn()
            .unwrap();
        // Another program naming the folder is not ffmpeg: it is left alone.
        let mut bystander = std::process::Command::new("sh")
            .args(["-c", "sleep 30; true", "sh"])
            .arg(earlier.join("%v/seg_%05d.ts"))
            .spawn()
            .unwrap();
        // Once it has started (until its exec, it shows the test's own command line).
        let cmdline = format!("/proc/{}/cmdline", orphan.id());
        let marker = earlier.to_string_lossy().into_owned();
        for _ in 0..200 {
            if String::from_utf8_lossy(&std::fs::read(&cmdline).unwrap_or_default()).contains(&marker) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(clear_earlier_runs(media.path(), Path::new("ffmpeg"), "abc"), 1);
        let status = orphan.wait().unwrap();
        assert!(!status.success(), "killed: {status}");
        assert!(!earlier.exists());
        assert!(other_job.exists(), "another job's run is not touched");
        assert!(bystander.try_wait().unwrap().is_none(), "a program that is not ffmpeg is not killed");
        bystander.kill().unwrap();
        let _ = bystander.wait();
    }
}
