//! Mentions as a message stores them: `<@user-id>`, the id of the person mentioned. An id
//! survives a rename; the chat shows it as `@First name`, with the name it knows now.
//!
//! Only a well-formed id counts (a UUID, any case: the server counts mentions with
//! `_icontains`, so this matches the same). Anything else, `<@nobody>` or a typed `@Alice`,
//! is plain text and shown as such: a mention cannot be faked by typing a name.

use std::collections::HashMap;

/// People whose names are kept at most (past it, new ones show as "someone").
pub const NAMES_KEPT: usize = 10_000;
/// The people of one message looked at at most (for names, for headless lines): a message
/// of 65,536 characters holds some 1,600 mentions, each of which must not cost the rest.
pub const MENTIONED_MAX: usize = 50;

/// How a mention of the user with this id is written into a message.
pub fn token(id: &str) -> String {
    format!("<@{id}>")
}

/// A piece of a message's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    /// The id of the person mentioned, as written.
    Mention(&'a str),
}

/// The text cut into plain pieces and mentions, in order.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut plain = 0;
    let mut at = 0;
    while let Some(found) = text[at..].find("<@") {
        let start = at + found;
        match mention_at(&text[start..]) {
            Some(id) => {
                if plain < start {
                    out.push(Piece::Text(&text[plain..start]));
                }
                out.push(Piece::Mention(id));
                at = start + id.len() + 3;
                plain = at;
            }
            None => at = start + 1,
        }
    }
    if plain < text.len() {
        out.push(Piece::Text(&text[plain..]));
    }
    out
}

/// `<@id>` at the start of `text`: the id.
fn mention_at(text: &str) -> Option<&str> {
    let id = text.strip_prefix("<@")?.get(..36)?;
    (is_user_id(id) && text[2 + 36..].starts_with('>')).then_some(id)
}

/// A UUID as Directus gives users: 8-4-4-4-12 hex digits.
pub fn is_user_id(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The first [`MENTIONED_MAX`] people a text mentions (each once, lower case).
pub fn mentioned(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    pieces(text)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Mention(id) => Some(id.to_ascii_lowercase()),
            Piece::Text(_) => None,
        })
        .filter(|id| seen.insert(id.clone()))
        .take(MENTIONED_MAX)
        .collect()
}

/// Does the text mention this user?
pub fn mentions(text: &str, id: &str) -> bool {
    pieces(text)
        .iter()
        .any(|p| matches!(p, Piece::Mention(m) if m.eq_ignore_ascii_case(id)))
}

/// People's names by id, as the chat learns them (authors, room members, the directory).
#[derive(Debug, Default)]
pub struct Names {
    by_id: HashMap<String, String>,
}

impl Names {
    pub fn get(&self, id: &str) -> Option<&str> {
        match self.by_id.get(id) {
            Some(name) => Some(name),
            None => self.by_id.get(&id.to_ascii_lowercase()).map(String::as_str),
        }
    }

    pub fn knows(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Learn (or update: a rename) one person's name; bounded.
    pub fn learn(&mut self, id: &str, name: &str) {
        let id = id.to_ascii_lowercase();
        if name.trim().is_empty() || self.by_id.get(&id).is_some_and(|n| n == name) {
            return;
        }
        if self.by_id.len() < NAMES_KEPT || self.by_id.contains_key(&id) {
            self.by_id.insert(id, name.to_owned());
        }
    }

    /// How a mention of `id` reads: `@First name`, or `@someone` while the name is unknown.
    pub fn shown(&self, id: &str) -> String {
        format!("@{}", self.get(id).unwrap_or("someone"))
    }

    /// The text as people read it: every mention as `@Name` (previews, search hits).
    pub fn readable(&self, text: &str) -> String {
        pieces(text)
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => t.to_owned(),
                Piece::Mention(id) => self.shown(id),
            })
            .collect()
    }
}

/// A mention picked in the composer: what the composer shows (`@Alice`) and whom it means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picked {
    pub shown: String,
    pub id: String,
}

/// What is stored for the composer's text: every `@Name` of a person picked in this message
/// (typed again too, not after a letter or digit, not followed by one) becomes their id; the
/// `@Name` of someone not picked stays text, and so does a `<@id>` already in it.
pub fn to_stored(text: &str, picked: &[Picked]) -> String {
    // Longest first: "@Al" must not eat the start of "@Alice Smith".
    let mut picked: Vec<&Picked> = picked.iter().collect();
    picked.sort_by_key(|p| std::cmp::Reverse(p.shown.len()));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        if rest.starts_with('@') && out.chars().last().is_none_or(|c| !c.is_alphanumeric()) {
            for p in &picked {
                if let Some(after) = rest.strip_prefix(p.shown.as_str())
                    && after.chars().next().is_none_or(|c| !c.is_alphanumeric())
                {
                    out.push_str(&token(&p.id));
                    rest = after;
                    continue 'outer;
                }
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A stored message made editable in the composer: mentions as `@Name`, remembered as picked
/// so that saving stores them as ids again. A mention that would not come back as the same
/// person stays as it is stored (`<@id>`): one whose name is not known, one whose name
/// another person mentioned in it also has, one next to a letter or digit.
pub fn to_editable(text: &str, names: &Names) -> (String, Vec<Picked>) {
    let pieces = pieces(text);
    let mut picked: Vec<Picked> = Vec::new();
    let mut out = String::with_capacity(text.len());
    for (i, piece) in pieces.iter().enumerate() {
        let id = match piece {
            Piece::Text(t) => {
                out.push_str(t);
                continue;
            }
            Piece::Mention(id) => id.to_ascii_lowercase(),
        };
        let loose_before = out.chars().last().is_none_or(|c| !c.is_alphanumeric());
        let loose_after = match pieces.get(i + 1) {
            Some(Piece::Text(t)) => t.chars().next().is_none_or(|c| !c.is_alphanumeric()),
            _ => true,
        };
        let shown = names.get(&id).map(|name| format!("@{name}"));
        let same = |s: &String| picked.iter().find(|p| p.shown == *s).map(|p| p.id == id);
        match shown {
            Some(shown) if loose_before && loose_after && same(&shown) != Some(false) => {
                out.push_str(&shown);
                if same(&shown).is_none() {
                    picked.push(Picked { shown, id });
                }
            }
            _ => out.push_str(&token(&id)),
        }
    }
    (out, picked)
}

/// The `@query` being typed just before the cursor (a char index): where its `@` is (a byte
/// index) and what follows it. Only at the start or after a space, and without a space in it.
pub fn typing_at(text: &str, cursor: usize) -> Option<(usize, &str)> {
    let end = text
        .char_indices()
        .nth(cursor)
        .map_or(text.len(), |(i, _)| i);
    let before = &text[..end];
    let at = before.rfind('@')?;
    let query = &before[at + 1..];
    let starts_word = before[..at].chars().last().is_none_or(char::is_whitespace);
    (starts_word && !query.contains(char::is_whitespace) && query.chars().count() <= 30)
        .then_some((at, query))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
    const BOB: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

    #[test]
    fn only_a_well_formed_id_is_a_mention() {
        let text = format!("hi <@{ALICE}>, <@nobody> and @Alice and <@<@{BOB}>!");
        assert_eq!(
            pieces(&text),
            vec![
                Piece::Text("hi "),
                Piece::Mention(ALICE),
                Piece::Text(", <@nobody> and @Alice and <@"),
                Piece::Mention(BOB),
                Piece::Text("!"),
            ]
        );
        assert!(mentions(&text, ALICE) && mentions(&text, BOB));
        assert!(mentions(&token(&ALICE.to_uppercase()), ALICE), "any case");
        assert!(!mentions(&format!("<@{ALICE}"), ALICE), "not closed");
        assert!(!mentions(&format!("<@{}>", &ALICE[..35]), ALICE));
        assert!(pieces("").is_empty());
        assert_eq!(mentioned(&format!("{} {}", token(BOB), token(BOB))), [BOB]);
    }

    #[test]
    fn a_message_full_of_mentions_costs_what_its_length_does() {
        // 65,536 characters of distinct mentions sharing a long prefix (the costliest to tell
        // apart): at most MENTIONED_MAX people looked at, each once.
        let text: String = (0..1_680)
            .map(|n| token(&format!("00000000-0000-0000-0000-{n:012}")))
            .collect();
        assert_eq!(mentioned(&text).len(), MENTIONED_MAX);
        assert!(
            mentions(&text, "00000000-0000-0000-0000-000000001679"),
            "the last too"
        );
    }

    #[test]
    fn a_picked_mention_is_stored_as_an_id_and_edited_as_a_name() {
        let picked = vec![
            Picked {
                shown: "@Al".into(),
                id: BOB.into(),
            },
            Picked {
                shown: "@Alice".into(),
                id: ALICE.into(),
            },
        ];
        let stored = to_stored("@Alice and @Al, not @Alicia or me@Al", &picked);
        assert_eq!(
            stored,
            format!("{} and {}, not @Alicia or me@Al", token(ALICE), token(BOB))
        );
        let mut names = Names::default();
        names.learn(ALICE, "Alice");
        names.learn(BOB, "Al");
        let (text, again) = to_editable(&stored, &names);
        assert_eq!(text, "@Alice and @Al, not @Alicia or me@Al");
        assert_eq!(to_stored(&text, &again), stored, "round trip");
        // What would not come back as the same person stays as stored: an unknown name, a
        // name two people share, a mention next to a letter.
        let carol = "16fd2706-8baf-433b-82eb-8c7fada847da";
        let alias = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
        names.learn(alias, "Alice");
        let tricky = format!(
            "{} {} {} x{} {}y",
            token(carol),
            token(ALICE),
            token(alias),
            token(ALICE),
            token(ALICE)
        );
        let (text, again) = to_editable(&tricky, &names);
        assert_eq!(
            text,
            format!(
                "{} @Alice {} x{} {}y",
                token(carol),
                token(alias),
                token(ALICE),
                token(ALICE)
            )
        );
        assert_eq!(
            to_stored(&text, &again),
            tricky,
            "every mention means whom it meant"
        );
        // A rename shows at once; an unknown id reads as someone.
        names.learn(ALICE, "Alicia");
        assert_eq!(
            names.readable(&format!("{} {}", token(ALICE), token(&"a".repeat(0)))),
            "@Alicia <@>"
        );
        assert_eq!(
            Names::default().readable(&token(ALICE)),
            "@someone",
            "unknown"
        );
    }

    #[test]
    fn the_query_is_the_word_being_typed_after_an_at() {
        assert_eq!(typing_at("hi @Al", 6), Some((3, "Al")));
        assert_eq!(typing_at("@", 1), Some((0, "")));
        assert_eq!(
            typing_at("hi @Al there", 6),
            Some((3, "Al")),
            "cursor inside"
        );
        assert_eq!(typing_at("hi @Al there", 12), None, "a space ended it");
        assert_eq!(typing_at("me@Al", 5), None, "an e-mail address");
        assert_eq!(typing_at("é @Ål", 5), Some((3, "Ål")), "chars, not bytes");
    }
}
