"""Mail in and out: parsing raw RFC 822, reply tokens, outgoing replies."""
