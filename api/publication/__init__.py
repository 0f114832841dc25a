"""Publication (公示): the frozen board of a published period, its poster, posts and exports."""
