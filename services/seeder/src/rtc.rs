//! The webrtc crate set up for peers on any network, loopback included: no
//! multicast DNS (it fails where there is no multicast route, such as a
//! network namespace, and browsers give plain addresses once they may), and
//! loopback candidates gathered, so peers on one machine find each other.

use webrtc::api::APIBuilder;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::ice::mdns::MulticastDnsMode;

pub fn api() -> webrtc::api::API {
    let mut settings = SettingEngine::default();
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    settings.set_include_loopback_candidate(true);
    APIBuilder::new().with_setting_engine(settings).build()
}
