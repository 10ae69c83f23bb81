//! PagerDuty (<https://developer.pagerduty.com/api-reference/>): the REST API v2 for reading,
//! acknowledging and resolving incidents and who is on call ([`rest`]), and the Events API v2
//! for raising alerts ([`events`]).

pub mod events;
pub mod rest;
