//! The decision trace: one entry per stage, written as the request walks
//! the path. The call log stores it, `diagnose` replays it and the portal
//! shows it: one structure, three readers.

use crate::codes::Stage;
use crate::span_timing::SpanTiming;
use crate::text::Text;
use serde::{Deserialize, Serialize};

/// The outcome of one stage for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    /// The stage's checks held.
    Pass,
    /// The stage refused the request.
    Fail,
    /// An earlier stage refused, so this one did not run.
    NotReached,
}

impl StepResult {
    /// `pass`, `fail` or `not_reached`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepResult::Pass => "pass",
            StepResult::Fail => "fail",
            StepResult::NotReached => "not_reached",
        }
    }
}

/// One stage's entry in the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEntry {
    /// Which stage.
    pub stage: Stage,
    /// What it decided.
    pub result: StepResult,
    /// What it saw, for the operator (never a secret).
    pub evidence: Text,
    /// What would fix a failure, for the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The whole decision trace of a request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Trace {
    /// Entries in stage order.
    pub entries: Vec<TraceEntry>,
    /// When each stage ended, for a request whose trace is exported as
    /// spans; `None` otherwise (the default). Never stored.
    #[serde(skip)]
    pub spans: Option<Box<SpanTiming>>,
}

impl Trace {
    /// An empty trace with room for every stage.
    pub fn new() -> Self {
        Self { entries: Vec::with_capacity(Stage::ALL.len()), spans: None }
    }

    /// A trace of these entries.
    pub fn of(entries: Vec<TraceEntry>) -> Self {
        Self { entries, spans: None }
    }

    /// Records a passing stage.
    pub fn pass(&mut self, stage: Stage, evidence: impl Into<Text>) {
        if let Some(t) = &mut self.spans {
            t.mark(stage);
        }
        self.entries.push(TraceEntry { stage, result: StepResult::Pass, evidence: evidence.into(), fix: None });
    }

    /// Records a failing stage.
    pub fn fail(&mut self, stage: Stage, evidence: impl Into<Text>, fix: Option<String>) {
        if let Some(t) = &mut self.spans {
            t.mark(stage);
        }
        self.entries.push(TraceEntry { stage, result: StepResult::Fail, evidence: evidence.into(), fix });
    }

    /// Appends `not_reached` entries for every stage after the last one
    /// recorded, up to and including `last`, that has no entry yet (an AI
    /// call passes limits before its model phase, recorded under
    /// authorization, can refuse).
    pub fn close(&mut self, last: Stage) {
        let after = self.entries.last().map(|e| e.stage);
        for stage in Stage::ALL {
            if stage > last {
                break;
            }
            if after.is_some_and(|a| stage <= a) || self.entries.iter().any(|e| e.stage == stage) {
                continue;
            }
            self.entries.push(TraceEntry { stage, result: StepResult::NotReached, evidence: Text::default(), fix: None });
        }
    }

    /// The failing entry, if any.
    pub fn failure(&self) -> Option<&TraceEntry> {
        self.entries.iter().find(|e| e.result == StepResult::Fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_skips_stages_already_recorded_out_of_order() {
        let mut t = Trace::new();
        t.pass(Stage::Authorization, "subscribed");
        t.pass(Stage::Limits, "no limits set");
        t.fail(Stage::Authorization, "model not allowed", None);
        t.close(Stage::Upstream);
        let stages: Vec<_> = t.entries.iter().map(|e| (e.stage, e.result)).collect();
        assert_eq!(
            stages,
            vec![
                (Stage::Authorization, StepResult::Pass),
                (Stage::Limits, StepResult::Pass),
                (Stage::Authorization, StepResult::Fail),
                (Stage::Upstream, StepResult::NotReached),
            ]
        );
    }

    #[test]
    fn close_fills_unreached_stages() {
        let mut t = Trace::new();
        t.pass(Stage::Route, "api orders v1");
        t.fail(Stage::Credential, "no credential", None);
        t.close(Stage::Authorization);
        let stages: Vec<_> = t.entries.iter().map(|e| (e.stage, e.result)).collect();
        assert_eq!(
            stages,
            vec![
                (Stage::Route, StepResult::Pass),
                (Stage::Credential, StepResult::Fail),
                (Stage::Key, StepResult::NotReached),
                (Stage::Identity, StepResult::NotReached),
                (Stage::Authorization, StepResult::NotReached),
            ]
        );
        assert_eq!(t.failure().map(|e| e.stage), Some(Stage::Credential));
    }
}
