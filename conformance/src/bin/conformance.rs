//! `conformance`: runs every contract rule against the simulator's profiles and prints the
//! rule × backend table; exits non-zero on any failure.

use std::process::ExitCode;

use stream_conformance::{Backend, all_rules, run_suite};
use stream_sim::{Profile, SimBackend};

fn main() -> ExitCode {
    let remote = SimBackend::new(Profile::Remote);
    let local = SimBackend::new(Profile::Local);
    let backends: [(&str, &dyn Backend); 2] = [("sim-remote", &remote), ("sim-local", &local)];
    let report = run_suite(&all_rules(), &backends);
    print!("{}", report.to_table());
    if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
