"""The audit read model: the public event feed, entity history and the hash chain."""
