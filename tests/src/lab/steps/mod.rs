//! The steps, and the checks each one declares.
//!
//! A step's checks live in its own module (`step01.rs` …) as a `pub static CHECKS:
//! [Check; N]`, in the order a student meets them. Checking step N runs, in step
//! order, every check of steps 1..=N whose `applies_to` names N: a later step's
//! program is held to what the earlier slides taught, where it still does it.

use super::check::Check;

mod copy;
pub mod step01;
pub mod step02;
pub mod step03;
pub mod step04;
pub mod step05;
pub mod step06;

/// A step of the lecture, as the checker knows it.
pub struct Step {
    /// 1 to 6.
    pub number: u8,
    /// The crate's name, also the work copy's folder: `step01-open-port`.
    pub name: &'static str,
    /// The checks this step adds.
    pub checks: &'static [Check],
}

/// Every step, in order.
pub static STEPS: [Step; 6] = [
    Step {
        number: 1,
        name: "step01-open-port",
        checks: &step01::CHECKS,
    },
    Step {
        number: 2,
        name: "step02-receive",
        checks: &step02::CHECKS,
    },
    Step {
        number: 3,
        name: "step03-client",
        checks: &step03::CHECKS,
    },
    Step {
        number: 4,
        name: "step04-respond",
        checks: &step04::CHECKS,
    },
    Step {
        number: 5,
        name: "step05-daemon",
        checks: &step05::CHECKS,
    },
    Step {
        number: 6,
        name: "step06-fileserver",
        checks: &step06::CHECKS,
    },
];

impl Step {
    /// `1`, `01`, `step01` or `step01-open-port`; `None` for anything else.
    pub fn parse(text: &str) -> Option<&'static Step> {
        let digits = text.strip_prefix("step").unwrap_or(text);
        STEPS.iter().find(|step| {
            text == step.name
                || (!digits.is_empty()
                    && digits.len() <= 2
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && digits.parse() == Ok(step.number)
                    // `step1` is not a spelling SPEC names; `1`, `01`, `step01` are.
                    && (digits.len() == 2 || digits == text))
        })
    }

    /// `01` … `06`, as a student types it after `cargo lab start`.
    pub fn short(&self) -> String {
        format!("{:02}", self.number)
    }

    /// The checks a program of this step must pass, in order: the earlier steps'
    /// that still apply, then its own. `beyond` adds the beyond-the-slides ones.
    pub fn checks(&self, beyond: bool) -> Vec<&'static Check> {
        STEPS
            .iter()
            .take_while(|step| step.number <= self.number)
            .flat_map(|step| step.checks.iter())
            .filter(|check| check.applies_to.contains(&self.number) && (beyond || !check.beyond))
            .collect()
    }

    /// The step after this one, if any.
    pub fn next(&self) -> Option<&'static Step> {
        STEPS.iter().find(|step| step.number == self.number + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_named_as_spec_says() {
        for text in ["1", "01", "step01", "step01-open-port"] {
            assert_eq!(Step::parse(text).map(|s| s.number), Some(1), "{text}");
        }
        assert_eq!(Step::parse("06").map(|s| s.name), Some("step06-fileserver"));
        for text in [
            "0",
            "7",
            "001",
            "step1",
            "step07",
            "step01-open",
            "",
            "step",
            "-1",
            "1x",
        ] {
            assert!(Step::parse(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn check_ids_are_unique_and_name_their_step() {
        let mut seen = std::collections::HashSet::new();
        for step in &STEPS {
            for check in step.checks {
                assert!(seen.insert(check.id), "{} twice", check.id);
                assert!(
                    check.id.starts_with(&format!("step{}/", step.short())),
                    "{}",
                    check.id
                );
                assert!(check.applies_to.contains(&step.number), "{}", check.id);
            }
        }
    }
}
