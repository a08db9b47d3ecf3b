//! The model the examples call: a real server when the usual variables say so, a
//! scripted model otherwise.

use std::sync::Arc;

use typedflow_providers::{
    AnthropicClient, ChatModel, ChatRequest, ConfigError, OpenAiClient, ScriptedModel,
};

/// The model every node of an example calls, shared by all its runs.
pub type Llm = Arc<dyn ChatModel>;

/// A real model when the environment names one, otherwise `offline()`, with a few words
/// saying which:
///
/// - `OPENAI_API_KEY` or `OPENAI_BASE_URL` set: OpenAI or any compatible server (a local
///   llama.cpp server, vLLM, Ollama: `OPENAI_BASE_URL=http://127.0.0.1:8080/v1`), model
///   `OPENAI_MODEL` (default `gpt-4o-mini`);
/// - otherwise `ANTHROPIC_API_KEY` set: Anthropic, model `ANTHROPIC_MODEL` (default
///   `claude-haiku-4-5`);
/// - otherwise the scripted model: no network, no key.
///
/// # Errors
///
/// When a real client's settings are invalid (a malformed base URL, a missing key).
pub fn model_from_env(
    offline: impl FnOnce() -> ScriptedModel,
) -> Result<(Llm, String), ConfigError> {
    let set = |var: &str| std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
    let var_or = |var: &str, default: &str| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    if set("OPENAI_API_KEY") || set("OPENAI_BASE_URL") {
        let model = var_or("OPENAI_MODEL", "gpt-4o-mini");
        let client = OpenAiClient::builder().model(model.clone()).build()?;
        return Ok((Arc::new(client), format!("OpenAI-compatible, {model}")));
    }
    if set("ANTHROPIC_API_KEY") {
        let model = var_or("ANTHROPIC_MODEL", "claude-haiku-4-5");
        let client = AnthropicClient::builder().model(model.clone()).build()?;
        return Ok((Arc::new(client), format!("Anthropic, {model}")));
    }
    Ok((Arc::new(offline()), "scripted, offline".to_owned()))
}

/// The request's system prompt, empty when it has none: scripted models tell the
/// examples' roles (writer, reviewer, ...) apart by it.
pub fn system_of(request: &ChatRequest) -> &str {
    request.system.as_deref().unwrap_or_else(|| {
        request
            .messages
            .iter()
            .find(|m| m.role == typedflow_providers::Role::System)
            .map_or("", |m| m.content.as_str())
    })
}

/// The text of the request's last user message, empty when it has none.
pub fn prompt_of(request: &ChatRequest) -> &str {
    request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == typedflow_providers::Role::User)
        .map_or("", |m| m.content.as_str())
}
