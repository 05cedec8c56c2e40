"""Bare programs Vigil is measured against: raw clients and a minimal Litestar app."""
