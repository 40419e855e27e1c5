"""Local stack: the whole service on 127.0.0.1 on an embedded moto server, built from template.yaml."""
