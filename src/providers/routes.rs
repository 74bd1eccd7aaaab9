//! Which requests are provider calls: a known provider host (or a base URL the
//! application registered) and an endpoint path of one of the [`Api`]s.

use ureq::http::Uri;

use crate::adapters::Api;
use crate::util::url::target;

/// Hosts of providers whose APIs are recognized without registering them, with
/// their `gen_ai.provider.name` (`None`: the API's own). A leading `*.` matches
/// any subdomain.
const KNOWN_HOSTS: &[(&str, Option<&str>)] = &[
    ("api.openai.com", None),
    ("*.openai.azure.com", Some("azure.ai.openai")),
    ("api.anthropic.com", None),
    ("generativelanguage.googleapis.com", None),
    ("aiplatform.googleapis.com", Some("gcp.vertex_ai")),
    ("*.aiplatform.googleapis.com", Some("gcp.vertex_ai")),
    ("api.groq.com", Some("groq")),
    ("api.mistral.ai", Some("mistral_ai")),
    ("api.x.ai", Some("x_ai")),
    ("api.deepseek.com", Some("deepseek")),
    ("api.perplexity.ai", Some("perplexity")),
];

/// A recognized call: its API and, for a compatible provider, its own name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub api: Api,
    pub provider: Option<&'static str>,
}

/// A base URL registered as a provider's: what it points at (scheme, host, port;
/// see [`target`]) and the path prefix requests under it start with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    target: (String, String, u16),
    path: String,
}

impl BaseUrl {
    /// `None` for a URL without a scheme or host.
    pub fn parse(url: &str) -> Option<BaseUrl> {
        let url = url.trim();
        let uri: Uri = url.parse().ok()?;
        Some(BaseUrl { target: target(url)?, path: uri.path().trim_end_matches('/').to_owned() })
    }

    fn contains(&self, target: &(String, String, u16), path: &str) -> bool {
        *target == self.target
            && path.strip_prefix(self.path.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// The provider call `uri` is, if it is one: under a registered base URL or a
/// known provider host, with an endpoint path of a known API.
pub(crate) fn route(uri: &Uri, bases: &[BaseUrl]) -> Option<Route> {
    let registered =
        !bases.is_empty() && target(&uri.to_string()).is_some_and(|t| bases.iter().any(|b| b.contains(&t, uri.path())));
    let provider = if registered {
        None
    } else {
        let host = uri.host()?.to_ascii_lowercase();
        let known = KNOWN_HOSTS.iter().find(|(pattern, _)| match pattern.strip_prefix("*.") {
            Some(domain) => host.strip_suffix(domain).is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
            None => host == *pattern,
        })?;
        known.1
    };
    Some(Route { api: api_of(uri.path())?, provider })
}

/// The API an endpoint path names.
fn api_of(path: &str) -> Option<Api> {
    let path = path.trim_end_matches('/');
    if path.ends_with("/chat/completions") {
        return Some(Api::OpenAiChat);
    }
    if path.ends_with("/responses") {
        return Some(Api::OpenAiResponses);
    }
    if path.ends_with("/messages") {
        return Some(Api::AnthropicMessages);
    }
    // `…/models/{model}:generateContent` (Gemini, Vertex AI).
    let last = path.rsplit('/').next()?;
    let (model, method) = last.split_once(':')?;
    if matches!(method, "generateContent" | "streamGenerateContent") && !model.is_empty() {
        return Some(Api::Gemini { model: model.to_owned() });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(url: &str, bases: &[&str]) -> Option<Route> {
        let bases: Vec<BaseUrl> = bases.iter().map(|b| BaseUrl::parse(b).unwrap()).collect();
        route(&url.parse().unwrap(), &bases)
    }

    #[test]
    fn known_hosts_and_endpoints_are_recognized() {
        let api = |url| at(url, &[]).map(|r| r.api);
        assert_eq!(api("https://api.openai.com/v1/chat/completions"), Some(Api::OpenAiChat));
        assert_eq!(api("https://API.OpenAI.com/v1/responses"), Some(Api::OpenAiResponses));
        assert_eq!(api("https://api.anthropic.com/v1/messages"), Some(Api::AnthropicMessages));
        assert_eq!(
            api("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=k"),
            Some(Api::Gemini { model: "gemini-2.0-flash".into() })
        );
        let azure = at("https://me.openai.azure.com/openai/deployments/d/chat/completions?api-version=1", &[]);
        assert_eq!(azure, Some(Route { api: Api::OpenAiChat, provider: Some("azure.ai.openai") }));
        assert_eq!(at("https://api.groq.com/openai/v1/chat/completions", &[]).unwrap().provider, Some("groq"));
    }

    #[test]
    fn other_requests_are_not_calls() {
        assert_eq!(at("https://api.openai.com/v1/models", &[]), None);
        assert_eq!(at("https://api.anthropic.com/v1/messages/count_tokens", &[]), None);
        assert_eq!(at("https://example.com/v1/chat/completions", &[]), None, "an unknown host");
        assert_eq!(at("https://evil-openai.azure.com/x/chat/completions", &[]), None);
        assert_eq!(at("https://.openai.azure.com/x/chat/completions", &[]), None);
        assert_eq!(at("https://generativelanguage.googleapis.com/v1beta/models/m:countTokens", &[]), None);
    }

    #[test]
    fn registered_base_urls_are_recognized_by_path() {
        let bases = ["http://localhost:11434/v1/", "https://proxy.corp/llm"];
        let r = at("http://LOCALHOST:11434/v1/chat/completions", &bases);
        assert_eq!(r, Some(Route { api: Api::OpenAiChat, provider: None }));
        assert_eq!(at("https://proxy.corp/llm/v1/messages", &bases).unwrap().api, Api::AnthropicMessages);
        assert_eq!(at("http://localhost:11435/v1/chat/completions", &bases), None, "another port");
        assert_eq!(at("https://localhost:11434/v1/chat/completions", &bases), None, "another scheme");
        assert_eq!(at("https://proxy.corp/llmx/chat/completions", &bases), None, "not under the path");
        assert_eq!(at("http://localhost:11434/v1/embeddings", &bases), None);
        assert!(at("https://proxy.corp:443/llm/v1/messages", &bases).is_some(), "the default port, written");
        assert!(at("http://gw:80/v1/chat/completions", &["http://gw/v1"]).is_some());
        assert_eq!(at("https://proxy.corp:8443/llm/v1/messages", &bases), None);
    }
}
