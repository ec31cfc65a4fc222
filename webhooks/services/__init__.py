"""Webhook services: the outbox (events written with decisions), signing, the SSRF guard,
delivery with retries, and the endpoint and replay actions staff take in the admin."""
