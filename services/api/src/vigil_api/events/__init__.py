"""Live events: state changes and new results pushed to browsers over Server-Sent Events."""
