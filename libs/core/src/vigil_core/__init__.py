"""Vigil core: what the API and the worker share. It never imports a service."""
