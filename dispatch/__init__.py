"""The Helpline 15 service: domain, persistence, API, consoles and CLI; composes the libraries."""
