"""Status pages for editors: a slug, a title and ordered groups of targets under display names
(the public side that renders them is vigil_api.public)."""
