"""One module per scenario; SCENARIOS maps each name to its module (registered in bench.__main__)."""
