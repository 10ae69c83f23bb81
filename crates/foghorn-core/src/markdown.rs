//! Markdown to HTML, one way for every document Foghorn writes (letters, postmortems):
//! CommonMark with GitHub's tables and strikethrough. HTML written into the Markdown is shown
//! as text, never passed through: a letter to every customer, or a postmortem exported for
//! anyone to open, is no place for markup nobody reviewed (a `<script>` or a remote image).

use pulldown_cmark::{Event, Options, Parser};

/// Markdown to the HTML of a document's body.
pub fn fragment(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    )
    .map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut body = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut body, parser);
    body
}

/// Like [`fragment`], for a document opened anywhere without a network: an image whose
/// source is not inline (`data:`) becomes a link to it, so opening the document loads
/// nothing and no one learns it was opened.
pub fn self_contained_fragment(markdown: &str) -> String {
    use pulldown_cmark::{Tag, TagEnd};
    let mut linked = Vec::new();
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    )
    .map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let inline = dest_url.trim_start().starts_with("data:");
            linked.push(!inline);
            if inline {
                Event::Start(Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            } else {
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            }
        }
        Event::End(TagEnd::Image) if linked.pop().unwrap_or(false) => Event::End(TagEnd::Link),
        other => other,
    });
    let mut body = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut body, parser);
    body
}

/// The text of the first heading (any level), as plain text: a document's title.
pub fn first_heading(markdown: &str) -> Option<String> {
    let mut in_heading = false;
    let mut title = String::new();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(pulldown_cmark::Tag::Heading { .. }) => in_heading = true,
            Event::End(pulldown_cmark::TagEnd::Heading(_)) => {
                let t = title.trim();
                return (!t.is_empty()).then(|| t.to_owned());
            }
            Event::Text(t) | Event::Code(t) | Event::InlineHtml(t) | Event::Html(t)
                if in_heading =>
            {
                title.push_str(&t)
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_rendered_and_raw_html_is_text() {
        let html = fragment("| a | b |\n|---|---|\n| 1 | <img src=\"https://x.test/p.png\"> |\n");
        assert!(
            html.contains("<table>") && html.contains("<td>1</td>"),
            "{html}"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img"), "{html}");
    }

    #[test]
    fn a_remote_image_becomes_a_link_in_a_self_contained_document() {
        let html = self_contained_fragment(
            "![graph](https://grafana.test/p.png) and ![dot](data:image/png;base64,iVBO)\n",
        );
        assert!(!html.contains("<img src=\"https"), "{html}");
        assert!(
            html.contains("<a href=\"https://grafana.test/p.png\">graph</a>"),
            "{html}"
        );
        assert!(html.contains("<img src=\"data:image/png"), "{html}");
    }

    #[test]
    fn the_title_is_the_first_heading_as_text() {
        assert_eq!(
            first_heading("intro\n\n## Postmortem: `api` is *down*\n\n# Later\n").as_deref(),
            Some("Postmortem: api is down")
        );
        assert_eq!(first_heading("no heading\n"), None);
    }
}
