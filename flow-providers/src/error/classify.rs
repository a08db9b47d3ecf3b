//! The classification table: which [`ProviderError`] class an HTTP error answer
//! (status, code, type, message) belongs to. The error body's code wins over the bare
//! status.

use super::{ApiError, ProviderError};

/// Error codes and types that mean the account is out of money or quota.
const QUOTA_CODES: &[&str] = &["quota", "billing", "spend", "credit"];
/// Messages that mean the account is out of money or quota.
const QUOTA_MESSAGES: &[&str] = &[
    "current quota",
    "credit balance",
    "spend limit",
    "billing",
    "insufficient_quota",
];
/// Error codes and types that mean the prompt does not fit.
const CONTEXT_CODES: &[&str] = &[
    "context_length_exceeded",
    "exceed_context_size_error",
    "request_too_large",
    "string_above_max_length",
];
/// Messages that mean the prompt does not fit.
const CONTEXT_MESSAGES: &[&str] = &[
    "context length",
    "context window",
    "context size",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "input is too long",
];
/// Messages that, with "model" in them, mean the model does not exist.
const UNKNOWN_MODEL_MESSAGES: &[&str] = &[
    "not found",
    "does not exist",
    "unknown model",
    "no such model",
    "not available",
];

/// The classification rules: the error body's code wins over the bare status.
pub(crate) fn classify(api: ApiError, model: &str, auth_hint: &str) -> ProviderError {
    let status = api.status;
    let api = Box::new(api);
    let quota = api.code_contains(QUOTA_CODES) || api.message_contains(QUOTA_MESSAGES);
    if quota && matches!(status, 400 | 402 | 403 | 429) {
        return ProviderError::QuotaExhausted { api };
    }
    if matches!(status, 401 | 403)
        || api.has_code(&[
            "authentication_error",
            "invalid_api_key",
            "permission_error",
        ])
    {
        return ProviderError::Authentication {
            api,
            hint: auth_hint.to_owned(),
        };
    }
    if status == 529 || api.has_code(&["overloaded_error", "overloaded"]) {
        return ProviderError::Overloaded { api };
    }
    if status == 429 || api.has_code(&["rate_limit_error", "rate_limit_exceeded"]) {
        return ProviderError::RateLimited { api };
    }
    if status == 413
        || api.has_code(CONTEXT_CODES)
        || ((400..500).contains(&status) && api.message_contains(CONTEXT_MESSAGES))
    {
        return ProviderError::ContextTooLong { api };
    }
    let unknown_model = api.has_code(&["model_not_found"])
        // Anthropic: 404 not_found_error "model: claude-nope".
        || (api.has_code(&["not_found_error"]) && api.message.starts_with("model:"))
        || (matches!(status, 400 | 404)
            && api.message_contains(&["model"])
            && api.message_contains(UNKNOWN_MODEL_MESSAGES));
    if unknown_model {
        return ProviderError::UnknownModel {
            model: model.to_owned(),
            api,
        };
    }
    if matches!(status, 408 | 409) || status >= 500 {
        return ProviderError::Server { api };
    }
    if (400..500).contains(&status) {
        return ProviderError::BadRequest { api };
    }
    // A status outside 4xx/5xx reported as an error (e.g. an error event inside a
    // 200 stream with no status of its own): treat it as the server's failure.
    ProviderError::Server { api }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn kind(status: u16, code: Option<&str>, message: &str) -> ErrorKind {
        let mut api = ApiError::new("test", status, message);
        api.code = code.map(str::to_owned);
        classify(api, "m", "hint").kind()
    }

    #[test]
    fn classes_follow_status_and_code() {
        assert_eq!(kind(401, None, "no"), ErrorKind::Authentication);
        assert_eq!(
            kind(403, Some("permission_error"), "no"),
            ErrorKind::Authentication
        );
        assert_eq!(
            kind(429, Some("rate_limit_exceeded"), "slow"),
            ErrorKind::RateLimited
        );
        assert_eq!(
            kind(429, Some("insufficient_quota"), "x"),
            ErrorKind::QuotaExhausted
        );
        assert_eq!(
            kind(
                429,
                None,
                "You exceeded your current quota, please check your plan"
            ),
            ErrorKind::QuotaExhausted
        );
        assert_eq!(
            kind(402, Some("billing_error"), "x"),
            ErrorKind::QuotaExhausted
        );
        assert_eq!(kind(529, None, "x"), ErrorKind::Overloaded);
        assert_eq!(
            kind(503, Some("overloaded_error"), "x"),
            ErrorKind::Overloaded
        );
        assert_eq!(
            kind(400, Some("context_length_exceeded"), "x"),
            ErrorKind::ContextTooLong
        );
        assert_eq!(
            kind(400, Some("exceed_context_size_error"), "x"),
            ErrorKind::ContextTooLong
        );
        assert_eq!(
            kind(
                400,
                None,
                "prompt is too long: 250000 tokens > 200000 maximum"
            ),
            ErrorKind::ContextTooLong
        );
        assert_eq!(
            kind(404, Some("model_not_found"), "x"),
            ErrorKind::UnknownModel
        );
        assert_eq!(
            kind(
                404,
                None,
                "model \"llama9\" not found, try pulling it first"
            ),
            ErrorKind::UnknownModel
        );
        assert_eq!(kind(404, None, "no route"), ErrorKind::BadRequest);
        assert_eq!(kind(422, None, "bad field"), ErrorKind::BadRequest);
        for status in [408, 409, 500, 502, 503, 504] {
            assert_eq!(
                kind(status, None, "x"),
                ErrorKind::Server,
                "status {status}"
            );
        }
    }

    #[test]
    fn retry_rules_and_should_retry_override() {
        let retryable = |api: ApiError| classify(api, "m", "h").is_retryable();
        assert!(retryable(ApiError::new("t", 500, "x")));
        assert!(!retryable(
            ApiError::new("t", 500, "x").with_should_retry(false)
        ));
        assert!(!retryable(ApiError::new("t", 400, "x")));
        assert!(retryable(
            ApiError::new("t", 400, "x").with_should_retry(true)
        ));
        assert!(!retryable(ApiError::new("t", 401, "x")));
        assert!(!retryable(
            ApiError::new("t", 429, "x").with_code("insufficient_quota")
        ));
        assert!(ProviderError::timeout("t").is_retryable());
        assert!(ProviderError::stream_cut("t", 3).is_retryable());
    }

    #[test]
    fn messages_are_lowercase_and_say_what_to_do() {
        let err = classify(
            ApiError::new("openai", 401, "bad key"),
            "m",
            "set OPENAI_API_KEY",
        );
        let text = err.to_string();
        assert!(text.starts_with("authentication failed"), "{text}");
        assert!(text.ends_with("set OPENAI_API_KEY"), "{text}");
        assert!(!text.ends_with('.'));
    }
}
