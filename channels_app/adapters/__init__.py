"""Channel adapters: verify and parse what comes in, send what goes out.

They are found by key through supportdesk.registry, never imported by the
layers below.
"""
