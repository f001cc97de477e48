"""How much mail a mailbox adapter hands over in one batch, whatever the server."""

# Mail held in memory for one batch. At 32 MiB, a backlog of referrals each carrying a .docx
# form took `mailbot poll` to 220 MB (issue 19); at 8 MiB the batch is still hundreds of bare
# referrals or about 150 with forms, and the process stays well under 200 MB.
MAX_BATCH_BYTES = 8 * 1024 * 1024
