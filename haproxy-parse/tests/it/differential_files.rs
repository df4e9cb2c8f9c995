//! The zero-false-alarm guard for several files: the generated configurations of
//! [`super::differential`] split into 2 or 3 files, checked by `haproxy_parse::check_files` and
//! by `haproxy -c -f 1.cfg -f 2.cfg [-f 3.cfg]`. Most cuts fall before a section header (the
//! usual `conf.d/` layout); some fall inside a section, where HAProxy reads the next file's first
//! lines out of any section. `FLEET_DIFF_FILES_CASES` sets how many (300 by default).

use haproxy_parse::SourceFile;

use super::differential::{case_seed, generate, haproxy_bin, haproxy_check_files, Rng};

const SEED: u64 = 0x0005_eed0_2026_0011;

/// `text` cut into 2 or 3 files at line boundaries.
fn split(text: &str, rng: &mut Rng) -> Vec<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let headers: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| *i > 0 && !l.starts_with(' ') && !l.starts_with('.') && !l.trim().is_empty())
        .map(|(i, _)| i)
        .collect();
    let mut cuts = Vec::new();
    for _ in 0..1 + rng.below(2) {
        let cut = if rng.chance(80) && !headers.is_empty() {
            headers[rng.below(headers.len())]
        } else {
            1 + rng.below(lines.len().max(2) - 1)
        };
        cuts.push(cut);
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut files = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([lines.len()]) {
        files.push(lines[from..cut].concat());
        from = cut;
    }
    files
}

#[test]
fn no_set_of_files_haproxy_accepts_gets_an_offline_error() {
    let Some(haproxy) = haproxy_bin() else {
        eprintln!("haproxy not found: skipping");
        return;
    };
    let cases: usize = std::env::var("FLEET_DIFF_FILES_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let scratch = std::env::temp_dir().join(format!("haproxy-parse-differential-files-{}", std::process::id()));
    let (mut accepted, mut rejected, mut caught, mut false_alarms) = (0, 0, 0, Vec::new());
    for index in 0..cases {
        let case = case_seed(SEED, index);
        let files = split(&generate(case), &mut Rng::new(case));
        let names: Vec<String> = (1..=files.len()).map(|i| format!("{i}.cfg")).collect();
        let sources: Vec<SourceFile<'_>> =
            names.iter().zip(&files).map(|(name, text)| SourceFile { name, text }).collect();
        let errors: Vec<String> =
            haproxy_parse::check_files(&sources).iter().filter(|d| d.is_error()).map(ToString::to_string).collect();
        let texts: Vec<&str> = files.iter().map(String::as_str).collect();
        match haproxy_check_files(&haproxy, &texts, &scratch) {
            Ok(()) => {
                accepted += 1;
                if !errors.is_empty() {
                    false_alarms.push(format!("case {index}: haproxy accepts, offline says:\n{}\n{files:#?}", errors.join("\n")));
                }
            }
            Err(_) => {
                rejected += 1;
                caught += usize::from(!errors.is_empty());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    eprintln!("differential (files): {cases} cases; haproxy accepts {accepted}, rejects {rejected}, offline rejects {caught} of them");
    assert!(false_alarms.is_empty(), "{} false alarms:\n{}", false_alarms.len(), false_alarms.iter().take(3).cloned().collect::<Vec<_>>().join("\n"));
    assert!(accepted * 10 >= cases && rejected * 10 >= cases, "both verdicts must be exercised: {accepted} / {rejected}");
}
