"""Operators: dashboard sign-in with email and password, sessions, sign-out."""
