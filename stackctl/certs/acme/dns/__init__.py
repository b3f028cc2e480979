"""ACME DNS-01: TXT records written over RFC 2136 or a dns-lexicon provider, CNAME delegation followed,
propagation checked at every authoritative server, and every record removed again."""
