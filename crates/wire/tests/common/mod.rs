//! The comparison behind "re-serializes without losing a field".

use serde_json::Value;

/// Every member of `expected` is in `actual` with the same value, allowing only the normalisations Graph's
/// conventions ask for: enum members re-cased to lower-camel, numeric strings written as numbers.
/// `actual` may carry more (an `@odata.type` the input left out, for instance).
pub(crate) fn assert_keeps_every_field(expected: &Value, actual: &Value, context: &str) {
    if let Err(path) = compare(expected, actual, String::new()) {
        panic!("{context}: lost or changed {path}\n  input:  {expected}\n  output: {actual}");
    }
}

fn compare(expected: &Value, actual: &Value, path: String) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, value) in expected {
                let here = format!("{path}/{key}");
                let other = actual.get(key).ok_or_else(|| format!("{here} (missing)"))?;
                compare(value, other, here)?;
            }
            Ok(())
        }
        (Value::Array(expected), Value::Array(actual)) if expected.len() == actual.len() => expected
            .iter()
            .zip(actual)
            .enumerate()
            .try_for_each(|(index, (e, a))| compare(e, a, format!("{path}[{index}]"))),
        (Value::String(e), Value::String(a)) if same_modulo_first_letter_case(e, a) => Ok(()),
        (Value::String(text), Value::Number(number)) | (Value::Number(number), Value::String(text))
            if text.trim().parse::<f64>().ok() == number.as_f64() =>
        {
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path} ({e} became {a})")),
    }
}

fn same_modulo_first_letter_case(a: &str, b: &str) -> bool {
    let (mut a_chars, mut b_chars) = (a.chars(), b.chars());
    match (a_chars.next(), b_chars.next()) {
        (None, None) => true,
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(&y) && a_chars.as_str() == b_chars.as_str(),
        _ => false,
    }
}
