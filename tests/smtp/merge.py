#!/usr/bin/env python3
"""The peer `make bench` measures the customer letter against: the mail merge a founder
writes today with Python's standard library. It reads the CSV, fills the same letter in for
each row (str.format), builds a multipart text + HTML message and sends it over one SMTP
connection. It keeps no record of who was sent what, so it cannot resume: that difference is
what Foghorn is for; this measures only speed and memory.

Usage: merge.py HOST PORT LETTER.md CUSTOMERS.csv
"""

import csv
import html
import smtplib
import sys
from email.message import EmailMessage
from email.utils import make_msgid


def main():
    host, port, letter_path, list_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    text = open(letter_path, encoding="utf-8").read()
    _, front, body = text.split("---\n", 2)
    subject = front.split("subject:", 1)[1].strip()
    to_format = lambda s: s.replace("{{ ", "{").replace(" }}", "}")
    subject, body = to_format(subject), to_format(body)
    sent = 0
    with smtplib.SMTP(host, port) as smtp, open(list_path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            msg = EmailMessage()
            msg["From"] = "Alice Smith <ceo@acme.test>"
            msg["To"] = row["email"]
            msg["Subject"] = subject.format(**row)
            msg["Message-ID"] = make_msgid(domain="acme.test")
            filled = body.format(**row)
            msg.set_content(filled)
            paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in filled.split("\n\n") if p.strip())
            msg.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
            smtp.send_message(msg)
            sent += 1
    print(sent)


if __name__ == "__main__":
    main()
