//! The HTML pages as a person sees them: `grader pages` renders every student's `report.html` and
//! the class dashboard `index.html` from real reports (tests/fixtures/reports, written by a corpus
//! run: a correct submission, a mistake, a fake accuracy, timeouts, a build failure, a refusal),
//! then headless Chromium loads each page: it must load with no console message at all, run its
//! script to the end, and show the key elements. Screenshots land in target/screenshots/ for
//! people to look at.
//!
//! Chromium is Debian's `chromium` package (.ci/run installs it). Where it is missing the browser
//! half is skipped with a notice, except under CI, where that is a failure.

mod common;
use common::{copy_tree, root};
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| Path::new(dir).join(name)).find(|p| p.is_file())
    })
}

/// Loads `page` in headless Chromium; returns the DOM after scripts ran and the browser's log.
fn load(browser: &Path, profile: &Path, page: &Path, screenshot: &Path) -> (String, String) {
    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2000",
    ];
    let profile_flag = format!("--user-data-dir={}", profile.display());
    let dom = Command::new(browser).args(common).arg(&profile_flag).arg("--dump-dom").arg(&url).output().unwrap();
    assert!(dom.status.success(), "chromium failed on {url}: {}", String::from_utf8_lossy(&dom.stderr));
    let shot = Command::new(browser)
        .args(common)
        .arg(&profile_flag)
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(shot.status.success(), "chromium could not screenshot {url}");
    (String::from_utf8_lossy(&dom.stdout).into_owned(), String::from_utf8_lossy(&dom.stderr).into_owned())
}

#[test]
fn report_pages_and_the_dashboard_render_and_load_in_a_browser_without_errors() {
    let work = tempfile::tempdir().unwrap();
    let graded = work.path().join("graded");
    copy_tree(&root().join("tests/fixtures/reports"), &graded);
    // The instructor's files a term adds: an override, a deadline with the platform's times, and a
    // similarity report (two submissions with the same He-init answer).
    std::fs::write(
        graded.join("overrides.csv"),
        "student,target,points,reason,who,when\ncorrect,he_init,-1,<b>not</b> escaped?,TA Kim,2026-11-30\n",
    )
    .unwrap();
    std::fs::write(graded.join("course.toml"), "due = \"2026-12-01T23:59:00Z\"\npenalty_per_day = 10\n").unwrap();
    std::fs::write(graded.join("submitted.csv"), "student,submitted_at\ncorrect,2026-12-02T08:00:00Z\n").unwrap();
    let subs = work.path().join("submissions");
    for student in ["correct", "fake_report"] {
        let answer = grader::samples::solved(&root(), "src/he_init.rs").unwrap();
        std::fs::create_dir_all(subs.join(student).join("src")).unwrap();
        std::fs::write(subs.join(student).join("src/he_init.rs"), answer).unwrap();
    }
    let similarity = Command::new(env!("CARGO_BIN_EXE_grader"))
        .current_dir(root())
        .arg("similarity")
        .arg(&subs)
        .arg("--out")
        .arg(graded.join("similarity"))
        .output()
        .unwrap();
    assert!(similarity.status.success(), "{}", String::from_utf8_lossy(&similarity.stderr));
    let output = Command::new(env!("CARGO_BIN_EXE_grader")).arg("pages").arg(&graded).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let students: Vec<String> = std::fs::read_dir(&graded)
        .unwrap()
        .filter_map(|e| e.ok().filter(|e| e.path().join("report.json").is_file()))
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    assert!(students.len() >= 5, "fixtures: {students:?}");
    let index = std::fs::read_to_string(graded.join("index.html")).unwrap();
    for student in &students {
        assert!(index.contains(&format!("href=\"{student}/report.html\"")), "the dashboard does not link {student}");
        let page = std::fs::read_to_string(graded.join(student).join("report.html")).unwrap();
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(graded.join(student).join("report.json")).unwrap()).unwrap();
        // One row per check, and nothing of a message can open a tag.
        assert_eq!(page.matches("<tr id=\"").count(), report["checks"].as_array().unwrap().len(), "{student}");
        assert_eq!(page.matches("<script>").count(), 1, "{student}: a message was not escaped");
        for fetch in ["src=\"http", "href=\"http", "url(http", "@import"] {
            assert!(!page.contains(fetch), "{student}: the page must be self-contained ({fetch})");
        }
    }
    let correct = std::fs::read_to_string(graded.join("correct/report.html")).unwrap();
    for plot in ["Training accuracy", "Output variance per layer", "Ablation"] {
        assert!(correct.contains(plot), "the correct submission's page lacks its {plot} plot");
    }
    // The He-init plot shows SimpleNet under both initializations beside the student's measurement.
    for series in ["yours (He init)", "grader&apos;s (He init)", "naive init, N(0, 0.01²)"] {
        assert!(correct.contains(series), "the He-init plot lacks the series {series}");
    }
    assert!(index.contains("Build failures (1)") && index.contains("Refused submissions (1)"), "{index}");
    for section in ["Overrides (1)", "Lateness (1 late)", "Similarity leads (1)", "&lt;b&gt;not&lt;/b&gt; escaped?"] {
        assert!(index.contains(section), "the dashboard lacks {section:?}");
    }
    assert!(correct.contains("id=\"lateness\""), "the late student's page says so");

    let Some(browser) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium (.ci/run does) for the browser check");
        eprintln!("chromium is not installed here: the pages were checked as text only");
        return;
    };
    let shots = root().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let profile = work.path().join("chromium-profile");
    let mut pages: Vec<(String, PathBuf, &[&str])> = vec![(
        "index".to_string(),
        graded.join("index.html"),
        &["id=\"check-stats\"", "id=\"failures\"", "id=\"students\"", "<svg", "Similarity leads", "Overrides (1)"],
    )];
    for student in &students {
        pages.push((
            student.clone(),
            graded.join(student).join("report.html"),
            &["id=\"score\"", "id=\"exercises\"", "id=\"checks\""],
        ));
    }
    for (name, page, wanted) in pages {
        let (dom, log) = load(&browser, &profile, &page, &shots.join(format!("{name}.png")));
        let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
        assert!(console.is_empty(), "{name}: the browser console says:\n{}", console.join("\n"));
        assert!(dom.contains("data-ready=\"1\""), "{name}: the page's script did not run to its end");
        for element in wanted {
            assert!(dom.contains(element), "{name}: {element} is missing from the rendered page");
        }
        let png = std::fs::metadata(shots.join(format!("{name}.png"))).unwrap().len();
        assert!(png > 10_000, "{name}: the screenshot is blank ({png} bytes)");
    }
    // The He-init figure alone, as a reader of the correct page sees it further down.
    let figure = correct
        .split("<figure>")
        .find(|f| f.contains("naive init"))
        .and_then(|f| f.split("</figure>").next())
        .expect("the correct page has the He-init figure");
    let alone = work.path().join("he_init_plot.html");
    std::fs::write(&alone, format!("<!doctype html><meta charset=\"utf-8\"><figure>{figure}</figure>")).unwrap();
    load(&browser, &profile, &alone, &shots.join("he_init_plot.png"));
    let png = std::fs::metadata(shots.join("he_init_plot.png")).unwrap().len();
    assert!(png > 10_000, "the He-init plot's screenshot is blank ({png} bytes)");
    println!("screenshots: {}", shots.display());
}
