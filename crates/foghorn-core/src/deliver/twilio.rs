//! The ladder's `sms` and `call` steps: texts and calls to the engineer on call through
//! [`crate::vendor::twilio`]. The receipt is the message's or call's `sid`.

use async_trait::async_trait;

use crate::config::EscalationConfig;
use crate::vendor::twilio::Twilio;

use super::{text, Channel, Deliver, Delivered, DeliveryError, Message};

pub use crate::vendor::twilio::IDEMPOTENCY_HEADER;

/// Texts the engineer on call (`Message::to`: a number or a name from `phones`).
#[derive(Debug, Clone)]
pub struct TwilioSms(Twilio);

impl TwilioSms {
    pub fn new(config: &EscalationConfig) -> Self {
        TwilioSms(Twilio::new(config))
    }
}

sender_options!(TwilioSms, 0.http);

#[async_trait]
impl Deliver for TwilioSms {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    async fn deliver(&self, message: &Message) -> Result<Delivered, DeliveryError> {
        let ready = self.0.ready(Channel::Sms, "Messages.json", &message.to)?;
        let body = text::sms_text(&message.incident);
        self.0
            .create(
                Channel::Sms,
                "Twilio Messages",
                ready,
                &message.idempotency_key,
                &[("Body", &body)],
            )
            .await
    }
}

/// Calls the engineer on call and reads the incident out three times (TwiML `<Say>`).
#[derive(Debug, Clone)]
pub struct TwilioCall(Twilio);

impl TwilioCall {
    pub fn new(config: &EscalationConfig) -> Self {
        TwilioCall(Twilio::new(config))
    }
}

sender_options!(TwilioCall, 0.http);

#[async_trait]
impl Deliver for TwilioCall {
    fn channel(&self) -> Channel {
        Channel::Call
    }

    async fn deliver(&self, message: &Message) -> Result<Delivered, DeliveryError> {
        let ready = self.0.ready(Channel::Call, "Calls.json", &message.to)?;
        let twiml = text::call_twiml(&message.incident);
        self.0
            .create(
                Channel::Call,
                "Twilio Calls",
                ready,
                &message.idempotency_key,
                &[("Twiml", &twiml)],
            )
            .await
    }
}
