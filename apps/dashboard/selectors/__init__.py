"""The dashboard's reads across domains, one module per page."""
