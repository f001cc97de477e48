"""One function per use case, each inside one unit of work, talking to small ports."""
