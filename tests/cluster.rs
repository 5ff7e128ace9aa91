//! The cluster scripts (`scripts/cluster/`), run here with the schedulers' environments faked:
//! Slurm array tasks and Kubernetes Indexed Job pods grade disjoint shards that together cover
//! every submission, the merge job merges them, and the Slurm submission chains the merge after
//! the array. The submissions are ones the grader refuses (no build), so that only the scripts'
//! arithmetic and plumbing take time.

mod common;
use common::{read_csv, root};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

/// Five refusable submissions.
fn submissions(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for name in ["ann", "ben", "cai", "dia", "eli"] {
        std::fs::write(dir.join(format!("{name}.zip")), b"PK\x03\x04 not a zip").unwrap();
    }
}

fn script(name: &str, args: &[&Path], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("bash");
    command.current_dir(root()).arg(root().join("scripts/cluster").join(name)).args(args);
    for key in ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX", "SHARDS"] {
        command.env_remove(key);
    }
    command
        .env("GRADER", env!("CARGO_BIN_EXE_grader"))
        .env("PROFILE", "smoke")
        .env("GRADER_FLAGS", "--public-only --quiet --only basic_block.shape");
    command.envs(env.iter().copied());
    command.output().unwrap()
}

/// The students of a graded folder's gradebook.
fn students(folder: &Path) -> BTreeSet<String> {
    read_csv(&folder.join("grades.csv")).into_iter().skip(2).map(|row| row[0].clone()).collect()
}

fn succeeded(output: &Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}");
    text
}

#[test]
fn slurm_tasks_and_kubernetes_pods_grade_disjoint_shards_that_the_merge_joins() {
    let dir = tempfile::tempdir().unwrap();
    let subs = dir.path().join("submissions");
    submissions(&subs);
    let all: BTreeSet<String> = ["ann", "ben", "cai", "dia", "eli"].map(String::from).into();
    for (flavor, envs) in [
        (
            "slurm",
            [
                [("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "2")],
                [("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "2")],
            ],
        ),
        (
            "kubernetes",
            [[("JOB_COMPLETION_INDEX", "0"), ("SHARDS", "2")], [("JOB_COMPLETION_INDEX", "1"), ("SHARDS", "2")]],
        ),
    ] {
        let out = dir.path().join(flavor);
        for env in envs {
            let text = succeeded(&script("grade-shard.sh", &[&subs, &out], &env));
            assert!(text.contains("--jobs 1, MPS off"), "{flavor}: {text}");
        }
        let (one, two) = (students(&out.join("shard-1")), students(&out.join("shard-2")));
        assert!(one.is_disjoint(&two) && !one.is_empty() && !two.is_empty(), "{flavor}: {one:?} {two:?}");
        assert_eq!(one.union(&two).cloned().collect::<BTreeSet<_>>(), all, "{flavor}");
        succeeded(&script("merge.sh", &[&out], &[]));
        assert_eq!(students(&out.join("all")), all, "{flavor}: the merge lost someone");
        assert!(out.join("all/index.html").is_file() && out.join("all/ann/report.html").is_file());
    }
    // Both schedulers' first shard is the same part of the class.
    assert_eq!(students(&dir.path().join("slurm/shard-1")), students(&dir.path().join("kubernetes/shard-1")));
    // Outside a scheduler the script says so instead of grading everything as one shard.
    let lost = script("grade-shard.sh", &[&subs, &dir.path().join("none")], &[]);
    assert_eq!(lost.status.code(), Some(64), "{}", String::from_utf8_lossy(&lost.stderr));
    // The merge of nothing is an error, not an empty gradebook.
    let empty = script("merge.sh", &[&dir.path().join("nothing")], &[]);
    assert_eq!(empty.status.code(), Some(2));
}

#[test]
fn the_slurm_submission_chains_the_merge_after_the_whole_array() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sbatch.log");
    let fake = dir.path().join("sbatch");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/bash\necho \"$*\" >> {}\necho \"$(( $(wc -l < {}) + 4100 ));cluster\"\n",
            log.display(),
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (subs, out) = (dir.path().join("subs"), dir.path().join("out"));
    let text =
        succeeded(&script("submit-slurm.sh", &[Path::new("6"), &subs, &out], &[("SBATCH", fake.to_str().unwrap())]));
    let calls: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(String::from).collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].contains("--array=1-6") && calls[0].contains("grade-array.sbatch"), "{}", calls[0]);
    assert!(calls[1].contains("--dependency=afterok:4101") && calls[1].contains("merge.sbatch"), "{}", calls[1]);
    assert!(text.contains("array job 4101 (6 tasks); merge: job 4102"), "{text}");
}
