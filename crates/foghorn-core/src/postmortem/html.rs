//! The postmortem as one self-contained HTML file: the Markdown (as drafted, or as a person
//! edited it) rendered with its tables, the charts inline as SVG, the style inline. It opens
//! offline, prints cleanly, and loads nothing: a Content-Security-Policy forbids every remote
//! load, so a file mailed around does not call home when it is opened.

use super::charts::{escape, Chart};
use crate::markdown::{first_heading, self_contained_fragment};

/// Nothing from anywhere: styles only from the document itself, images only inline.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #222; background: #fff; line-height: 1.55; max-width: 52em; margin: 2em auto;
  padding: 0 1.5em; }
h1 { font-size: 1.8em; border-bottom: 2px solid #333; padding-bottom: .25em; }
h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .3em .7em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr:nth-child(even) td { background: #fafafa; }
code { background: #f3f3f3; padding: .1em .3em; border-radius: 3px; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; }
blockquote { border-left: 4px solid #ddd; margin-left: 0; padding-left: 1em; color: #555; }
figure { margin: 1.5em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: .9em; margin-top: .3em; }
@media print {
  body { max-width: none; margin: 0; font-size: 11pt; }
  h2 { break-after: avoid; }
  figure, table { break-inside: avoid; }
  a { color: inherit; }
}
"#;

/// A full HTML document of `markdown` with `charts` in a "Charts" section: before the
/// timeline when the document has one (where the figures end and the story begins), else at
/// the end. The title is the first heading's text.
pub fn document(markdown: &str, charts: &[Chart]) -> String {
    let title = first_heading(markdown).unwrap_or_else(|| "Postmortem".to_owned());
    let mut body = self_contained_fragment(markdown);
    if !charts.is_empty() {
        let mut section = String::from("<section class=\"charts\">\n<h2>Charts</h2>\n");
        for c in charts {
            section.push_str(&format!(
                "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
                c.svg.trim(),
                escape(&c.title)
            ));
        }
        section.push_str("</section>\n");
        match body.find("<h2>Timeline") {
            Some(at) => body.insert_str(at, &section),
            None => body.push_str(&section),
        }
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"Foghorn\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(&title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKDOWN: &str = "# Postmortem: api <is> down\n\nIntro.\n\n## Key figures\n\n| Figure | Value |\n|---|---|\n| Started | 10:00 |\n\n## Timeline (UTC)\n\n- 10:00 — it broke\n\n<script>alert(1)</script>\n";

    fn chart() -> Chart {
        Chart {
            title: "Availability".into(),
            svg: "<svg width=\"10\" height=\"10\"><rect/></svg>".into(),
        }
    }

    #[test]
    fn one_document_with_its_title_its_tables_and_the_charts_before_the_timeline() {
        let html = document(MARKDOWN, &[chart()]);
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(
            html.contains("<title>Postmortem: api &lt;is&gt; down</title>"),
            "{html}"
        );
        assert!(
            html.contains("<table>") && html.contains("<td>Started</td>"),
            "{html}"
        );
        let charts = html.find("<h2>Charts</h2>").expect("a charts section");
        let timeline = html.find("<h2>Timeline").expect("the timeline");
        assert!(charts < timeline);
        assert!(html.contains("<svg width=\"10\""));
        assert!(html.contains("<figcaption>Availability</figcaption>"));
        // Raw HTML in the Markdown is text.
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("default-src 'none'"));
    }

    #[test]
    fn any_markdown_makes_a_document_and_without_charts_there_is_no_charts_section() {
        let html = document("just text, no heading", &[]);
        assert!(html.contains("<title>Postmortem</title>"));
        assert!(!html.contains("Charts"));
        let html = document("# Edited\n\nNo timeline here.\n", &[chart()]);
        assert!(
            html.find("<h2>Charts</h2>") > html.find("No timeline here."),
            "{html}"
        );
    }
}
