//! Fetching prompt media from `mediaInfo.uri`: http(s) only, bounded in size and time, and — outside dev mode —
//! only from configured hosts and never from private addresses unless allowed, so a bot cannot make the server
//! reach into the network it runs in.

use std::{net::IpAddr, time::Duration};

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
    /// Whether hosts may resolve to loopback, private, link-local or other non-public addresses.
    pub allow_private_addresses: bool,
    /// Certificates (PEM) to trust for https prompt hosts, besides the system's.
    pub extra_roots: Vec<Vec<u8>>,
}

impl FetchPolicy {
    /// Dev mode: anything, including the developer's own machine.
    pub fn open() -> FetchPolicy {
        FetchPolicy {
            max_bytes: 20 * 1024 * 1024,
            timeout: Duration::from_secs(10),
            allowed_hosts: None,
            allow_private_addresses: true,
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
}

/// Not a public unicast address: what a server must not be made to call on a bot's behalf.
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 100.64.0.0/10, carrier-grade NAT.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
        }
    }
}

/// The bytes at `uri`, or why they cannot be had.
pub(crate) async fn fetch(uri: &str, policy: &FetchPolicy) -> Result<Vec<u8>, String> {
    let url = Url::parse(uri).map_err(|e| format!("'{uri}' is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("'{uri}' is not an http(s) URL"));
    }
    let host = url.host_str().ok_or_else(|| format!("'{uri}' has no host"))?.to_owned();
    if !policy.allows_host(&host) {
        return Err(format!(
            "{host} is not among the hosts prompts may be fetched from ([media] allowed_hosts of the server's configuration)"
        ));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let bare_host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((bare_host.as_str(), port))
        .await
        .map_err(|e| format!("{host} cannot be resolved: {e}"))?
        .collect();
    if !policy.allow_private_addresses && addresses.iter().any(|a| is_private(a.ip())) {
        return Err(format!(
            "{host} resolves to a private address, which prompts may not come from ([media] allow_private_addresses)"
        ));
    }
    // The addresses checked are the addresses used; redirects are followed only where any address is allowed.
    let redirects = if policy.allow_private_addresses && policy.allowed_hosts.is_none() {
        reqwest::redirect::Policy::limited(5)
    } else {
        reqwest::redirect::Policy::none()
    };
    let mut roots = Vec::new();
    for pem in &policy.extra_roots {
        roots.extend(
            reqwest::Certificate::from_pem_bundle(pem).map_err(|e| format!("a trusted certificate is not PEM: {e}"))?,
        );
    }
    let client = reqwest::Client::builder()
        .timeout(policy.timeout)
        .redirect(redirects)
        .resolve_to_addrs(&bare_host, &addresses)
        .tls_certs_merge(roots)
        .build()
        .map_err(|e| format!("cannot fetch {uri}: {e}"))?;
    let mut response = client.get(url).send().await.map_err(|e| format!("cannot fetch {uri}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{uri} answered {}", response.status()));
    }
    if response.content_length().is_some_and(|length| length > policy.max_bytes) {
        return Err(format!("{uri} is larger than the {} bytes allowed", policy.max_bytes));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("cannot fetch {uri}: {e}"))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 > policy.max_bytes {
            return Err(format!("{uri} is larger than the {} bytes allowed", policy.max_bytes));
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_addresses_are_checked() {
        let policy = FetchPolicy {
            allowed_hosts: Some(vec!["cdn.contoso.com".into(), "*.media.contoso.com".into()]),
            allow_private_addresses: false,
            ..FetchPolicy::open()
        };
        assert!(policy.allows_host("cdn.contoso.com") && policy.allows_host("CDN.contoso.com."));
        assert!(policy.allows_host("eu.media.contoso.com"));
        assert!(!policy.allows_host("media.contoso.com.evil.example") && !policy.allows_host("contoso.com"));
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        assert!(!is_private("20.190.160.1".parse().unwrap()) && !is_private("2603:1000::1".parse().unwrap()));
    }

    #[tokio::test]
    async fn what_is_refused_says_why() {
        let strict = FetchPolicy { allow_private_addresses: false, ..FetchPolicy::open() };
        let private = fetch("http://127.0.0.1:9/beep.wav", &strict).await.unwrap_err();
        assert!(private.contains("private address"), "{private}");
        assert!(fetch("ftp://cdn.example/beep.wav", &strict).await.unwrap_err().contains("http(s)"));
        let listed = FetchPolicy { allowed_hosts: Some(vec!["cdn.contoso.com".into()]), ..FetchPolicy::open() };
        assert!(fetch("http://127.0.0.1:9/beep.wav", &listed).await.unwrap_err().contains("allowed_hosts"));
    }
}
