//! Anthropic Messages (`POST /v1/messages`). Placeholder, filled in next.
