"""What a request may say: the taxonomy (fideslang), a set's vocabulary, and the request contract."""
