//! DTMF keys and Graph's `tone` enum (res:toneinfo): `tone0`…`tone9`, `star`, `pound`, `a`…`d` (and `flash`, which
//! is no key).

const TONES: [(char, &str); 16] = [
    ('0', "tone0"),
    ('1', "tone1"),
    ('2', "tone2"),
    ('3', "tone3"),
    ('4', "tone4"),
    ('5', "tone5"),
    ('6', "tone6"),
    ('7', "tone7"),
    ('8', "tone8"),
    ('9', "tone9"),
    ('*', "star"),
    ('#', "pound"),
    ('A', "a"),
    ('B', "b"),
    ('C', "c"),
    ('D', "d"),
];

/// Graph's `tone` member for a DTMF key.
pub fn name(key: char) -> Option<&'static str> {
    let key = key.to_ascii_uppercase();
    TONES.iter().find(|(k, _)| *k == key).map(|(_, name)| *name)
}

/// The DTMF key of a `tone` member, or of a key written as itself (`"#"`, as docs:call-record writes stop tones).
pub fn key(tone: &str) -> Option<char> {
    let mut chars = tone.chars();
    if let (Some(key), None) = (chars.next(), chars.next()) {
        return name(key).map(|_| key.to_ascii_uppercase());
    }
    TONES.iter().find(|(_, name)| name.eq_ignore_ascii_case(tone)).map(|(key, _)| *key)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_and_tone_names_map_both_ways() {
        assert_eq!((super::name('#'), super::name('b'), super::name('x')), (Some("pound"), Some("b"), None));
        assert_eq!(
            (super::key("tone7"), super::key("star"), super::key("#"), super::key("d")),
            (Some('7'), Some('*'), Some('#'), Some('D'))
        );
        assert_eq!((super::key("flash"), super::key("x"), super::key("")), (None, None, None));
    }
}
