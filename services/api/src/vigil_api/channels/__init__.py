"""Channels: where alerts go (a webhook, Slack, e-mail, ...), with write-only secrets."""
