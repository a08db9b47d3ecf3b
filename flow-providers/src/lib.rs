//! LLM chat clients for `flow`.
