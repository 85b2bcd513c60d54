"""Platform: health, API keys, on-demand jobs, the OpenAPI document and Swagger UI.

Named ``platform_api`` because a package called ``platform`` would shadow the standard
library module that botocore imports.
"""
