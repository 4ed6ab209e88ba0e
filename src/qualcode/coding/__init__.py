"""Relevance ranking and deductive coding."""
