"""Vigil API: validates target definitions, stores them, and serves results."""
