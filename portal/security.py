from django.conf import settings


def client_ip(request) -> str:
    """The client's address for login throttling. Behind N trusted reverse proxies
    (AXES_PROXY_COUNT=N) it is the N-th address from the right of X-Forwarded-For, the one
    our own outermost proxy saw; anything further left is client-supplied and untrusted."""
    proxies = settings.PORTAL_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")
