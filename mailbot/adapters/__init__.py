"""One module per technology and role: mailboxes, mailers, the database store, renderers."""
