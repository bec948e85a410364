"""Readers for what banks and payment departments send: 1CClientBankExchange statements
and payment registers, turned into typed lines with their problems named per line."""
