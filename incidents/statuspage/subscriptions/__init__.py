"""Status-page subscribers (issue 14): sign-up with double opt-in, the notices they are sent
(fanned out through the outbox's bulk lane), webhooks signed and kept off private networks."""
