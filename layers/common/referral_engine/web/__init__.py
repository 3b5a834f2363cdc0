"""HTTP concerns shared by the API Gateway handlers: error bodies, request parsing, base URLs."""
