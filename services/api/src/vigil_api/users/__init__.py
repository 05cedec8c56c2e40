"""Users: people who sign in to the UI, each with a role (viewer, editor, admin)."""
