"""Registry stage: every reference resolved to a digest through the v2 API, as nodes pull it."""
