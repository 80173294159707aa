//! RunMat's reporters name each test by its identity, a content digest. CI test tabs and people
//! need the test's name, so reports are rendered by RunMat's reporters from the run's canonical
//! events and result with every `test_id` replaced by the test's label.

use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::plan::ListedTest;

/// Each test's label: its display name, or `name (file)` where two files share a name.
pub fn labels(tests: &[ListedTest]) -> HashMap<String, String> {
    let mut seen = HashSet::new();
    let duplicated: HashSet<&str> = tests
        .iter()
        .filter(|test| !seen.insert(test.name.as_str()))
        .map(|test| test.name.as_str())
        .collect();
    tests
        .iter()
        .map(|test| {
            let label = if duplicated.contains(test.name.as_str()) {
                format!("{} ({})", test.name, test.relative_path)
            } else {
                test.name.clone()
            };
            (test.id.clone(), label)
        })
        .collect()
}

fn relabel_value(value: &mut Value, labels: &HashMap<String, String>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                match field {
                    Value::String(id) if key == "test_id" => {
                        if let Some(label) = labels.get(id.as_str()) {
                            *id = label.clone();
                        }
                    }
                    _ => relabel_value(field, labels),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| relabel_value(item, labels)),
        _ => {}
    }
}

/// `value` with its test identities replaced by labels.
pub fn relabel<T: Serialize + DeserializeOwned>(
    value: &T,
    labels: &HashMap<String, String>,
) -> Result<T, String> {
    let mut json = serde_json::to_value(value).map_err(|error| error.to_string())?;
    relabel_value(&mut json, labels);
    serde_json::from_value(json).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(id: &str, name: &str, file: &str) -> ListedTest {
        ListedTest {
            id: id.into(),
            name: name.into(),
            suite: String::new(),
            root: "/w".into(),
            relative_path: file.into(),
            line: 1,
            tags: Vec::new(),
        }
    }

    #[test]
    fn a_name_two_files_share_gets_its_file() {
        let named = labels(&[
            listed("a", "mathTest/testAdd", "unit/mathTest.m"),
            listed("b", "mathTest/testAdd", "slow/mathTest.m"),
            listed("c", "other/testOne", "other.m"),
        ]);
        assert_eq!(named["a"], "mathTest/testAdd (unit/mathTest.m)");
        assert_eq!(named["b"], "mathTest/testAdd (slow/mathTest.m)");
        assert_eq!(named["c"], "other/testOne");
    }

    #[test]
    fn relabel_replaces_test_ids_only() {
        let named = HashMap::from([("v1:sha256:abc".to_string(), "t/one".to_string())]);
        let value = serde_json::json!({
            "test_id": "v1:sha256:abc",
            "message": "v1:sha256:abc",
            "nested": [{"test_id": "v1:sha256:abc"}, {"test_id": "unknown"}],
        });
        let relabelled: Value = relabel(&value, &named).unwrap();
        assert_eq!(
            relabelled,
            serde_json::json!({
                "test_id": "t/one",
                "message": "v1:sha256:abc",
                "nested": [{"test_id": "t/one"}, {"test_id": "unknown"}],
            })
        );
    }
}
