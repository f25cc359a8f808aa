"""Signing agents in: throttling and lockout (django-axes), the second factor
(django-otp: TOTP and recovery codes), idle timeout and the list of an agent's
sessions."""
