"""CognitionOS shared kernel: what every bounded context needs and nothing context-specific."""
