"""rexctl: the developer's handle on a local REX stack."""
