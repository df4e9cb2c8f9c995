//! `diff` sees order where HAProxy evaluates in declaration order (issue 10, acceptance 4).

use fleet_core::diff::{diff, ChangeKind};

use crate::support::cases_dir;

/// dataplaneapi#107's file and the same file with its two `http-request` rules swapped: first
/// match wins, so the swap is a behavioural change, not "no structural changes".
#[test]
fn rules_reordered() {
    let Some(cases) = cases_dir() else { return };
    let (a, b) = (cases.join("directive_order.cfg"), cases.join("directive_order_swapped.cfg"));
    if !a.is_file() || !b.is_file() {
        eprintln!("{} or {} missing: skipping", a.display(), b.display());
        return;
    }
    let (a, b) = (std::fs::read_to_string(a).unwrap(), std::fs::read_to_string(b).unwrap());
    let d = diff(&a, &b);
    let printed: String = d.summary.iter().map(ToString::to_string).collect();
    assert_eq!(printed, "~ frontend fe_main: http-request rules reordered\n");
    assert_eq!(d.summary[0].directives[0].change, ChangeKind::Reordered);
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["summary"][0]["section"], "frontend fe_main");
    assert_eq!(json["summary"][0]["directives"][0]["change"], "reordered");
    assert_eq!(json["summary"][0]["directives"][0]["directive"], "http-request rules");
    // And back again.
    assert_eq!(diff(&b, &a).summary[0].to_string(), "~ frontend fe_main: http-request rules reordered\n");
}
