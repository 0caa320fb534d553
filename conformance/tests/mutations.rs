//! The suite catches a broken simulator: with any single rule of real libvirt broken on purpose,
//! some contract rule or recorded scenario fails, with a readable diff.

use std::path::PathBuf;

use stream_conformance::scenario::replay_all;
use stream_conformance::{Outcome, all_rules, run_rule};
use stream_core::StreamKind;
use stream_sim::{Mutation, Profile, SimBackend, SimConfig};

fn caught(mutation: Mutation) -> Vec<String> {
    let sim = SimBackend::with_config(SimConfig::new(Profile::Remote).mutated(mutation));
    let mut caught: Vec<String> = all_rules()
        .iter()
        .filter_map(|rule| match run_rule(rule, &sim) {
            Outcome::Fail(why) => Some(format!("rule {}: {why}", rule.id)),
            _ => None,
        })
        .collect();
    let scenarios = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios");
    if let Err(diff) = replay_all(&scenarios, StreamKind::Remote, &sim) {
        caught.push(diff);
    }
    caught
}

#[test]
fn every_single_rule_mutation_is_caught() {
    for mutation in Mutation::ALL {
        let caught = caught(mutation);
        assert!(
            !caught.is_empty(),
            "{mutation:?} was not caught by any rule or scenario"
        );
        println!(
            "{mutation:?}: caught {} times; first:\n{}\n",
            caught.len(),
            caught[0]
        );
    }
}

#[test]
fn the_unmutated_simulator_passes() {
    let sim = SimBackend::new(Profile::Remote);
    for rule in all_rules() {
        assert!(
            !matches!(run_rule(&rule, &sim), Outcome::Fail(_)),
            "{} fails unmutated",
            rule.id
        );
    }
}
