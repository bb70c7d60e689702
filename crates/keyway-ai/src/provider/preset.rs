//! Named `openai_compatible` upstreams.

/// A well-known OpenAI-compatible server: its name and base URL (ending
/// where `/chat/completions` is appended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The preset's name, as configured (`deepseek`, `groq`...).
    pub name: &'static str,
    /// The server's OpenAI-compatible base URL.
    pub base_url: &'static str,
}

/// Every preset, by name.
pub const PRESETS: &[Preset] = &[
    Preset { name: "vllm", base_url: "http://localhost:8000/v1" },
    Preset { name: "deepseek", base_url: "https://api.deepseek.com/v1" },
    Preset { name: "groq", base_url: "https://api.groq.com/openai/v1" },
    Preset { name: "openrouter", base_url: "https://openrouter.ai/api/v1" },
    Preset { name: "together", base_url: "https://api.together.xyz/v1" },
    Preset { name: "fireworks", base_url: "https://api.fireworks.ai/inference/v1" },
    Preset { name: "lmstudio", base_url: "http://localhost:1234/v1" },
];

/// The preset named `name` (exact, case-sensitive), if any.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}
