"""The web UI: static HTML, CSS and JS modules served by the API, with a strict CSP."""
