"""Events: the public list and calendar feed, posting, signing up, and who came."""
