"""Access: parties and their keys, web sign-in, the hash-chained audit log."""
