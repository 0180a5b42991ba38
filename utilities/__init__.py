"""Helpers that know no domain (NetBox's ``utilities``): settings parsing, request context, querysets."""
