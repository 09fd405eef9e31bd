//! The playground in a real browser: builds the engine for
//! wasm32-unknown-unknown (`playground/build.sh`), then
//! `playground/tests/e2e.mjs` serves `playground/` on loopback and drives
//! headless Chromium through Playwright: diagnostics with carets, verdicts,
//! the explain tree, as a person types. It keeps a screenshot
//! (`target/tmp/playground/playground.png`) and prints the evaluation
//! times measured in the page (the `WASM ...` line).
//!
//! What it needs (`.ci/run` installs it): the wasm32 target,
//! wasm-bindgen-cli of the crate's version, node with
//! `playground/tests/node_modules` (`npm ci`), and Chromium. Without one
//! of them it prints "SKIPPED: ..." and returns.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository root")
        .to_path_buf()
}

/// The target directory this test was built in (`.../target`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.ancestors()
        .nth(3)
        .expect("target/<profile>/deps/<exe>")
        .to_path_buf()
}

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let o = Command::new(cmd).args(args).output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Why the browser test cannot run here, if it cannot.
fn missing() -> Option<String> {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Some("the wasm32-unknown-unknown target is not installed (rustup target add wasm32-unknown-unknown)".into());
    }
    let manifest =
        std::fs::read_to_string(repo().join("wasm/Cargo.toml")).expect("wasm/Cargo.toml");
    let want = manifest
        .lines()
        .find_map(|l| l.strip_prefix("wasm-bindgen = \"="))
        .and_then(|l| l.strip_suffix('"'))
        .expect("wasm-bindgen pinned with =");
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    if have.split_whitespace().nth(1) != Some(want) {
        return Some(format!(
            "wasm-bindgen-cli {want} is not installed (found: {}; cargo install wasm-bindgen-cli --version {want} --locked)",
            have.trim()
        ));
    }
    if output("node", &["--version"]).is_none() {
        return Some("node is not installed".into());
    }
    if !repo()
        .join("playground/tests/node_modules/playwright-core")
        .exists()
    {
        return Some("playwright-core is not installed (cd playground/tests && npm ci)".into());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ));
    }
    None
}

#[test]
fn playground_in_headless_chromium() {
    if let Some(why) = missing() {
        skipped(&format!("the playground browser test cannot run: {why}"));
        return;
    }
    let build = Command::new("bash")
        .arg(repo().join("playground/build.sh"))
        .env("CARGO_TARGET_DIR", target_dir())
        .status()
        .expect("run playground/build.sh");
    assert!(build.success(), "playground/build.sh failed");

    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("playground");
    std::fs::create_dir_all(&out).expect("artifact folder");
    let screenshot = out.join("playground.png");
    let _ = std::fs::remove_file(&screenshot);
    let run = Command::new("node")
        .arg(repo().join("playground/tests/e2e.mjs"))
        .arg(&screenshot)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&run.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "the browser test failed");
    assert!(stdout.contains(", 0 failed"), "{stdout}");
    assert!(stdout.contains("WASM seed_ns_in_wasm="), "{stdout}");
    // Kept beside the screenshot, for .ci/run to print (test output is captured).
    if let Some(line) = stdout.lines().find(|l| l.starts_with("WASM ")) {
        std::fs::write(out.join("timings.txt"), format!("{line}\n")).expect("timings");
    }
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
    eprintln!("screenshot: {}", screenshot.display());
}

/// Says loudly that a test did not run: straight to the process's stderr,
/// which libtest does not capture (it hides a passing test's `eprintln!`).
fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}
