//! A turn of a conversation as a server is sent it: the earlier exchanges, then the new user
//! message, as chat `messages` or as one text for `/v1/completions`.

use crate::engine::Exchange;

/// What goes between an answer and the next user message in a conversation sent as one text.
pub const TURN_SEPARATOR: &str = "\n\n";

/// The chat `messages` of a turn: each earlier exchange as a user and an assistant message,
/// then `prompt` as the last user message.
pub fn messages(history: &[Exchange], prompt: &str) -> serde_json::Value {
    let mut messages: Vec<serde_json::Value> = history
        .iter()
        .flat_map(|e| {
            [
                serde_json::json!({"role": "user", "content": &*e.user}),
                serde_json::json!({"role": "assistant", "content": &*e.assistant}),
            ]
        })
        .collect();
    messages.push(serde_json::json!({"role": "user", "content": prompt}));
    serde_json::Value::Array(messages)
}

/// A turn as one text (`/v1/completions`): each earlier message followed by its answer, as
/// the model continued it, and [`TURN_SEPARATOR`] before the next message; then `prompt`.
pub fn text(history: &[Exchange], prompt: &str) -> String {
    let mut text = String::new();
    for e in history {
        text.push_str(&e.user);
        text.push_str(&e.assistant);
        text.push_str(TURN_SEPARATOR);
    }
    text.push_str(prompt);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(user: &str, assistant: &str) -> Exchange {
        Exchange {
            user: user.into(),
            assistant: assistant.into(),
        }
    }

    #[test]
    fn a_first_turn_is_its_message_alone() {
        assert_eq!(
            messages(&[], "hi"),
            serde_json::json!([{"role": "user", "content": "hi"}])
        );
        assert_eq!(text(&[], "hi"), "hi");
    }

    #[test]
    fn later_turns_resend_every_exchange_in_order() {
        let history = [exchange("a", " b"), exchange("c", " d")];
        assert_eq!(
            messages(&history, "e"),
            serde_json::json!([
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": " b"},
                {"role": "user", "content": "c"},
                {"role": "assistant", "content": " d"},
                {"role": "user", "content": "e"},
            ])
        );
        assert_eq!(text(&history, "e"), "a b\n\nc d\n\ne");
    }
}
