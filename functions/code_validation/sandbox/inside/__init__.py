"""Run inside the sandbox by its interpreter, never imported by the function itself."""
