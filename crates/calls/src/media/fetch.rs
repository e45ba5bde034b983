//! Fetching prompt media from `mediaInfo.uri`: http(s) only, bounded in size and time, and — outside dev mode —
//! only from configured hosts and never from special-purpose addresses (loopback, private networks, cloud metadata
//! …) unless their network is allowed, so a bot cannot make the server reach into the network it runs in. Every
//! redirect is held to the same rules; names are checked as they are resolved (switchboard-egress).

use std::{sync::Arc, time::Duration};

use switchboard_egress::{AddressPolicy, refusal};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// Where prompts may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Largest file accepted.
    pub max_bytes: u64,
    /// How long one fetch may take.
    pub timeout: Duration,
    /// Hosts prompts may come from (`cdn.contoso.com`, or `*.contoso.com` for its subdomains); `None` allows any.
    pub allowed_hosts: Option<Vec<String>>,
    /// The addresses prompt hosts may have.
    pub addresses: AddressPolicy,
    /// Certificates (PEM) to trust for https prompt hosts, besides the system's.
    pub extra_roots: Vec<Vec<u8>>,
}

/// Redirects followed for one prompt.
const MAX_REDIRECTS: usize = 5;

impl FetchPolicy {
    /// Dev mode: anything, including the developer's own machine.
    pub fn open() -> FetchPolicy {
        FetchPolicy {
            max_bytes: 20 * 1024 * 1024,
            timeout: Duration::from_secs(10),
            allowed_hosts: None,
            addresses: AddressPolicy::any(),
            extra_roots: Vec::new(),
        }
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allowed_hosts.as_ref().is_none_or(|hosts| {
            hosts.iter().any(|allowed| {
                let allowed = allowed.to_ascii_lowercase();
                match allowed.strip_prefix("*.") {
                    Some(domain) => host.ends_with(&format!(".{domain}")),
                    None => host == allowed,
                }
            })
        })
    }

    /// Whether a prompt (or a redirect on its way) may be fetched from `url`; why not if not.
    fn check(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("'{url}' is not an http(s) URL"));
        }
        let host = url.host_str().ok_or_else(|| format!("'{url}' has no host"))?;
        if !self.allows_host(host) {
            return Err(format!(
                "{host} is not among the hosts prompts may be fetched from ([media] allowed_hosts of the server's configuration)"
            ));
        }
        self.addresses.check_url(url).map_err(|why| refused(&why))
    }
}

fn refused(refused: &switchboard_egress::Refused) -> String {
    format!(
        "{refused}: prompts may not come from there unless the network is allowed ([media] allowed_networks or \
         allow_private_addresses)"
    )
}

/// What went wrong with a request, with the refusal of an address spelled out.
fn describe(uri: &str, error: &reqwest::Error) -> String {
    match refusal(error) {
        Some(why) => refused(why),
        None => format!("cannot fetch {uri}: {error}"),
    }
}

/// Bytes of prompts being fetched and decoded, across all fetches: each fetch takes its share before it reads a
/// byte — what the server declares (`Content-Length`), or the most a prompt may be — and holds it until its bytes
/// are decoded and dropped.
#[derive(Debug, Clone)]
pub(crate) struct ByteBudget {
    kib: Arc<Semaphore>,
    total_kib: u32,
}

impl ByteBudget {
    pub(crate) fn new(bytes: u64) -> ByteBudget {
        let total_kib = u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX >> 3);
        ByteBudget { kib: Arc::new(Semaphore::new(total_kib as usize)), total_kib }
    }

    /// Waits for room for `bytes` (all the budget, if it is more).
    async fn reserve(&self, bytes: u64) -> OwnedSemaphorePermit {
        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX).clamp(1, self.total_kib);
        self.kib.clone().acquire_many_owned(kib).await.expect("invariant: the byte budget is never closed")
    }
}

/// The bytes of a fetched prompt, and its share of the byte budget (let go with them).
pub(crate) struct Fetched {
    pub(crate) bytes: Vec<u8>,
    pub(crate) _budget: OwnedSemaphorePermit,
}

/// The bytes at `uri`, or why they cannot be had.
pub(crate) async fn fetch(uri: &str, policy: &FetchPolicy, budget: &ByteBudget) -> Result<Fetched, String> {
    let url = Url::parse(uri).map_err(|e| format!("'{uri}' is not a URL: {e}"))?;
    policy.check(&url)?;
    let hops = policy.clone();
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        match hops.check(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(why) => attempt.error(why),
        }
    });
    let mut roots = Vec::new();
    for pem in &policy.extra_roots {
        roots.extend(
            reqwest::Certificate::from_pem_bundle(pem).map_err(|e| format!("a trusted certificate is not PEM: {e}"))?,
        );
    }
    let client = reqwest::Client::builder()
        .timeout(policy.timeout)
        .redirect(redirects)
        .dns_resolver(policy.addresses.resolver())
        .tls_certs_merge(roots)
        .build()
        .map_err(|e| format!("cannot fetch {uri}: {e}"))?;
    let mut response = client.get(url).send().await.map_err(|e| describe(uri, &e))?;
    if !response.status().is_success() {
        return Err(format!("{uri} answered {}", response.status()));
    }
    let declared = response.content_length();
    if declared.is_some_and(|length| length > policy.max_bytes) {
        return Err(format!("{uri} is larger than the {} bytes allowed", policy.max_bytes));
    }
    let reserved = declared.unwrap_or(policy.max_bytes);
    let share = budget.reserve(reserved).await;
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(uri, &e))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 > reserved {
            return Err(match declared {
                Some(length) => format!("{uri} sent more than the {length} bytes of its Content-Length"),
                None => format!("{uri} is larger than the {} bytes allowed", policy.max_bytes),
            });
        }
    }
    Ok(Fetched { bytes, _budget: share })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_checked() {
        let policy = FetchPolicy {
            allowed_hosts: Some(vec!["cdn.contoso.com".into(), "*.media.contoso.com".into()]),
            addresses: AddressPolicy::public_and(Vec::new()),
            ..FetchPolicy::open()
        };
        assert!(policy.allows_host("cdn.contoso.com") && policy.allows_host("CDN.contoso.com."));
        assert!(policy.allows_host("eu.media.contoso.com"));
        assert!(!policy.allows_host("media.contoso.com.evil.example") && !policy.allows_host("contoso.com"));
    }

    #[tokio::test]
    async fn what_is_refused_says_why() {
        let budget = ByteBudget::new(1 << 20);
        let refused = |uri: &'static str, policy: FetchPolicy| {
            let budget = budget.clone();
            async move { fetch(uri, &policy, &budget).await.err().expect("refused") }
        };
        let strict = FetchPolicy { addresses: AddressPolicy::public_and(Vec::new()), ..FetchPolicy::open() };
        let private = refused("http://127.0.0.1:9/beep.wav", strict.clone()).await;
        assert!(private.contains("127.0.0.0/8") && private.contains("allowed_networks"), "{private}");
        let by_name = refused("http://localhost:9/beep.wav", strict.clone()).await;
        assert!(by_name.contains("loopback"), "a name is checked as it resolves: {by_name}");
        assert!(refused("ftp://cdn.example/beep.wav", strict).await.contains("http(s)"));
        let listed = FetchPolicy { allowed_hosts: Some(vec!["cdn.contoso.com".into()]), ..FetchPolicy::open() };
        assert!(refused("http://127.0.0.1:9/beep.wav", listed).await.contains("allowed_hosts"));
    }
}
