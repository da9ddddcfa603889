//! Whether a URL points at this machine or at another one: a leaf that the suite's checks (a
//! remote `server_device`) and the power sources (which host a sample was read from) both use.

use reqwest::Url;

/// The host a URL points at, unless it is this machine (loopback or `localhost`): what
/// [`Sample::host`](crate::power::Sample::host) records.
pub fn remote_host(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let local = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!local).then(|| host.to_string())
}
