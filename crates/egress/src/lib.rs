//! Where Switchboard may be made to connect on a caller's behalf. A bot chooses the URLs notifications are posted
//! to (`callbackUri`, redirects its webhook answers with) and the prompts fetched for it (`mediaInfo.uri`); outside
//! dev mode none of them may lead into the machine or the networks it sits in — loopback, private, link-local
//! (cloud metadata), carrier-grade NAT, and every other special-purpose block ([`special_block`]) — unless an
//! operator allowed that network for bots that live there.
//!
//! Names are checked when they are resolved, by the resolver the HTTP client connects with
//! ([`GuardedResolver`]), so the addresses checked are the addresses used (a name that resolves to a public address
//! when checked and to a private one when used — DNS rebinding — gains nothing); addresses written in URLs are
//! checked by [`AddressPolicy::check_url`] before each request and each redirect.

mod special;

use std::{
    error::Error,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

pub use ipnet::IpNet;
pub use special::{SpecialBlock, special_block};
use url::{Host, Url};

/// Which addresses outgoing requests made for callers may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Any address, special or not: dev mode, where bots and their prompts live on the developer's own machine.
    pub any_address: bool,
    /// Special-purpose networks allowed all the same (bots on a private network).
    pub allowed_networks: Vec<IpNet>,
}

/// A connection the policy does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} is {address}, in {} ({})", block.network, block.name)]
pub struct Refused {
    pub host: String,
    pub address: IpAddr,
    pub block: SpecialBlock,
}

impl AddressPolicy {
    /// Dev mode's: anything.
    pub fn any() -> AddressPolicy {
        AddressPolicy { any_address: true, allowed_networks: Vec::new() }
    }

    /// Public addresses, and `allowed_networks`.
    pub fn public_and(allowed_networks: Vec<IpNet>) -> AddressPolicy {
        AddressPolicy { any_address: false, allowed_networks }
    }

    /// Whether `address` may be connected to; if not, the special-purpose block it is in.
    pub fn check(&self, address: IpAddr) -> Result<(), SpecialBlock> {
        if self.any_address {
            return Ok(());
        }
        // `::ffff:10.0.0.1` is in an allowed `10.0.0.0/8` as much as `10.0.0.1` is.
        let canonical = address.to_canonical();
        match special_block(address) {
            None => Ok(()),
            Some(_) if self.allowed_networks.iter().any(|n| n.contains(&address) || n.contains(&canonical)) => Ok(()),
            Some(block) => Err(block),
        }
    }

    /// The host of `url`, when it is an address, against the policy (names are checked by [`GuardedResolver`]).
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        let address = match url.host() {
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(Host::Domain(_)) | None => return Ok(()),
        };
        self.check(address).map_err(|block| Refused {
            host: url.host_str().unwrap_or_default().to_owned(),
            address,
            block,
        })
    }

    /// A resolver for an HTTP client that hands out only the addresses this policy allows.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { policy: self.clone() })
    }
}

/// The system's resolver, keeping only the addresses the policy allows; a name with none left fails with
/// [`Refused`] (found again in a client's error by [`refusal`]).
#[derive(Debug)]
pub struct GuardedResolver {
    policy: AddressPolicy,
}

impl GuardedResolver {
    /// The addresses `host` resolves to that the policy allows.
    pub async fn resolve_host(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Box<dyn Error + Send + Sync>> {
        let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
        let mut refused = None;
        let allowed: Vec<SocketAddr> = resolved
            .into_iter()
            .filter(|address| match self.policy.check(address.ip()) {
                Ok(()) => true,
                Err(block) => {
                    refused.get_or_insert(Refused { host: host.to_owned(), address: address.ip(), block });
                    false
                }
            })
            .collect();
        match (allowed.is_empty(), refused) {
            (true, Some(refused)) => Err(Box::new(refused)),
            (true, None) => Err(format!("{host} resolves to no address").into()),
            (false, _) => Ok(allowed),
        }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = GuardedResolver { policy: self.policy.clone() };
        Box::pin(async move {
            let addresses = resolver.resolve_host(name.as_str(), 0).await?;
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether `url`'s host is this machine by name or address (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(v4)) => v4.is_loopback(),
        Some(Host::Ipv6(v6)) => v6.is_loopback(),
        None => false,
    }
}

/// The [`Refused`] somewhere in `error`'s chain of causes (an HTTP client reports a resolver's error as a cause of
/// its own).
pub fn refusal<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a Refused> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(refused) = error.downcast_ref::<Refused>() {
            return Some(refused);
        }
        cause = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_networks_open_special_blocks_and_nothing_else() {
        let policy = AddressPolicy::public_and(vec!["10.1.0.0/16".parse().unwrap(), "fd00::/8".parse().unwrap()]);
        assert!(policy.check("10.1.2.3".parse().unwrap()).is_ok());
        assert!(policy.check("::ffff:10.1.2.3".parse().unwrap()).is_ok(), "the mapped form too");
        assert!(policy.check("fd00::5".parse().unwrap()).is_ok());
        assert_eq!(policy.check("10.2.0.1".parse().unwrap()).unwrap_err().network, "10.0.0.0/8");
        assert_eq!(policy.check("127.0.0.1".parse().unwrap()).unwrap_err().network, "127.0.0.0/8");
        assert!(policy.check("8.8.8.8".parse().unwrap()).is_ok());
        assert!(AddressPolicy::any().check("127.0.0.1".parse().unwrap()).is_ok());
    }

    #[test]
    fn addresses_in_urls_are_checked_names_are_left_to_the_resolver() {
        let policy = AddressPolicy::public_and(Vec::new());
        let refused = policy.check_url(&"https://[::1]:8443/callback".parse().unwrap()).unwrap_err();
        assert_eq!((refused.host.as_str(), refused.block.network), ("[::1]", "::1/128"));
        assert!(policy.check_url(&"https://0x7f.1/x".parse().unwrap()).is_err(), "URL parsing normalises 127.1");
        assert!(policy.check_url(&"https://bot.contoso.com/x".parse().unwrap()).is_ok());
    }

    #[tokio::test]
    async fn the_resolver_keeps_only_allowed_addresses() {
        let strict = AddressPolicy::public_and(Vec::new()).resolver();
        let error = strict.resolve_host("localhost", 443).await.unwrap_err();
        let refused = refusal(&*error).expect("a refusal");
        assert!(refused.address.is_loopback(), "{refused}");
        let open = AddressPolicy::any().resolver();
        assert!(open.resolve_host("localhost", 443).await.unwrap().iter().all(|a| a.ip().is_loopback()));
    }
}
