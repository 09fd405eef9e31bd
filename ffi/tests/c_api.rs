//! The C API from C and from Python: `tests/c/api_test.c` is compiled with
//! the system `cc` against the static library cargo built (under
//! AddressSanitizer when the compiler has it: it also reports every object
//! the program left unfreed) and run; `examples/python/evaluate.py` loads
//! the shared library with `ctypes`. A missing tool prints "SKIPPED: ..."
//! and the test returns.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where cargo put this crate's libraries: beside `deps/`, where this test
/// runs. `cargo test` builds only the Rust library of a crate its tests use,
/// so when the C libraries are not there yet (a fresh checkout), they are
/// built here, by the same cargo, into the same folder.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf();
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        if dir.join("libportcullis_ffi.a").exists() && dir.join("libportcullis_ffi.so").exists() {
            return;
        }
        let target = dir.parent().expect("target folder");
        let profile = dir.file_name().and_then(|p| p.to_str()).unwrap_or("debug");
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--lib", "-p", "portcullis-ffi"])
            .arg("--target-dir")
            .arg(target)
            .current_dir(crate_dir());
        if profile == "release" {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("cargo build of the C libraries");
        assert!(status.success(), "cargo build -p portcullis-ffi failed");
    });
    dir
}

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether `cc` can build and run an AddressSanitizer program here.
fn asan_works(out: &Path) -> bool {
    let src = out.join("asan_probe.c");
    let exe = out.join("asan_probe");
    std::fs::write(&src, "int main(void) { return 0; }\n").expect("probe source");
    Command::new("cc")
        .args(["-fsanitize=address"])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(&exe).status().is_ok_and(|s| s.success())
}

#[test]
fn c_program_exercises_every_function() {
    if !have("cc", "--version") {
        skipped("no C compiler (`cc`) to build tests/c/api_test.c");
        return;
    }
    let lib = target_dir().join("libportcullis_ffi.a");
    assert!(
        lib.exists(),
        "{} is missing: cargo builds it with the test",
        lib.display()
    );
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_api");
    std::fs::create_dir_all(&out).expect("output folder");
    let asan = asan_works(&out);
    if !asan {
        eprintln!("NOTE: cc cannot build AddressSanitizer programs here; running without it");
    }
    let exe = out.join("api_test");
    let mut cc = Command::new("cc");
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"])
        .arg("-I")
        .arg(crate_dir().join("include"));
    if asan {
        cc.arg("-fsanitize=address");
    }
    cc.arg(crate_dir().join("tests/c/api_test.c"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm"])
        .arg("-o")
        .arg(&exe);
    let built = cc.output().expect("run cc");
    assert!(
        built.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = Command::new(&exe)
        // Leaks are errors: every object must have been freed.
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        .output()
        .expect("run the C program");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(run.status.success(), "the C program failed (asan: {asan})");
    assert!(stdout.contains(", 0 failed"), "{stdout}");
    let checks: usize = stdout
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or(0);
    assert!(checks > 150, "only {checks} checks ran");
}

#[test]
fn python_ctypes_example_runs() {
    if !have("python3", "--version") {
        skipped("no python3 to run examples/python/evaluate.py");
        return;
    }
    let lib = target_dir().join("libportcullis_ffi.so");
    assert!(lib.exists(), "{} is missing", lib.display());
    let run = Command::new("python3")
        .arg(crate_dir().join("examples/python/evaluate.py"))
        .arg(&lib)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&run.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "the Python example failed");
    assert!(
        stdout.contains(
            r#"{"action":"block","rule":"mtls-required","logged":["log-api"],"skipped":[]}"#
        ),
        "{stdout}"
    );
    assert!(stdout.contains("--> 1:18"), "{stdout}");
}

/// Says loudly that a test did not run: straight to the process's stderr,
/// which libtest does not capture (it hides a passing test's `eprintln!`).
fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}
