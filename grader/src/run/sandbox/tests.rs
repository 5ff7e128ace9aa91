//! The sandbox's tests: limits, namespaces, the jail, output bounds.

use super::child::{Setup, prepare};
use super::*;

/// Landlock's allow-list: a child reads the system's programs and writes its working folder,
/// and nothing else opens for it (another folder beside it, a home folder).
#[test]
fn landlock_opens_only_the_allow_list() {
    let work = tempfile::tempdir().unwrap();
    let Some(ruleset) = crate::run::jail::worker_allow_list(&[], &[work.path().to_path_buf()], false).ruleset() else {
        eprintln!("skipped: this kernel has no Landlock");
        return;
    };
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "hidden").unwrap();
    let script = format!(
        "cat {0}/secret; echo mine > {1}/out; echo theirs > {0}/planted; ls /root; echo done",
        outside.path().display(),
        work.path().display()
    );
    let mut command = Command::new("sh");
    command.args(["-c", &script]).stdin(Stdio::null());
    let fd = std::os::fd::AsRawFd::as_raw_fd(&ruleset);
    prepare(&mut command, Setup { channel: 2, landlock: Some(fd), ..Setup::default() });
    let output = command.output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("done"), "the shell itself ran: {stdout} {stderr}");
    assert!(!stdout.contains("hidden"), "read a file outside the allow-list: {stdout}");
    assert_eq!(std::fs::read_to_string(work.path().join("out")).unwrap(), "mine\n");
    assert!(!outside.path().join("planted").exists(), "wrote outside its working folder");
    assert!(stderr.matches("Permission denied").count() >= 3, "{stderr}");
}

fn sh(script: &str, limits: Limits) -> ChildRun {
    let args = vec!["-c".to_string(), script.to_string()];
    run_child(&shell(&args, limits), None).unwrap()
}

/// `/bin/sh` with `args`, in `/tmp`, under `limits`.
fn shell(args: &[String], limits: Limits) -> Child<'_> {
    Child { program: Path::new("/bin/sh"), args, workdir: Path::new("/tmp"), env: &[], limits }
}

const LIMITS: Limits =
    Limits { time: Duration::from_secs(10), clock: Clock::Wall, memory_bytes: None, processes: 4096 };

#[test]
fn results_need_the_nonce_and_stdout_is_not_a_result() {
    let script = r#"read nonce; echo '{"nonce":"nope","check":"x","outcome":{"status":"completed","score":1,"message":""}}' >&3;
        echo "{\"nonce\":\"$nonce\",\"check\":\"x\",\"outcome\":{\"status\":\"completed\",\"score\":0.5,\"message\":\"ok\"}}" >&3;
        echo '{"nonce":"x","check":"x"}'; echo err >&2"#;
    let run = sh(script, LIMITS);
    assert_eq!(run.exit, Exit::Code(0));
    assert_eq!(run.messages.len(), 1);
    assert_eq!(run.messages[0].outcome.score, 0.5);
    assert_eq!(run.forged, 1);
    assert!(run.stdout.contains("nonce") && run.stderr.contains("err"));
}

#[test]
fn a_child_that_never_ends_is_killed_with_its_children() {
    let limits = Limits { time: Duration::from_millis(300), ..LIMITS };
    let run = sh("sleep 30 & sleep 30", limits);
    assert_eq!(run.exit, Exit::TimedOut);
    assert!(run.duration < Duration::from_secs(5), "{:?}", run.duration);
    assert!(run.messages.is_empty());
}

#[test]
fn on_the_cpu_clock_only_the_wall_backstop_stops_a_waiting_child() {
    // 1.5 s of waiting: past a 1 s limit on the wall clock, inside its 3 s backstop on the CPU
    // clock (a busy machine stretches a check's wall time the same way).
    let limits = Limits { time: Duration::from_secs(1), ..LIMITS };
    assert_eq!(sh("sleep 1.5", limits).exit, Exit::TimedOut);
    assert_eq!(sh("sleep 1.5", Limits { clock: Clock::Cpu, ..limits }).exit, Exit::Code(0));
    assert_eq!(Limits { clock: Clock::Cpu, ..limits }.wall(), Duration::from_secs(3));
}

#[test]
fn on_the_cpu_clock_a_worker_that_computes_forever_ends_with_sigxcpu_at_its_budget() {
    let limits = Limits { time: Duration::from_secs(1), clock: Clock::Cpu, ..LIMITS };
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let child = spawn_interactive(
        Path::new("/bin/sh"),
        &["-c".into(), "while :; do :; done".into()],
        dir.path(),
        &[],
        limits,
        None,
    )
    .unwrap();
    let ended = child.finish(Duration::from_secs(60));
    // SIGXCPU (reported as a timeout), not the SIGKILL of an equal hard limit.
    assert_eq!(ended.exit, Exit::Signal(libc::SIGXCPU), "{ended:?}");
    assert!(started.elapsed() >= Duration::from_secs(limits.cpu_seconds()) / 2, "{:?}", started.elapsed());
    let run = ChildRun {
        messages: Vec::new(),
        forged: 0,
        exit: ended.exit,
        stdout: String::new(),
        stderr: String::new(),
        duration: started.elapsed(),
        isolated: false,
    };
    let (status, message) = crate::grade::explain_missing_result(&run, &limits);
    assert_eq!(status, crate::output::report::Status::Timeout);
    assert!(message.contains("used up its 1 s of computation"), "{message}");
}

#[test]
fn signals_and_exit_codes_are_reported() {
    assert_eq!(sh("kill -SEGV $$", LIMITS).exit, Exit::Signal(libc::SIGSEGV));
    assert_eq!(sh("exit 3", LIMITS).exit, Exit::Code(3));
}

#[test]
fn the_memory_ceiling_applies() {
    let limits = Limits { memory_bytes: Some(64 << 20), ..LIMITS };
    // A 200 MB allocation must fail under a 64 MB address-space limit.
    let run = sh("python3 -c 'x = bytearray(200_000_000)' 2>&1 || echo failed-as-expected", limits);
    assert!(run.stdout.contains("failed-as-expected") || run.stdout.contains("MemoryError"), "{}", run.stdout);
}

#[test]
fn isolated_children_have_no_network_see_no_hidden_paths_and_write_only_their_scratch() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("test_batch.bin");
    std::fs::write(&secret, "the test split").unwrap();
    let sources = dir.path().join("grader-src");
    std::fs::create_dir(&sources).unwrap();
    std::fs::write(sources.join("hidden.rs"), "fn answer() {}").unwrap();
    let (scratch, report) = (dir.path().join("scratch"), dir.path().join("report.json"));
    std::fs::create_dir(&scratch).unwrap();
    std::fs::write(&report, "{}").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (secret_path, sources_path, scratch_path, report_path) =
        (secret.display(), sources.display(), scratch.display(), report.display());
    let script = format!(
        "echo read:$(cat {secret_path} | wc -c); echo listed:$(ls -A {sources_path} | wc -l); \
         echo forged > {report_path} 2>/dev/null && echo report-written; \
         echo mine > {scratch_path}/weights && echo scratch-written; \
         python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), timeout=2)' 2>/dev/null && echo connected || echo no-network"
    );
    let args = vec!["-c".to_string(), script];
    let isolation = Isolation {
        hide: vec![secret.clone(), sources.clone()],
        writable: vec![scratch.clone()],
        read_only: true,
        ..Isolation::default()
    };
    let run = run_child(&shell(&args, LIMITS), Some(&isolation)).unwrap();
    assert!(run.stdout.contains("scratch-written"), "{}", run.stdout);
    if run.isolated {
        for expected in ["read:0", "listed:0", "no-network"] {
            assert!(run.stdout.contains(expected), "{expected} missing from {}", run.stdout);
        }
        assert!(!run.stdout.contains("report-written"), "{}", run.stdout);
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "{}");
    } else {
        // No permission for namespaces here (not root): the fallback still runs the child.
        eprintln!("namespaces unavailable here; checked the fallback only");
        assert!(run.stdout.contains("read:14") && run.stdout.contains("connected"), "{}", run.stdout);
    }
    // Everything is intact outside; the scratch folder got its file.
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "the test split");
    assert_eq!(std::fs::read_to_string(sources.join("hidden.rs")).unwrap(), "fn answer() {}");
    assert_eq!(std::fs::read_to_string(scratch.join("weights")).unwrap(), "mine\n");
}

/// What a hostile worker tries from inside the jail (each line printed by the shell says what
/// happened). Needs bubblewrap (`make setup` installs it as root; CI runs as root).
#[test]
fn a_jailed_worker_holds_no_privilege_and_nothing_outlives_it() {
    assert!(
        crate::run::jail::bwrap().is_some(),
        "install bubblewrap (apt-get install bubblewrap; make setup does as root)"
    );
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let uid = crate::run::jail::run_uid(dir.path());
    // SAFETY: a plain syscall.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&work, Some(uid), Some(uid)).unwrap();
    }
    let secret = dir.path().join("secret.rs");
    std::fs::write(&secret, "fn answer() {}").unwrap();
    let marker = format!("600.0{}", std::process::id());
    let shm = format!("/dev/shm/resnet-lab-escape-{marker}");
    let parent = std::process::id();
    // A descriptor the grader inherited without close-on-exec (a CI wrapper's log, say).
    let inherited_path = dir.path().join("inherited.log");
    let inherited = std::fs::File::create(&inherited_path).unwrap();
    // SAFETY: duplicates a descriptor this test owns to a number above the ones the sandbox
    // installs (3, 4), without close-on-exec.
    let fd = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&inherited), libc::F_DUPFD, 20) };
    assert!(fd >= 20);
    let script = format!(
        "echo uid=$(id -u); grep CapEff /proc/self/status; \
         (echo leaked >&{fd}) 2>/dev/null && echo fd-inherited || echo fd-closed; \
         umount -l /usr 2>/dev/null && echo unmounted || echo umount-refused; \
         mount -t tmpfs none /tmp 2>/dev/null && echo mounted || echo mount-refused; \
         cat {secret} 2>/dev/null && echo secret-read || echo secret-hidden; \
         test -e /proc/{parent}/mem && echo parent-visible || echo parent-invisible; \
         echo x > {shm} && echo shm-written; \
         head -c 300000000 /dev/zero > big 2>/dev/null && echo big-written || echo big-refused; rm -f big; \
         echo mine > $HOME/own && echo work-written; \
         head -c 200000000 /dev/zero > $HOME/a 2>/dev/null; head -c 200000000 /dev/zero > $HOME/b 2>/dev/null \
           && echo disk-unbounded || echo disk-capped; rm -f $HOME/a $HOME/b; \
         echo x > /usr/forged 2>/dev/null && echo usr-written || echo usr-read-only; \
         setsid sleep {marker} < /dev/null > /dev/null 2>&1 & \
         sleep 0.3; pgrep -f 'sleep {marker}' > /dev/null && echo grandchild-running; echo done",
        secret = secret.display()
    );
    let isolation = Isolation { writable: vec![work.clone()], read_only: true, uid: Some(uid), ..Isolation::default() };
    let limits = Limits { time: Duration::from_secs(30), clock: Clock::Wall, memory_bytes: None, processes: 256 };
    let child =
        // bash: dash cannot redirect to descriptors above 9.
        spawn_interactive(Path::new("/bin/bash"), &["-c".into(), script], &work, &[], limits, Some(&isolation))
            .unwrap();
    assert!(child.protections.starts_with("bubblewrap"), "{}", child.protections);
    let ended = child.finish(Duration::from_secs(20));
    let out = ended.stdout;
    assert!(out.contains("done"), "{out}\n{}", ended.stderr);
    assert!(!out.contains("uid=0\n"), "{out}");
    for expected in [
        "CapEff:\t0000000000000000",
        "umount-refused",
        "mount-refused",
        "secret-hidden",
        "parent-invisible",
        "shm-written",
        "big-refused",
        "work-written",
        "disk-capped",
        "usr-read-only",
        "grandchild-running",
        "fd-closed",
    ] {
        assert!(out.contains(expected), "{expected} missing:\n{out}\n{}", ended.stderr);
    }
    assert!(!Path::new(&shm).exists(), "the worker's /dev/shm is private");
    assert_eq!(std::fs::read_to_string(&inherited_path).unwrap(), "", "an inherited descriptor reached the worker");
    drop(inherited);
    // SAFETY: closes the duplicate made above.
    unsafe {
        libc::close(fd);
    }
    assert!(!work.join("own").exists(), "the working folder is the worker's own file system, not the host's disk");
    std::thread::sleep(Duration::from_millis(300));
    let survivors = std::process::Command::new("pgrep").args(["-f", &format!("sleep {marker}")]).output().unwrap();
    assert!(survivors.stdout.is_empty(), "a setsid grandchild outlived the worker: {:?}", survivors);
}

/// Two workers at once (`--jobs 2`): the second can neither read the first's working folder nor
/// see or signal its processes.
#[test]
fn concurrent_workers_cannot_read_or_signal_each_other() {
    assert!(
        crate::run::jail::bwrap().is_some(),
        "install bubblewrap (apt-get install bubblewrap; make setup does as root)"
    );
    use std::os::unix::fs::PermissionsExt;
    let jail = |dir: &Path| {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let work = dir.join("work");
        std::fs::create_dir(&work).unwrap();
        let uid = crate::run::jail::run_uid(dir);
        // SAFETY: a plain syscall.
        if unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(&work, Some(uid), Some(uid)).unwrap();
        }
        let isolation = Isolation { writable: vec![work.clone()], uid: Some(uid), ..Isolation::default() };
        (work, isolation)
    };
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ((first_work, first), (second_work, second)) = (jail(first_dir.path()), jail(second_dir.path()));
    let limits = Limits { time: Duration::from_secs(30), clock: Clock::Wall, memory_bytes: None, processes: 256 };
    // A duration no other process uses, to find the victim by its command line.
    let marker = format!("2.0{}", std::process::id());
    let victim = format!("echo answer > $HOME/answer.rs; sleep {marker}");
    let a = spawn_interactive(
        Path::new("/bin/sh"),
        &["-c".into(), format!("({victim}); echo slept=$?")],
        &first_work,
        &[],
        limits,
        Some(&first),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let attack = format!(
        "cat {}/answer.rs 2>/dev/null && echo read-other || echo other-hidden; \
         pkill -9 -f 'sleep {head}''{tail}' 2>/dev/null; set -- /proc/[0-9]*; echo processes=$#; \
         kill -9 -1",
        first_work.display(),
        // Split so that pkill's pattern does not match this shell's own command line.
        head = &marker[..2],
        tail = &marker[2..],
    );
    let b = spawn_interactive(Path::new("/bin/sh"), &["-c".into(), attack], &second_work, &[], limits, Some(&second))
        .unwrap();
    let attacker = b.finish(Duration::from_secs(20));
    let victim = a.finish(Duration::from_secs(20));
    assert!(attacker.stdout.contains("other-hidden"), "{}", attacker.stdout);
    let processes: usize = attacker
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("processes="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    assert!(
        processes <= 3,
        "the attacker sees {processes} processes: {:?} {} {}",
        attacker.exit,
        attacker.stdout,
        attacker.stderr
    );
    assert!(victim.stdout.contains("slept=0"), "the first worker was killed: {:?} {}", victim.exit, victim.stdout);
}

/// A fork bomb in a worker stops at its control group's task limit (the grader is root here,
/// as in CI, and keeps its uid for this worker so that only the cgroup limits it).
#[test]
fn a_worker_cgroup_caps_its_tasks() {
    // SAFETY: a plain syscall.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: the grader creates no cgroup here; nothing to check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The loop runs in a subshell (a shell whose fork fails exits); the count uses no fork.
    let script = "(for i in $(seq 40); do sleep 5 & done) 2>/dev/null; sleep 0.3; \
                  set -- /proc/[0-9]*; echo tasks=$#";
    let limits =
        Limits { time: Duration::from_secs(30), clock: Clock::Wall, memory_bytes: Some(2 << 30), processes: 12 };
    let isolation = Isolation { writable: vec![dir.path().to_path_buf()], ..Isolation::default() };
    let child = spawn_interactive(
        Path::new("/bin/sh"),
        &["-c".into(), script.into()],
        dir.path(),
        &[],
        limits,
        Some(&isolation),
    )
    .unwrap();
    assert!(child.protections.contains("cgroup v"), "{}", child.protections);
    assert!(child.protections.contains("12 tasks"), "{}", child.protections);
    let ended = child.finish(Duration::from_secs(20));
    let tasks: usize = ended
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("tasks="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count: {:?} {} {}", ended.exit, ended.stdout, ended.stderr));
    assert!(tasks <= 12, "{tasks} tasks ran under a limit of 12");
    assert!(tasks >= 3, "the shell and some sleeps ran ({tasks})");
}

#[test]
fn huge_output_is_bounded() {
    let run = sh("head -c 5000000 /dev/zero | tr '\\0' a", LIMITS);
    let cut = 5_000_000 - OUTPUT_TAIL;
    assert!(
        run.stdout.starts_with(&format!("[… {cut} bytes cut …]\n")),
        "{}",
        run.stdout.chars().take(80).collect::<String>()
    );
    assert!(run.stdout.ends_with(&"a".repeat(OUTPUT_TAIL)));
    assert_eq!(run.stdout.len(), format!("[… {cut} bytes cut …]\n").len() + OUTPUT_TAIL);
}
