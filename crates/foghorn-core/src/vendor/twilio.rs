//! Twilio's REST API, 2010-04-01 (<https://www.twilio.com/docs/usage/api>; described in
//! `twilio-api-v2010-messages-calls-openapi.json`): texts and calls to the engineer on call.
//!
//! `POST {twilio_api}/2010-04-01/Accounts/{twilio_account}/Messages.json` (`To`, `From`,
//! `Body`) and `.../Calls.json` (`To`, `From`, `Twiml`), form-encoded, HTTP Basic
//! `account:token`. Both send `I-Twilio-Idempotency-Token: <idempotency key>`, so a retry of
//! the same step within Twilio's idempotency window is not sent twice. The receipt is the
//! message's or call's `sid`.

use crate::config::EscalationConfig;
use crate::deliver::http::{check_status, permanent, Http};
use crate::deliver::{Channel, Delivered, DeliveryError};
use crate::secret::SecretRef;

/// Twilio's header for idempotent creates.
pub const IDEMPOTENCY_HEADER: &str = "I-Twilio-Idempotency-Token";

/// An account's API, and the phone book of `[escalation] phones`.
#[derive(Debug, Clone)]
pub struct Twilio {
    api: String,
    account: Option<String>,
    token: Option<SecretRef>,
    from: Option<String>,
    phones: std::collections::BTreeMap<String, String>,
    pub(crate) http: Http,
}

/// The parts of a request every Twilio call needs, checked before anything is sent.
pub(crate) struct Ready {
    url: String,
    account: String,
    token: String,
    from: String,
    to: String,
}

fn looks_like_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    s.starts_with('+')
        && digits >= 7
        && s[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'))
}

impl Twilio {
    pub fn new(config: &EscalationConfig) -> Self {
        Twilio {
            api: config.twilio_api.trim_end_matches('/').to_owned(),
            account: config.twilio_account.clone(),
            token: config.twilio_token.clone(),
            from: config.twilio_from.clone(),
            phones: config.phones.clone(),
            http: Http::default(),
        }
    }

    /// `to` is a phone number (E.164, `+…`) or a name from `[escalation] phones`.
    pub(crate) fn phone(&self, channel: Channel, to: &str) -> Result<String, DeliveryError> {
        let to = to.trim();
        if to.is_empty() {
            return Err(permanent(
                channel,
                "no phone number for the engineer on call (add them to [escalation] phones)",
            ));
        }
        if let Some(number) = self.phones.get(to) {
            return Ok(number.trim().to_owned());
        }
        if looks_like_phone(to) {
            return Ok(to
                .chars()
                .filter(|c| *c == '+' || c.is_ascii_digit())
                .collect());
        }
        Err(permanent(
            channel,
            format!("no phone number for {to:?} in [escalation] phones"),
        ))
    }

    pub(crate) fn ready(
        &self,
        channel: Channel,
        resource: &str,
        to: &str,
    ) -> Result<Ready, DeliveryError> {
        let to = self.phone(channel, to)?;
        let account = self
            .account
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| permanent(channel, "[escalation] twilio_account is not set"))?
            .to_owned();
        let from = self
            .from
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| permanent(channel, "[escalation] twilio_from is not set"))?
            .to_owned();
        let token =
            self.http
                .secrets
                .get(channel, "[escalation] twilio_token", self.token.as_ref())?;
        Ok(Ready {
            url: format!("{}/2010-04-01/Accounts/{account}/{resource}", self.api),
            account,
            token,
            from,
            to,
        })
    }

    pub(crate) async fn create(
        &self,
        channel: Channel,
        what: &str,
        ready: Ready,
        idempotency_key: &str,
        fields: &[(&str, &str)],
    ) -> Result<Delivered, DeliveryError> {
        let mut form = vec![("To", ready.to.as_str()), ("From", ready.from.as_str())];
        form.extend_from_slice(fields);
        let request = self
            .http
            .client
            .post(&ready.url)
            .basic_auth(&ready.account, Some(&ready.token))
            .header(IDEMPOTENCY_HEADER, idempotency_key)
            .form(&form);
        let answer = self.http.send(channel, what, request).await?;
        check_status(channel, what, &answer)?;
        let sid = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("sid")?.as_str().map(str::to_owned));
        Ok(Delivered { receipt: sid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_numbers_or_names_from_the_config() {
        let mut config = EscalationConfig::default();
        config
            .phones
            .insert("Alice Smith".into(), "+15551234567".into());
        let t = Twilio::new(&config);
        assert_eq!(
            t.phone(Channel::Sms, "Alice Smith").as_deref(),
            Ok("+15551234567")
        );
        assert_eq!(
            t.phone(Channel::Sms, "+44 20 7946-0000").as_deref(),
            Ok("+442079460000")
        );
        assert!(matches!(
            t.phone(Channel::Sms, "Bob"),
            Err(DeliveryError::Permanent { message, .. }) if message.contains("\"Bob\"")
        ));
        assert!(matches!(
            t.phone(Channel::Call, " "),
            Err(DeliveryError::Permanent { message, .. }) if message.contains("phones")
        ));
    }
}
