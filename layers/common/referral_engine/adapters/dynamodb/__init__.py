"""The single-table DynamoDB adapter. Key layout: docs/data-model.md."""
