//! Text in arguments, checked before anything runs: no NUL character (PostgreSQL cannot store
//! it, SQLite would store it and answer differently) and no text longer than its field allows.
//! One check for every argument of every field, inline or in variables, on both backends; a
//! refusal is `BAD_USER_INPUT` naming the argument path (`input.familyName`,
//! `filter.tags[0]`), and nothing is executed.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, Value, Variables};

/// Names, titles, references, addresses and other one-line values.
const SHORT: usize = 500;
/// Free text: notes, summaries, descriptions and the special-category fields.
const LONG: usize = 100_000;
/// Everything else: identifiers, tokens, filters, lists of names.
const DEFAULT: usize = 10_000;

/// The most characters the input field (or argument) `name` accepts.
fn max_chars(name: &str) -> usize {
    match name {
        "givenName" | "familyName" | "displayName" | "organizationName" | "name" | "title"
        | "reference" | "jobTitle" | "department" | "street" | "city" | "postalCode"
        | "province" | "country" | "email" | "address" | "pec" | "number" | "label"
        | "codiceFiscale" | "partitaIva" | "practiceArea" | "subject" | "role" | "baseRole"
        | "tags" | "requesterName" | "collectedBy" | "proofReference" | "noticeVersion" => SHORT,
        "notes"
        | "summary"
        | "description"
        | "body"
        | "detail"
        | "reason"
        | "familyDetails"
        | "personalInterests"
        | "healthDetails"
        | "criminalProceedingsNotes"
        | "outcome" => LONG,
        _ => DEFAULT,
    }
}

/// The first text argument of `document` that contains a NUL character or is too long.
pub fn check(document: &ExecutableDocument, variables: &Variables) -> Result<(), ServerError> {
    let sets = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .chain(
            document
                .fragments
                .values()
                .map(|f| &f.node.selection_set.node),
        );
    for set in sets {
        in_set(set, variables)?;
    }
    Ok(())
}

fn in_set(set: &SelectionSet, variables: &Variables) -> Result<(), ServerError> {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    let name = name.node.as_str();
                    // Variables the request lacks are validation's to report.
                    let Ok(value) = value.node.clone().into_const_with(|variable| {
                        Ok::<_, std::convert::Infallible>(
                            variables.get(&variable).cloned().unwrap_or_default(),
                        )
                    });
                    in_value(&value, name, name)?;
                }
                in_set(&field.node.selection_set.node, variables)?;
            }
            Selection::InlineFragment(inline) => {
                in_set(&inline.node.selection_set.node, variables)?
            }
            Selection::FragmentSpread(_) => {}
        }
    }
    Ok(())
}

/// Checks `value` at `path`; `key` is the nearest input field name, whose limit applies.
fn in_value(value: &Value, path: &str, key: &str) -> Result<(), ServerError> {
    match value {
        Value::String(text) => check_text(text, path, key),
        Value::List(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| in_value(item, &format!("{path}[{i}]"), key)),
        Value::Object(fields) => fields
            .iter()
            .try_for_each(|(name, item)| in_value(item, &format!("{path}.{name}"), name.as_str())),
        _ => Ok(()),
    }
}

fn check_text(text: &str, path: &str, key: &str) -> Result<(), ServerError> {
    let problem = if text.contains('\0') {
        Some("must not contain the NUL character (U+0000)".to_owned())
    } else {
        let max = max_chars(key);
        // Bytes bound characters from above: count only when it could matter.
        (text.len() > max && text.chars().count() > max)
            .then(|| format!("must be at most {max} characters long"))
    };
    match problem {
        None => Ok(()),
        Some(problem) => {
            let mut error = ServerError::new(format!("invalid input: {path}: {problem}"), None);
            let extensions = error.extensions.get_or_insert_with(Default::default);
            extensions.set("code", "BAD_USER_INPUT");
            extensions.set("field", path);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(query: &str, variables: serde_json::Value) -> Result<(), ServerError> {
        let document = async_graphql::parser::parse_query(query).expect("valid query");
        check(&document, &Variables::from_json(variables))
    }

    fn field(result: Result<(), ServerError>) -> String {
        let error = result.expect_err("refused");
        let value = error
            .extensions
            .and_then(|e| e.get("field").cloned())
            .expect("field");
        value.to_string().trim_matches('"').to_owned()
    }

    #[test]
    fn nul_and_length_are_refused_with_the_path() {
        assert!(run(
            "{ contacts(filter: { text: \"Rossi\" }) { totalCount } }",
            serde_json::json!({})
        )
        .is_ok());
        assert_eq!(
            field(run(
                "{ contacts(filter: { tags: [\"a\", \"b\\u0000\"] }) { totalCount } }",
                serde_json::json!({})
            )),
            "filter.tags[1]"
        );
        let long = "x".repeat(SHORT + 1);
        assert_eq!(
            field(run(
                "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } } }",
                serde_json::json!({ "i": { "familyName": long, "notes": long } }),
            )),
            "input.familyName"
        );
        assert!(run(
            "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } } }",
            serde_json::json!({ "i": { "familyName": "Rossi", "notes": long } }),
        )
        .is_ok());
    }
}
