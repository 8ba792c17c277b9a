//! The state every handler gets.

use std::sync::Arc;

use ipnet::IpNet;

use vestibule_core::Core;

#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    /// `server.trusted_proxies`, parsed once: the peers whose forwarding headers are believed.
    pub trusted_proxies: Arc<[IpNet]>,
    /// `server.forwarded_header`: the one forwarding header those peers are believed in.
    pub forwarded_header: crate::forwarded::ForwardingHeader,
    /// The bodies of committed attribute GETs, by the model generation they were made at.
    pub rendered: Arc<crate::api::mstr::model::rendered::RenderedBodies>,
}

impl AppState {
    pub fn new(core: Arc<Core>) -> Self {
        // Validated at start (`ServerConfig::validate`); should an unvalidated config reach here,
        // trusting no proxy is the safe reading.
        let trusted_proxies = core
            .config()
            .server
            .trusted_proxy_nets()
            .unwrap_or_default()
            .into();
        let forwarded_header =
            crate::forwarded::ForwardingHeader::from_setting(&core.config().server.forwarded_header);
        AppState {
            core,
            trusted_proxies,
            forwarded_header,
            rendered: Arc::default(),
        }
    }
}
