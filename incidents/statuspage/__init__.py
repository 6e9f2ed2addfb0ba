"""The status pages: the internal one for staff now; the public page, its snapshot, feeds and
the Statuspage-compatible API follow (issue 9)."""
