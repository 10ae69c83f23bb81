//! The words every channel sends, in one place: the chat post (Slack mrkdwn with mentions),
//! the text message (one SMS segment when it can be) and the TwiML a call reads out.

use crate::incident::Severity;

use super::MessageIncident;

/// A GSM-7 SMS segment. Longer texts are split by the carrier and may arrive out of order.
pub const SMS_SEGMENT: usize = 160;

/// Twilio refuses a `Twiml` parameter longer than this.
pub const TWIML_MAX: usize = 4000;

/// How often a call reads the incident out.
pub const CALL_REPEATS: u32 = 3;

/// The severity as a word for people, in capitals for chat and SMS headlines.
fn shout(severity: Severity) -> String {
    severity.as_str().to_uppercase()
}

/// A configured mention as Slack mrkdwn: `@channel`/`@here`/`@everyone` become `<!channel>`
/// …, user ids (`U…`, `W…`, with or without `@`) `<@U…>`, user-group ids (`S…`)
/// `<!subteam^S…>`; text already in Slack's `<…>` form is kept.
pub fn slack_mention(mention: &str) -> String {
    let m = mention.trim();
    if m.starts_with('<') && m.ends_with('>') {
        return m.to_owned();
    }
    let bare = m.trim_start_matches(['@', '!']);
    match bare.to_ascii_lowercase().as_str() {
        "channel" | "here" | "everyone" => return format!("<!{}>", bare.to_ascii_lowercase()),
        _ => {}
    }
    let is_id = bare.len() > 1
        && bare
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    match bare.chars().next() {
        Some('U' | 'W') if is_id => format!("<@{bare}>"),
        Some('S') if is_id => format!("<!subteam^{bare}>"),
        // A display name cannot be turned into a mention without a lookup; say it plainly.
        _ => format!("@{}", escape_mrkdwn(bare)),
    }
}

/// Slack's three control characters in message text (`&`, `<`, `>`).
pub fn escape_mrkdwn(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The chat post: mentions and the headline on the first line, then the summary, the link
/// and how to acknowledge.
///
/// ```text
/// <!channel> :rotating_light: *CRITICAL* api is down
/// HTTP 503 from https://api.example.com/health
/// <https://foghorn.example/incidents/12|Open the incident>
/// Acknowledge in Foghorn, or reply ACK
/// ```
pub fn chat_text(incident: &MessageIncident, mentions: &[String]) -> String {
    let mut first = mentions
        .iter()
        .map(|m| slack_mention(m))
        .collect::<Vec<_>>()
        .join(" ");
    if !first.is_empty() {
        first.push(' ');
    }
    let icon = match incident.severity {
        Severity::Critical | Severity::Major => ":rotating_light:",
        Severity::Minor => ":warning:",
        Severity::Info => ":information_source:",
    };
    first.push_str(&format!(
        "{icon} *{}* {}",
        shout(incident.severity),
        escape_mrkdwn(incident.title.trim())
    ));
    let mut lines = vec![first];
    let summary = incident.summary.trim();
    if !summary.is_empty() {
        lines.push(escape_mrkdwn(summary));
    }
    if let Some(link) = incident
        .link
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        // Inside `<…|…>` only the separators must not appear in the URL.
        let url = link.replace('|', "%7C").replace('>', "%3E");
        lines.push(format!("<{url}|Open the incident>"));
    }
    let hint = incident.ack_hint.trim();
    if !hint.is_empty() {
        lines.push(format!("_{}_", escape_mrkdwn(hint)));
    }
    lines.join("\n")
}

/// The longest prefix of `s` made of whole words that fits in `max` characters with `...`
/// after it, or `None` when not even the first word fits. ASCII dots rather than `…`: one
/// character outside the GSM alphabet makes a whole SMS UCS-2, at 70 characters a segment.
pub fn fit_words(s: &str, max: usize) -> Option<String> {
    let s = s.trim();
    if s.chars().count() <= max {
        return Some(s.to_owned());
    }
    let mut out = String::new();
    for word in s.split_whitespace() {
        let extra = usize::from(!out.is_empty()) + word.chars().count();
        if out.chars().count() + extra + 3 > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        return None;
    }
    let out = out.trim_end_matches(['.', ',', ';', ':', '-']);
    Some(format!("{out}..."))
}

/// The text message: `Foghorn CRITICAL: <title>. <summary> <link> <ack hint>`, within one
/// 160-character segment when possible. What gives way first is the link, then the end of
/// the summary (at a word boundary); the headline and the acknowledgement hint stay. Words
/// are never cut; a headline longer than a segment is sent whole.
pub fn sms_text(incident: &MessageIncident) -> String {
    let title = incident.title.trim().trim_end_matches('.');
    let hint = incident.ack_hint.trim();
    let summary = incident.summary.trim();
    let link = incident.link.as_deref().map(str::trim).unwrap_or_default();
    let sev = shout(incident.severity);

    let join = |parts: &[&str]| {
        parts
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let headline = |title: &str| format!("Foghorn {sev}: {title}.");
    let head = headline(title);
    let len = |s: &str| s.chars().count();

    let full = join(&[&head, summary, link, hint]);
    if len(&full) <= SMS_SEGMENT {
        return full;
    }
    let no_link = join(&[&head, summary, hint]);
    if len(&no_link) <= SMS_SEGMENT {
        return no_link;
    }
    let fixed = join(&[&head, hint]);
    if len(&fixed) < SMS_SEGMENT {
        // Room left for part of the summary, between the headline and the hint.
        let room = SMS_SEGMENT - len(&fixed) - 1;
        if let Some(cut) = fit_words(summary, room) {
            return join(&[&head, &cut, hint]);
        }
        return fixed;
    }
    // The headline and the hint alone are too long: shorten the title, keep the hint.
    let room =
        SMS_SEGMENT.saturating_sub(len(&headline("")) + usize::from(!hint.is_empty()) + len(hint));
    match fit_words(title, room) {
        // A shortened title ends in `...`, which stands in for the headline's full stop.
        Some(t) if room > 0 => join(&[&format!("Foghorn {sev}: {t}"), hint]),
        _ => fixed,
    }
}

/// XML's five special characters, for text and attribute values.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// What a call says, once: who is calling, the incident and how to acknowledge it. Links are
/// not read out.
pub fn spoken_text(incident: &MessageIncident) -> String {
    let sentence = |s: &str| {
        let s = s.trim();
        if s.is_empty() || s.ends_with(['.', '!', '?']) {
            s.to_owned()
        } else {
            format!("{s}.")
        }
    };
    [
        "This is Foghorn.".to_owned(),
        format!(
            "{} incident: {}",
            capitalise(incident.severity.as_str()),
            sentence(&incident.title)
        ),
        sentence(&incident.summary),
        sentence(&incident.ack_hint),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The call's TwiML: `<Response><Say loop="3">…</Say></Response>`, the text XML-escaped and
/// shortened at a word boundary so the document stays within Twilio's 4,000 characters.
pub fn call_twiml(incident: &MessageIncident) -> String {
    let wrap = |text: &str| {
        format!(
            "<Response><Say loop=\"{CALL_REPEATS}\">{}</Say></Response>",
            escape_xml(text)
        )
    };
    let spoken = spoken_text(incident);
    let twiml = wrap(&spoken);
    if twiml.chars().count() <= TWIML_MAX {
        return twiml;
    }
    // Escaping lengthens the text by an amount that depends on where it is cut: the longest
    // whole-word prefix whose escaped document fits, by bisection on the prefix's length.
    let fits = |room: usize| {
        let twiml = wrap(&fit_words(&spoken, room).unwrap_or_default());
        (twiml.chars().count() <= TWIML_MAX).then_some(twiml)
    };
    let (mut lo, mut hi) = (0, spoken.chars().count());
    let mut best = wrap("");
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        match fits(mid) {
            Some(twiml) => {
                best = twiml;
                lo = mid;
            }
            None => hi = mid - 1,
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident() -> MessageIncident {
        MessageIncident {
            id: 12,
            dedup_key: "monitor:api".into(),
            title: "api is down".into(),
            severity: Severity::Critical,
            summary: "HTTP 503 from https://api.example.com/health".into(),
            link: Some("https://foghorn.example/incidents/12".into()),
            ack_hint: "Acknowledge in Foghorn, or reply ACK".into(),
        }
    }

    #[test]
    fn mentions_render_as_slack_syntax() {
        assert_eq!(slack_mention("@channel"), "<!channel>");
        assert_eq!(slack_mention("here"), "<!here>");
        assert_eq!(slack_mention("!everyone"), "<!everyone>");
        assert_eq!(slack_mention("U123ABC"), "<@U123ABC>");
        assert_eq!(slack_mention("@W0042"), "<@W0042>");
        assert_eq!(slack_mention("S0614TZR7"), "<!subteam^S0614TZR7>");
        assert_eq!(slack_mention("<@U999>"), "<@U999>");
        assert_eq!(slack_mention("alice"), "@alice");
        assert_eq!(slack_mention("a<b"), "@a&lt;b");
    }

    #[test]
    fn chat_text_has_mentions_headline_summary_link_and_hint() {
        let text = chat_text(&incident(), &["@channel".into(), "U123".into()]);
        assert_eq!(
            text,
            "<!channel> <@U123> :rotating_light: *CRITICAL* api is down\n\
             HTTP 503 from https://api.example.com/health\n\
             <https://foghorn.example/incidents/12|Open the incident>\n\
             _Acknowledge in Foghorn, or reply ACK_"
        );
    }

    #[test]
    fn chat_text_escapes_control_characters_and_skips_what_is_missing() {
        let mut i = incident();
        i.title = "p99 > 2s & <rising>".into();
        i.summary = String::new();
        i.link = None;
        i.severity = Severity::Minor;
        let text = chat_text(&i, &[]);
        assert_eq!(
            text,
            ":warning: *MINOR* p99 &gt; 2s &amp; &lt;rising&gt;\n_Acknowledge in Foghorn, or reply ACK_"
        );
    }

    #[test]
    fn short_sms_says_everything() {
        let text = sms_text(&incident());
        assert_eq!(
            text,
            "Foghorn CRITICAL: api is down. HTTP 503 from https://api.example.com/health \
             https://foghorn.example/incidents/12 Acknowledge in Foghorn, or reply ACK"
        );
        assert!(text.chars().count() <= SMS_SEGMENT);
    }

    #[test]
    fn long_sms_drops_the_link_then_shortens_the_summary_at_a_word() {
        let mut i = incident();
        i.summary = "connection refused by every one of the three load balancers in the \
                     eu-west region since the deploy of release 2024.11.3 finished rolling out"
            .into();
        let text = sms_text(&i);
        assert!(text.chars().count() <= SMS_SEGMENT, "{} {text}", text.len());
        assert!(text.starts_with("Foghorn CRITICAL: api is down. connection refused"));
        assert!(
            text.ends_with("... Acknowledge in Foghorn, or reply ACK"),
            "{text}"
        );
        assert!(!text.contains("https://foghorn.example"));
        // Every word in it is a whole word of the original.
        let before = text
            .trim_end_matches(" Acknowledge in Foghorn, or reply ACK")
            .trim_end_matches("...");
        let words: Vec<&str> = i.summary.split_whitespace().collect();
        let kept = before.trim_start_matches("Foghorn CRITICAL: api is down. ");
        for w in kept.split_whitespace() {
            assert!(words.contains(&w), "{w:?} was cut");
        }
    }

    #[test]
    fn very_long_titles_are_shortened_and_the_hint_kept() {
        let mut i = incident();
        i.title = "word ".repeat(60);
        let text = sms_text(&i);
        assert!(text.chars().count() <= SMS_SEGMENT, "{text}");
        assert!(text.ends_with("Acknowledge in Foghorn, or reply ACK"));
        assert!(text.contains("word word..."), "{text}");
        // One unbreakable word longer than a segment is sent whole rather than cut.
        i.title = "x".repeat(200);
        let text = sms_text(&i);
        assert!(text.contains(&"x".repeat(200)));
    }

    #[test]
    fn fit_words_never_cuts_a_word() {
        assert_eq!(fit_words("short", 10).as_deref(), Some("short"));
        assert_eq!(
            fit_words("one two three four", 12).as_deref(),
            Some("one two...")
        );
        assert_eq!(fit_words("unbreakable", 5), None);
    }

    #[test]
    fn twiml_says_the_incident_three_times_escaped() {
        let mut i = incident();
        i.title = "db <primary> & \"replica\"".into();
        assert_eq!(
            call_twiml(&i),
            "<Response><Say loop=\"3\">This is Foghorn. Critical incident: db &lt;primary&gt; \
             &amp; &quot;replica&quot;. HTTP 503 from https://api.example.com/health. \
             Acknowledge in Foghorn, or reply ACK.</Say></Response>"
        );
    }

    #[test]
    fn twiml_fits_twilios_limit() {
        let mut i = incident();
        i.summary = "<&> ".repeat(2000);
        let twiml = call_twiml(&i);
        assert!(twiml.chars().count() <= TWIML_MAX, "{}", twiml.len());
        assert!(
            twiml.ends_with("...</Say></Response>"),
            "{}",
            &twiml[twiml.len() - 60..]
        );
        assert!(twiml.starts_with("<Response><Say loop=\"3\">This is Foghorn."));
    }
}
