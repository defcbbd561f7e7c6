DROP TABLE connector_webhooks;
