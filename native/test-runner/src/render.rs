//! The run's reports, by RunMat's reporters: each is fed the run's events and finishes with its
//! result, with every test identity replaced by the test's label (labels.rs).

use std::collections::HashMap;

use runmat_test::event::TestEvent;
use runmat_test::result::RunResult;
use runmat_test_runner::reporter::{
    HumanReporter, JsonReporter, JunitReporter, Reporter, TapReporter,
};

use crate::labels::relabel;

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ReportFormat {
    Junit,
    Tap,
    Json,
    Human,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub name: String,
    pub bytes: Vec<u8>,
}

pub fn render(
    formats: &[ReportFormat],
    events: &[TestEvent],
    result: &RunResult,
    named: &HashMap<String, String>,
) -> Result<Vec<Report>, String> {
    let events = relabel(&events.to_vec(), named)?;
    let result = relabel(result, named)?;
    formats
        .iter()
        .map(|format| {
            let mut reporter: Box<dyn Reporter> = match format {
                ReportFormat::Junit => Box::new(JunitReporter),
                ReportFormat::Tap => Box::new(TapReporter),
                ReportFormat::Json => Box::<JsonReporter>::default(),
                ReportFormat::Human => Box::<HumanReporter>::default(),
            };
            for event in &events {
                reporter.event(event).map_err(|error| error.to_string())?;
            }
            let report = reporter
                .finish(&result)
                .map_err(|error| error.to_string())?;
            Ok(Report {
                name: report.name,
                bytes: report.bytes,
            })
        })
        .collect()
}
